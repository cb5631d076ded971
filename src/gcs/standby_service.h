// What a head candidate answers while it does not lead (head_mode ha), for every method that is not
// registered on its standby server: UNAVAILABLE naming the leader it knows in the error details
// (common/leader_redirect.h), so a caller given any candidate finds the leader and nothing is ever applied by a
// standby. The refusal comes from a thread-safe function; the service itself keeps no state.
#pragma once

#include <grpcpp/generic/async_generic_service.h>

#include <functional>
#include <string>

namespace halo::gcs {

class StandbyRefusalService final : public grpc::CallbackGenericService {
 public:
  struct Refusal {
    std::string message;
    std::string leader_address;  // empty: no leader known, no redirect
  };
  explicit StandbyRefusalService(std::function<Refusal()> refusal) : refusal_(std::move(refusal)) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override;

 private:
  std::function<Refusal()> refusal_;
};

}  // namespace halo::gcs
