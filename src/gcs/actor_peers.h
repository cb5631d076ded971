// The calls the GCS' actor manager makes to node agents (worker leases) and to actor workers (construct,
// watch). gRPC in production (one channel per address); fakes in unit tests. Callbacks run on the executor
// given to the implementation.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/executor.h"
#include "common/status.h"
#include "proto/core.pb.h"
#include "proto/node.pb.h"

namespace halo::gcs {

class ActorPeers {
 public:
  virtual ~ActorPeers() = default;
  // Held by the node until it grants, redirects or refuses.
  virtual void RequestWorkerLease(const std::string& node_address, const rpc::RequestWorkerLeaseRequest& request,
                                  std::function<void(StatusOr<rpc::RequestWorkerLeaseReply>)> done) = 0;
  // Fire and forget: ends an actor's lease and kills its worker if it still runs.
  virtual void KillWorker(const std::string& node_address, const std::string& lease_id) = 0;
  // How the worker ended ("" in description while it still runs); the node waits briefly for the exit.
  virtual void GetWorkerExit(const std::string& node_address, const std::string& worker_id,
                             std::function<void(StatusOr<rpc::GetWorkerExitReply>)> done) = 0;
  // Answered once the constructor returned (or threw).
  virtual void CreateActor(const std::string& worker_address, const rpc::CreateActorRequest& request,
                           std::function<void(StatusOr<rpc::CreateActorReply>)> done) = 0;
  // Held by the worker up to request.wait_ms; fails as soon as the worker's process is gone.
  virtual void WatchActor(const std::string& worker_address, const rpc::WatchActorRequest& request,
                          std::function<void(StatusOr<rpc::WatchActorReply>)> done) = 0;
};

std::unique_ptr<ActorPeers> MakeGrpcActorPeers(Executor& executor, int64_t rpc_timeout_ms);

}  // namespace halo::gcs
