// The calls an owner makes to node agents and leased workers, by address. gRPC in production (channels are
// cached per address); fakes in unit tests. Every callback runs on the executor given to the implementation.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/executor.h"
#include "common/status.h"
#include "proto/core.pb.h"
#include "proto/gcs.pb.h"
#include "proto/node.pb.h"

namespace halo::core {

class CoreRpcClients {
 public:
  virtual ~CoreRpcClients() = default;
  // Held by the node until it grants, redirects or refuses; no deadline of its own.
  virtual void RequestWorkerLease(const std::string& node_address, const rpc::RequestWorkerLeaseRequest& request,
                                  std::function<void(StatusOr<rpc::RequestWorkerLeaseReply>)> done) = 0;
  // Fire and forget: a node that misses it reclaims the worker when the lessee goes away.
  virtual void ReturnWorker(const std::string& node_address, const std::string& lease_id, bool worker_failed) = 0;
  virtual void GetWorkerExit(const std::string& node_address, const std::string& worker_id, int64_t timeout_ms,
                             std::function<void(StatusOr<rpc::GetWorkerExitReply>)> done) = 0;
  // Asks an object's owner for it; the owner holds the call up to wait_ms while it is pending.
  virtual void GetObject(const std::string& owner_address, const std::string& object_id, int64_t wait_ms,
                         int64_t timeout_ms, std::function<void(StatusOr<rpc::GetObjectReply>)> done) = 0;
  // Fire and forget: drops the node's copies of objects nobody refers to any more.
  virtual void FreeObjects(const std::string& node_address, const std::vector<std::string>& object_ids) = 0;
  virtual void PushTasks(const std::string& worker_address, rpc::PushTasksRequest request,
                         std::function<void(StatusOr<rpc::PushTasksReply>)> done) = 0;
  // No deadline: calls run as long as they run; a dead worker fails the call.
  virtual void PushActorTasks(const std::string& worker_address, rpc::PushActorTasksRequest request,
                              std::function<void(StatusOr<rpc::PushActorTasksReply>)> done) = 0;
  // Held by the GCS up to request.wait_ms while the actor is as the caller knows it.
  virtual void WaitActor(const std::string& gcs_address, const rpc::WaitActorRequest& request,
                         std::function<void(StatusOr<rpc::WaitActorReply>)> done) = 0;
  // The GCS's actor directory at one head candidate, each call with a deadline of timeout_ms
  // (core/gcs_actor_client picks the candidate and retries).
  virtual void RegisterActor(const std::string& gcs_address, const rpc::RegisterActorRequest& request,
                             int64_t timeout_ms, std::function<void(StatusOr<rpc::RegisterActorReply>)> done) = 0;
  virtual void ResolveActor(const std::string& gcs_address, const rpc::ResolveActorRequest& request,
                            int64_t timeout_ms, std::function<void(StatusOr<rpc::ResolveActorReply>)> done) = 0;
  virtual void GetNamedActor(const std::string& gcs_address, const rpc::GetNamedActorRequest& request,
                             int64_t timeout_ms, std::function<void(StatusOr<rpc::GetNamedActorReply>)> done) = 0;
  virtual void KillActor(const std::string& gcs_address, const rpc::KillActorRequest& request, int64_t timeout_ms,
                         std::function<void(StatusOr<rpc::KillActorReply>)> done) = 0;
  virtual void ReportActorExit(const std::string& gcs_address, const rpc::ReportActorExitRequest& request,
                               int64_t timeout_ms,
                               std::function<void(StatusOr<rpc::ReportActorExitReply>)> done) = 0;
  // The GCS's cluster event log: what a driver witnessed (objects rebuilt).
  virtual void RecordEvent(const std::string& gcs_address, const rpc::RecordEventRequest& request, int64_t timeout_ms,
                           std::function<void(StatusOr<rpc::RecordEventReply>)> done) = 0;
  // The process's task counters, for the GCS's metrics.
  virtual void ReportRuntimeCounters(const std::string& gcs_address, const rpc::ReportRuntimeCountersRequest& request,
                                     int64_t timeout_ms,
                                     std::function<void(StatusOr<rpc::ReportRuntimeCountersReply>)> done) = 0;
};

std::unique_ptr<CoreRpcClients> MakeGrpcCoreRpcClients(Executor& executor);

}  // namespace halo::core
