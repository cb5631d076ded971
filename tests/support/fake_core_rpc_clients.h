// A fake CoreRpcClients for unit tests of the runtime's submitters and GCS client: lease requests, task
// pushes, actor calls and actor polls wait in vectors until the test answers them; worker exits, returns
// and the GCS's actor directory answer at once as the test configures. Callbacks run on the test's thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/core_rpc_clients.h"

namespace halo::testing {

using core::CoreRpcClients;

class FakeClients : public CoreRpcClients {
 public:
  struct LeaseCall {
    std::string node;
    rpc::RequestWorkerLeaseRequest request;
    std::function<void(StatusOr<rpc::RequestWorkerLeaseReply>)> done;
  };
  struct PushCall {
    std::string worker;
    rpc::PushTasksRequest request;
    std::function<void(StatusOr<rpc::PushTasksReply>)> done;
  };
  void RequestWorkerLease(const std::string& node_address, const rpc::RequestWorkerLeaseRequest& request,
                          std::function<void(StatusOr<rpc::RequestWorkerLeaseReply>)> done) override {
    leases.push_back({node_address, request, std::move(done)});
  }
  void ReturnWorker(const std::string& node_address, const std::string& lease_id, bool worker_failed) override {
    returned.push_back(lease_id + (worker_failed ? ":failed" : ""));
  }
  void GetWorkerExit(const std::string& node_address, const std::string& worker_id, int64_t timeout_ms,
                     std::function<void(StatusOr<rpc::GetWorkerExitReply>)> done) override {
    if (node_reachable) {
      rpc::GetWorkerExitReply reply;
      reply.set_exited(true);
      reply.set_description("killed by signal 9 (Killed)");
      done(reply);
    } else {
      done(UnavailableError("connection refused"));
    }
  }
  void FreeObjects(const std::string&, const std::vector<std::string>&) override {}
  void GetObject(const std::string&, const std::string&, int64_t, int64_t,
                 std::function<void(StatusOr<rpc::GetObjectReply>)> done) override {
    done(UnavailableError("not used here"));
  }
  void PushTasks(const std::string& worker_address, rpc::PushTasksRequest request,
                 std::function<void(StatusOr<rpc::PushTasksReply>)> done) override {
    pushes.push_back({worker_address, std::move(request), std::move(done)});
  }
  // Actor calls and held WaitActor polls wait in actor_pushes and polls until the test answers them.
  void PushActorTasks(const std::string& worker_address, rpc::PushActorTasksRequest request,
                      std::function<void(StatusOr<rpc::PushActorTasksReply>)> done) override {
    actor_pushes.push_back({worker_address, std::move(request), std::move(done)});
  }
  void WaitActor(const std::string& gcs_address, const rpc::WaitActorRequest& request,
                 std::function<void(StatusOr<rpc::WaitActorReply>)> done) override {
    polls.push_back({gcs_address, request, std::move(done)});
  }
  // The GCS's actor directory: each call is recorded as "Method@address" and answered at once by
  // gcs_answer (default: OK with an empty reply).
  void RegisterActor(const std::string& address, const rpc::RegisterActorRequest&, int64_t timeout_ms,
                     std::function<void(StatusOr<rpc::RegisterActorReply>)> done) override {
    Directory("RegisterActor", address, timeout_ms, std::move(done));
  }
  void ResolveActor(const std::string& address, const rpc::ResolveActorRequest&, int64_t timeout_ms,
                    std::function<void(StatusOr<rpc::ResolveActorReply>)> done) override {
    Directory("ResolveActor", address, timeout_ms, std::move(done));
  }
  void GetNamedActor(const std::string& address, const rpc::GetNamedActorRequest& request, int64_t timeout_ms,
                     std::function<void(StatusOr<rpc::GetNamedActorReply>)> done) override {
    Directory<rpc::GetNamedActorReply>(
        "GetNamedActor", address, timeout_ms,
              [done = std::move(done), request](StatusOr<rpc::GetNamedActorReply> reply) {
                if (reply.ok()) reply->mutable_actor()->set_name(request.name());
                done(std::move(reply));
              });
  }
  void KillActor(const std::string& address, const rpc::KillActorRequest&, int64_t timeout_ms,
                 std::function<void(StatusOr<rpc::KillActorReply>)> done) override {
    Directory("KillActor", address, timeout_ms, std::move(done));
  }
  void ReportActorExit(const std::string& address, const rpc::ReportActorExitRequest&, int64_t timeout_ms,
                       std::function<void(StatusOr<rpc::ReportActorExitReply>)> done) override {
    Directory("ReportActorExit", address, timeout_ms, std::move(done));
  }
  void RecordEvent(const std::string& address, const rpc::RecordEventRequest& request, int64_t timeout_ms,
                   std::function<void(StatusOr<rpc::RecordEventReply>)> done) override {
    recorded_events.push_back(request.event());
    Directory("RecordEvent", address, timeout_ms, std::move(done));
  }
  std::vector<rpc::ClusterEvent> recorded_events;
  void ReportRuntimeCounters(const std::string& address, const rpc::ReportRuntimeCountersRequest&, int64_t timeout_ms,
                             std::function<void(StatusOr<rpc::ReportRuntimeCountersReply>)> done) override {
    Directory("ReportRuntimeCounters", address, timeout_ms, std::move(done));
  }

