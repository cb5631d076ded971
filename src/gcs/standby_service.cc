#include "gcs/standby_service.h"

#include "rpc/cluster_security.h"

namespace halo::gcs {
namespace {

// Finishes the call at once without reading it.
class RefusalReactor final : public grpc::ServerGenericBidiReactor {
 public:
  explicit RefusalReactor(grpc::Status status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerGenericBidiReactor* StandbyRefusalService::CreateReactor(grpc::GenericCallbackServerContext* context) {
  // A caller without the token learns nothing, not even who leads.
  grpc::Status authenticated = rpc::CheckCallToken(*context);
  if (!authenticated.ok()) return new RefusalReactor(authenticated);
  const Refusal refusal = refusal_();
  return new RefusalReactor(grpc::Status(grpc::StatusCode::UNAVAILABLE, refusal.message, refusal.leader_address));
}

}  // namespace halo::gcs
