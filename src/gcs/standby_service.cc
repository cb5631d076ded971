#include "gcs/standby_service.h"

namespace halo::gcs {
namespace {

// Finishes the call at once without reading it.
class Refusal final : public grpc::ServerGenericBidiReactor {
 public:
  explicit Refusal(const std::string& message) { Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, message)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerGenericBidiReactor* StandbyRefusalService::CreateReactor(grpc::GenericCallbackServerContext*) {
  return new Refusal(refusal_message_());
}

}  // namespace halo::gcs
