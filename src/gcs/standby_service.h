// What a head candidate answers while it does not lead (head_mode ha), for every method that is not
// registered on its standby server: UNAVAILABLE with a message naming the leader it knows
// (common/leader_redirect.h), so a caller given any candidate finds the leader and nothing is ever applied by a
// standby. The message comes from a thread-safe function; the service itself keeps no state.
#pragma once

#include <grpcpp/generic/async_generic_service.h>

#include <functional>
#include <string>

namespace halo::gcs {

class StandbyRefusalService final : public grpc::CallbackGenericService {
 public:
  explicit StandbyRefusalService(std::function<std::string()> refusal_message)
      : refusal_message_(std::move(refusal_message)) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override;

 private:
  std::function<std::string()> refusal_message_;
};

}  // namespace halo::gcs
