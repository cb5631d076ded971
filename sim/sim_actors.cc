// Workers, actors and their invariants in the simulated cluster (see sim_cluster.h).
// The GCS's actor manager reaches the nodes' real LeaseManagers and simulated workers through ActorPeers;
// each node's LeaseManager starts simulated workers through Launcher. A worker serves a call only while its
// lease (written by its node's lease chain) holds on its host's clock, checked before the call runs and
// before its reply leaves, and a watchdog ends it soon after its lease lapsed, as core/worker_lease_guard
// does. A driver on its own host registers detached actors and calls them.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "gcs/actor_manager.h"
#include "sim/sim_cluster_parts.h"

namespace halo::sim {
namespace {

// Lease requests and constructors are held calls without a deadline in production; this only bounds them.
constexpr int64_t kHeldCallTimeoutMs = 24LL * 3600 * 1000;
constexpr int64_t kGetWorkerExitWaitMs = 1000;  // as the node agent's service waits for an exit
constexpr int64_t kDriverRefreshMs = 500;
constexpr int64_t kDriverCallPeriodMs = 200;
constexpr int64_t kDriverCallTimeoutMs = 1000;

}  // namespace

class SimCluster::ActorPeers : public gcs::ActorPeers {
 public:
  ActorPeers(SimCluster& cluster, SimProcess& head) : cluster_(cluster), head_(head) {}

  void RequestWorkerLease(const std::string& node_address, const rpc::RequestWorkerLeaseRequest& request,
                          std::function<void(StatusOr<rpc::RequestWorkerLeaseReply>)> done) override {
    Node* node = cluster_.NodeAt(node_address);
    if (node == nullptr) return head_.Post([done] { done(UnavailableError("no such node")); });
    SimCluster& cluster = cluster_;
    const uint64_t key = cluster.next_lease_request_++;
    cluster.lease_requests_[key] = HeldLeaseRequest{head_.epoch(), node_address, 0, false, false};
    cluster.sim_.Trace(absl::StrCat("gcs asks ", node_address, " for a worker (request ", key,
                                    request.spilled() ? ", spilled back" : "", ")"));
    SimCall<StatusOr<rpc::RequestWorkerLeaseReply>>(
        cluster.network_, head_, node->process, kHeldCallTimeoutMs,
        [&cluster, node, key, request](std::function<void(StatusOr<rpc::RequestWorkerLeaseReply>)> reply) {
          auto held = cluster.lease_requests_.find(key);
          if (held == cluster.lease_requests_.end() || held->second.withdrawn) return;  // its connection closed
          const uint64_t call = node->held.Hold([reply] { reply(UnavailableError("connection reset")); });
          held->second.request_id =
              node->leases->RequestLease(request, [&cluster, node, key, call, reply](const rpc::RequestWorkerLeaseReply& answer) {
                node->held.Release(call);
                auto held = cluster.lease_requests_.find(key);
                const bool withdrawn = held == cluster.lease_requests_.end() || held->second.withdrawn;
                cluster.lease_requests_.erase(key);
                cluster.sim_.Trace(absl::StrCat(node->process.name(), " answers request ", key, ": ",
                                                answer.granted() ? "granted " + answer.worker_address()
                                                : !answer.spillback_address().empty() ? "try " + answer.spillback_address()
                                                                                       : "refused " + answer.error(),
                                                withdrawn ? " (withdrawn)" : ""));
                if (withdrawn) {
                  // As the node's lease service does when the requester left before the grant reached it.
                  if (answer.granted()) node->leases->ReturnWorker(answer.lease_id(), /*worker_failed=*/false);
                  return;
                }
                reply(answer);
              });
        },
        std::move(done), /*reliable=*/true);
  }

  void KillWorker(const std::string& node_address, const std::string& lease_id) override {
    Node* node = cluster_.NodeAt(node_address);
    if (node == nullptr) return;
    SimCall<Status>(
        cluster_.network_, head_, node->process, cluster_.settings_.rpc_timeout_ms,
        [node, lease_id](std::function<void(Status)> reply) {
          node->leases->ReturnWorker(lease_id, /*worker_failed=*/true);
          reply(OkStatus());
        },
        [](Status) {}, /*reliable=*/true);
  }