  template <typename Reply>
  void Directory(const std::string& method, const std::string& address, int64_t timeout_ms,
                 std::function<void(StatusOr<Reply>)> done) {
    gcs_calls.push_back(method + "@" + address);
    gcs_timeouts_ms.push_back(timeout_ms);
    Status status = gcs_answer ? gcs_answer(method, address) : OkStatus();
    done(status.ok() ? StatusOr<Reply>(Reply()) : StatusOr<Reply>(std::move(status)));
  }

  // Grants the oldest outstanding lease request with a worker named worker, on node_id (default: "node-" and
  // the address the request went to).
  void Grant(const std::string& worker, const std::string& node_id = "") {
    LeaseCall call = std::move(leases.front());
    leases.erase(leases.begin());
    rpc::RequestWorkerLeaseReply reply;
    reply.set_granted(true);
    reply.set_lease_id("lease-" + worker);
    reply.set_worker_id(worker);
    reply.set_worker_address(worker + ":1");
    reply.set_node_id(node_id.empty() ? "node-" + call.node : node_id);
    call.done(reply);
  }
  // Answers the oldest push with one result per task, as fill writes it; returns what was pushed.
  rpc::PushTasksRequest AnswerPushWith(const std::function<void(rpc::TaskResult*)>& fill) {
    PushCall call = std::move(pushes.front());
    pushes.erase(pushes.begin());
    rpc::PushTasksReply reply;
    for (const auto& task : call.request.tasks()) {
      rpc::TaskResult* result = reply.add_results();
      result->set_task_id(task.task_id());
      fill(result);
    }
    call.done(reply);
    return call.request;
  }
  // Answers the oldest push: every task returns value, or the call fails with error.
  void AnswerPush(const std::string& value, std::optional<Status> error = std::nullopt) {
    if (error) {
      PushCall call = std::move(pushes.front());
      pushes.erase(pushes.begin());
      return call.done(*error);
    }
    AnswerPushWith([&](rpc::TaskResult* result) { result->set_value(value); });
  }

  struct ActorPushCall {
    std::string worker;
    rpc::PushActorTasksRequest request;
    std::function<void(StatusOr<rpc::PushActorTasksReply>)> done;
  };
  struct PollCall {
    std::string gcs;
    rpc::WaitActorRequest request;
    std::function<void(StatusOr<rpc::WaitActorReply>)> done;
  };

  std::vector<LeaseCall> leases;
  std::vector<PushCall> pushes;
  std::vector<ActorPushCall> actor_pushes;
  std::vector<PollCall> polls;
  std::vector<std::string> gcs_calls;  // "Method@address", in order
  std::vector<int64_t> gcs_timeouts_ms;
  std::function<Status(const std::string& method, const std::string& address)> gcs_answer;
  std::vector<std::string> returned;
  bool node_reachable = true;
};

}  // namespace halo::testing
