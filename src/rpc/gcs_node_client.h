// What a node agent needs from the GCS, asynchronously: register, unregister, and poll node events.
// Callbacks run on the agent's executor. The gRPC implementation is GrpcGcsNodeClient; the simulator has its own.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/executor.h"
#include "common/status.h"
#include "proto/node.pb.h"

namespace halo {

class GcsNodeClient {
 public:
  virtual ~GcsNodeClient() = default;
  // Yields the GCS' cluster id.
  virtual void AsyncRegister(const rpc::NodeInfo& node, const std::string& cluster_id, int64_t timeout_ms,
                             std::function<void(StatusOr<std::string>)> done) = 0;
  virtual void AsyncUnregister(const std::string& node_id, rpc::DeathReason reason, const std::string& message,
                               int64_t timeout_ms, std::function<void(Status)> done) = 0;
  virtual void AsyncPoll(const rpc::PollNodeEventsRequest& request, int64_t timeout_ms,
                         std::function<void(StatusOr<rpc::PollNodeEventsReply>)> done) = 0;
  virtual void AsyncRenewLease(const rpc::RenewNodeLeaseRequest& request, int64_t timeout_ms,
                               std::function<void(StatusOr<rpc::RenewNodeLeaseReply>)> done) = 0;
};

// Over gRPC to one GCS address.
std::unique_ptr<GcsNodeClient> MakeGrpcGcsNodeClient(const std::string& address, Executor& executor);

}  // namespace halo