  void GetWorkerExit(const std::string& node_address, const std::string& worker_id,
                     std::function<void(StatusOr<rpc::GetWorkerExitReply>)> done) override {
    Node* node = cluster_.NodeAt(node_address);
    if (node == nullptr) return head_.Post([done] { done(UnavailableError("no such node")); });
    SimCall<StatusOr<rpc::GetWorkerExitReply>>(
        cluster_.network_, head_, node->process, cluster_.settings_.rpc_timeout_ms,
        [node, worker_id](std::function<void(StatusOr<rpc::GetWorkerExitReply>)> reply) {
          node->leases->AwaitWorkerExit(worker_id, kGetWorkerExitWaitMs,
                                        [reply, worker_id](std::optional<std::string> exit) {
                                          if (!exit) return reply(NotFoundError("unknown worker " + worker_id));
                                          rpc::GetWorkerExitReply answer;
                                          answer.set_exited(!exit->empty());
                                          answer.set_description(*exit);
                                          reply(answer);
                                        });
        },
        std::move(done), /*reliable=*/true);
  }

  void CreateActor(const std::string& worker_address, const rpc::CreateActorRequest& request,
                   std::function<void(StatusOr<rpc::CreateActorReply>)> done) override {
    Worker* worker = cluster_.WorkerAt(worker_address);
    if (worker == nullptr) return head_.Post([done] { done(UnavailableError("no such worker")); });
    SimCluster& cluster = cluster_;
    SimCall<StatusOr<rpc::CreateActorReply>>(
        cluster.network_, head_, worker->process, kHeldCallTimeoutMs,
        [&cluster, worker, request](std::function<void(StatusOr<rpc::CreateActorReply>)> reply) {
          cluster.HandleCreateActor(*worker, request, reply);
        },
        std::move(done), /*reliable=*/true);
  }

  void WatchActor(const std::string& worker_address, const rpc::WatchActorRequest& request,
                  std::function<void(StatusOr<rpc::WatchActorReply>)> done) override {
    Worker* worker = cluster_.WorkerAt(worker_address);
    if (worker == nullptr) return head_.Post([done] { done(UnavailableError("no such worker")); });
    SimCluster& cluster = cluster_;
    SimCall<StatusOr<rpc::WatchActorReply>>(
        cluster.network_, head_, worker->process, request.wait_ms() + cluster.settings_.rpc_timeout_ms,
        [&cluster, worker, request](std::function<void(StatusOr<rpc::WatchActorReply>)> reply) {
          cluster.HandleWatchActor(*worker, request, reply);
        },
        std::move(done), /*reliable=*/true);
  }

 private:
  SimCluster& cluster_;
  SimProcess& head_;
};

// A node's worker processes, started and killed as halo-node's ProcessWorkerLauncher does.
class SimCluster::Launcher : public node::WorkerLauncher {
 public:
  Launcher(SimCluster& cluster, Node& node) : cluster_(cluster), node_(node) {}
  StatusOr<int> Start(const std::string&, const std::map<std::string, std::string>&,
                      const std::string& worker_id) override {
    return cluster_.StartWorker(node_, worker_id).pid;
  }
  void Kill(int pid) override {
    for (auto& [address, worker] : cluster_.workers_) {
      if (&worker->node == &node_ && worker->pid == pid) cluster_.ExitWorker(*worker, "killed by its node (SIGKILL)");
    }
  }

 private:
  SimCluster& cluster_;
  Node& node_;
};

// Every node has the executable at once (fetching it is not what the simulator checks).
class SimCluster::Executables : public node::ExecutableStore {
 public:
  explicit Executables(SimProcess& process) : process_(process) {}
  void Fetch(const std::string& sha256, const std::string&, std::function<void(StatusOr<std::string>)> done) override {
    process_.Post([done, sha256] { done("/sim/executables/" + sha256); });
  }
  void Forget(const std::string&) override {}

