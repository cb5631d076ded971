#include "gcs/standby_service.h"

namespace halo::gcs {
namespace {

// Finishes the call at once without reading it.
class RefusalReactor final : public grpc::ServerGenericBidiReactor {
 public:
  explicit RefusalReactor(const StandbyRefusalService::Refusal& refusal) {
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, refusal.message, refusal.leader_address));
  }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerGenericBidiReactor* StandbyRefusalService::CreateReactor(grpc::GenericCallbackServerContext*) {
  return new RefusalReactor(refusal_());
}

}  // namespace halo::gcs