 private:
  SimProcess& process_;
};

std::unique_ptr<gcs::ActorPeers> SimCluster::MakeActorPeers(SimProcess& head) {
  return std::make_unique<ActorPeers>(*this, head);
}

std::unique_ptr<node::WorkerLauncher> SimCluster::MakeLauncher(Node& node) {
  return std::make_unique<Launcher>(*this, node);
}

std::unique_ptr<node::ExecutableStore> SimCluster::MakeExecutables(Node& node) {
  return std::make_unique<Executables>(node.process);
}

void SimCluster::CancelLeaseRequests(uint64_t head_epoch, SimProcess& head) {
  for (auto& [key, held] : lease_requests_) {
    if (held.head_epoch != head_epoch || held.withdrawn) continue;
    held.withdrawn = true;
    Node* node = NodeAt(held.node_address);
    if (node == nullptr || held.request_id == 0) continue;
    // The head host's kernel closes the connection; the node withdraws the request when it hears of it.
    network_.Send(head, node->process, [node, id = held.request_id] { node->leases->CancelRequest(id); });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Workers.

SimCluster::Worker& SimCluster::StartWorker(Node& node, const std::string& worker_id) {
  const std::string address = absl::StrCat(node.process.name(), "/w", node.next_worker++);
  auto owned = std::make_unique<Worker>(sim_, address, node);
  Worker& worker = *owned;
  workers_[address] = std::move(owned);
  worker.worker_id = worker_id;
  worker.pid = next_pid_++;
  sim_.Trace(absl::StrCat("start worker ", address, " (", worker_id, ")"));
  // It starts, announces itself to its agent, waits for its lease to hold (WaitValid), then keeps checking it.
  worker.process.RunAfter(sim_.Uniform(5, 60), [this, &worker] {
    Node& node = worker.node;
    network_.Send(worker.process, node.process, [this, &worker, &node] {
      if (!node.leases->RegisterWorker(worker.worker_id, worker.process.name(), worker.pid)) {
        ExitWorker(worker, "its node does not know it");
      }
    });
    worker.process.RunAfter(settings_.worker_lease_ms, [this, &worker] { WorkerWatchdog(worker); });
  });
  return worker;
}

SimCluster::Worker* SimCluster::WorkerAt(const std::string& address) {
  auto it = workers_.find(address);
  return it == workers_.end() ? nullptr : it->second.get();
}

void SimCluster::ExitWorker(Worker& worker, const std::string& why) {
  if (worker.process.crashed()) return;
  sim_.Trace(absl::StrCat("worker ", worker.process.name(), " exits: ", why));
  worker.process.Crash();
  worker.held.ProcessDied(!network_.HostDown(worker.process.host()));
  // Its agent reaps it (SIGCHLD), when the agent runs.
  Node& node = worker.node;
  if (node.process.crashed()) return;
  node.process.RunAfter(1, [&node, pid = worker.pid, why] { node.leases->OnWorkerExited(pid, why); });
}

bool SimCluster::LeaseHolds(const Worker& worker) const {
  return worker.process.MonotonicMs() < worker.node.workers_deadline_ms;
}

bool SimCluster::CanServe(const Worker& worker) const {
  return !worker.process.crashed() && !worker.actor_id.empty() && LeaseHolds(worker);
}

void SimCluster::WorkerWatchdog(Worker& worker) {
  if (worker.process.crashed()) return;
  if (!LeaseHolds(worker)) return ExitWorker(worker, "its lease lapsed (exit code 75)");
  worker.process.RunAfter(std::max<int64_t>(1, settings_.worker_lease_ms / 8), [this, &worker] { WorkerWatchdog(worker); });
}

void SimCluster::HandleCreateActor(Worker& worker, const rpc::CreateActorRequest& request,
                                   std::function<void(StatusOr<rpc::CreateActorReply>)> reply) {
  const uint64_t call = worker.held.Hold([reply] { reply(UnavailableError("connection reset")); });
  if (!LeaseHolds(worker)) return ExitWorker(worker, "its lease lapsed before a constructor (exit code 75)");
  worker.actor_id = request.actor().actor_id();
  worker.instance = request.actor().num_restarts();
  sim_.Trace(absl::StrCat("instance ", worker.instance, " of actor ", worker.actor_id, " starts in ",
                          worker.process.name()));
  CheckSingleInstance(worker);
  worker.process.RunAfter(sim_.Uniform(1, 30), [this, &worker, call, reply] {
    if (!LeaseHolds(worker)) return ExitWorker(worker, "its lease lapsed in a constructor (exit code 75)");
    worker.held.Release(call);
    reply(rpc::CreateActorReply{});
  });
}

void SimCluster::HandleWatchActor(Worker& worker, const rpc::WatchActorRequest& request,
                                  std::function<void(StatusOr<rpc::WatchActorReply>)> reply) {
  const uint64_t call = worker.held.Hold([reply] { reply(UnavailableError("connection reset")); });
  if (!LeaseHolds(worker)) return ExitWorker(worker, "its lease lapsed (exit code 75)");
  if (worker.actor_id != request.actor_id() || worker.instance != request.instance()) {
    worker.held.Release(call);
    return reply(NotFoundError("this worker hosts no such instance"));
  }
  worker.process.RunAfter(request.wait_ms(), [this, &worker, call, reply] {
    if (!LeaseHolds(worker)) return ExitWorker(worker, "its lease lapsed (exit code 75)");
    worker.held.Release(call);
    reply(rpc::WatchActorReply{});
  });
}

void SimCluster::HandleActorCall(Worker& worker, const std::string& actor_id, int32_t instance,
                                 std::function<void(StatusOr<int32_t>)> reply) {
  if (!LeaseHolds(worker)) {
    worker.held.Hold([reply] { reply(UnavailableError("connection reset")); });
    return ExitWorker(worker, "its lease lapsed before a call (exit code 75)");
  }
  if (worker.actor_id != actor_id || worker.instance != instance) {
    return reply(NotFoundError("this worker hosts no such instance"));
  }
  CheckSingleInstance(worker);
  reply(instance);
}

void SimCluster::KillRandomWorker() {
  std::vector<Worker*> hosts;
  for (auto& [address, worker] : workers_) {
    if (!worker->process.crashed() && !worker->actor_id.empty()) hosts.push_back(worker.get());
  }
  if (hosts.empty()) return;
  Worker& victim = *hosts[sim_.Uniform(0, static_cast<int64_t>(hosts.size()) - 1)];
  sim_.Trace("kill worker " + victim.process.name());
  ExitWorker(victim, "killed (SIGKILL)");
}

// ---------------------------------------------------------------------------------------------------------
// The driver: registers the actors, reads where they run, and calls them.

void SimCluster::RegisterActors() {
  const int64_t count = sim_.Uniform(2, 5);
  for (int64_t i = 0; i < count; ++i) {
    rpc::ActorInfo info;
    info.set_actor_id(absl::StrCat("actor-", i));
    info.set_name(absl::StrCat("a", i));
    info.set_namespace_("sim");
    info.set_job_id(1);
    info.set_detached(true);
    info.set_max_restarts(-1);
    info.set_executable_sha256("sim");
    info.set_driver_address(driver_process_.name());
    (*info.mutable_creation()->mutable_resources())["CPU"] = 1;
    auto attempt = std::make_shared<std::function<void()>>();
    *attempt = [this, info, attempt] {
      SimCall<Status>(
          network_, driver_process_, gcs_process(), settings_.rpc_timeout_ms,
          [this, info](std::function<void(Status)> reply) {
            if (!GcsServing()) return reply(UnavailableError("GCS recovering"));
            gcs_->managers->actors().HandleRegister(info, /*dependencies_ready=*/true, reply);
          },
          [this, info, attempt](Status status) {
            if (status.ok()) {
              if (std::find(actor_ids_.begin(), actor_ids_.end(), info.actor_id()) == actor_ids_.end()) {
                actor_ids_.push_back(info.actor_id());
                sim_.Trace("actor " + info.actor_id() + " registered");
              }
              return;
            }
            driver_process_.RunAfter(200, *attempt);
          });
    };
    (*attempt)();
  }
}

void SimCluster::DriverRefresh() {
  SimCall<StatusOr<std::vector<rpc::ActorInfo>>>(
      network_, driver_process_, gcs_process(), settings_.rpc_timeout_ms,
      [this](std::function<void(StatusOr<std::vector<rpc::ActorInfo>>)> reply) {
        if (!GcsServing()) return reply(UnavailableError("GCS recovering"));
        reply(gcs_->managers->actors().All());
      },
      [this](StatusOr<std::vector<rpc::ActorInfo>> actors) {
        if (actors.ok()) {
          size_t alive = 0;
          for (const auto& info : *actors) {
            if (info.state() == rpc::ACTOR_ALIVE) {
              driver_view_[info.actor_id()] = {info.address(), info.num_restarts()};
              ++alive;
            } else {
              driver_view_.erase(info.actor_id());
            }
          }
          if (!actor_ids_.empty() && alive == actor_ids_.size()) all_alive_once_ = true;
        }
        driver_process_.RunAfter(kDriverRefreshMs, [this] { DriverRefresh(); });
      });
}

void SimCluster::DriverCalls() {
  for (const auto& [actor_id, where] : driver_view_) {
    Worker* worker = WorkerAt(where.first);
    if (worker == nullptr) continue;
    const std::string id = actor_id;
    const int32_t instance = where.second;
    SimCall<StatusOr<int32_t>>(
        network_, driver_process_, worker->process, kDriverCallTimeoutMs,
        [this, worker, id, instance](std::function<void(StatusOr<int32_t>)> reply) {
          HandleActorCall(*worker, id, instance, reply);
        },
        [this, id, instance, address = where.first](StatusOr<int32_t> answer) {
          if (answer.ok()) {
            ++stats_.actor_calls;
            return;
          }
          // The GCS may be down or failing over; the actors must keep answering all the same.
          if (scenario_.gcs_outages_only && all_alive_once_) {
            sim_.Violation(absl::StrCat("a call to instance ", instance, " of actor ", id, " at ", address,
                                        " failed although only the GCS failed: ", answer.status().message()));
          }
        });
  }
  driver_process_.RunAfter(kDriverCallPeriodMs, [this] { DriverCalls(); });
}

// ---------------------------------------------------------------------------------------------------------
// Actor invariants.

void SimCluster::CheckSingleInstance(const Worker& worker) {
  for (const auto& [address, other] : workers_) {
    if (other.get() == &worker || other->actor_id != worker.actor_id || !CanServe(*other)) continue;
    sim_.Violation(absl::StrCat("two instances of actor ", worker.actor_id, " can run calls at once: instance ",
                                worker.instance, " in ", worker.process.name(), " and instance ", other->instance,
                                " in ", address, ", whose lease holds for ",
                                other->node.workers_deadline_ms - other->process.MonotonicMs(), " ms more"));
  }
}

int64_t SimCluster::ActorRecoveryBoundMs() const {
  // A node that failed just before the faults stopped: its health checks fail, its lease lapses (or its
  // workers' lease, once it is proven gone), the instance's restart may wait the longest backoff, the lease
  // request may be retried twice, an unreachable worker's exit is confirmed, and the instance is made.
  constexpr int64_t kUnreachableConfirmMs = 5000;  // ActorManagerSettings: 50 checks, 100 ms apart
  constexpr int64_t kCreationMs = 2000;            // worker start, constructor, storage round trips
  // When a majority of its membership went silent with it, only the vouching limit ends the wait.
  const int64_t lapse_ms = std::max(settings_.node_lease_ms + settings_.worker_lease_ms * 11 / 10,
                                    settings_.gcs_reconnect_timeout_ms * 10 / 9 + settings_.node_lease_ms);
  return DetectionBoundMs() + lapse_ms + settings_.actor_restart_delay_max_ms + 2 * settings_.gcs_retry_max_ms +
         kUnreachableConfirmMs + kCreationMs;
}

void SimCluster::CheckActorsAlive(const std::string& when) {
  if (!GcsServing()) return sim_.Violation("the GCS is not serving " + when);
  std::map<std::string, rpc::ActorInfo> table;
  for (auto& info : gcs_->managers->actors().All()) table[info.actor_id()] = info;
  for (const auto& id : actor_ids_) {
    auto it = table.find(id);
    if (it == table.end()) {
      sim_.Violation("acknowledged actor " + id + " is missing from the actor table " + when);
      continue;
    }
    const rpc::ActorInfo& info = it->second;
    if (info.state() != rpc::ACTOR_ALIVE) {
      sim_.Violation(absl::StrCat("actor ", id, " is ", gcs::ActorStateName(info.state()), " ", when,
                                  " (last death: ", info.death_message(), ")"));
      continue;
    }
    Worker* worker = WorkerAt(info.address());
    if (worker == nullptr || !CanServe(*worker) || worker->instance != info.num_restarts()) {
      sim_.Violation(absl::StrCat("actor ", id, " is ALIVE in the table as instance ", info.num_restarts(), " at ",
                                  info.address(), ", which cannot serve it ", when));
    }
    if (scenario_.gcs_outages_only && info.num_restarts() != 0) {
      sim_.Violation(absl::StrCat("actor ", id, " restarted ", info.num_restarts(),
                                  " times although only the GCS failed (last death: ", info.death_message(), ")"));
    }
  }
  if (scenario_.gcs_outages_only && stats_.self_fenced > 0) {
    sim_.Violation(absl::StrCat(stats_.self_fenced, " node agents fenced themselves although only the GCS failed"));
  }
}

}  // namespace halo::sim
