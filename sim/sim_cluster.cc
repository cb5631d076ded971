#include "sim/sim_cluster.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "sim/sim_cluster_parts.h"

namespace halo::sim {

// ---------------------------------------------------------------------------------------------------------
// Simulated storage as the GCS sees it: each operation travels to the storage process (which may stall) and
// its result travels back, both in FIFO order, so per-key order holds as with the real backends. Data lives
// in the storage process and survives GCS crashes; a write may land even if the GCS dies before its ack.

class SimCluster::Store : public StoreClient {
 public:
  Store(Simulation& sim, SimProcess& gcs, SimProcess& storage, MemoryStore& durable)
      : sim_(sim), gcs_(gcs), storage_(storage), durable_(durable), lanes_(std::make_shared<Lanes>()) {}

  void AsyncPut(const std::string& table, const std::string& key, std::string value, bool overwrite,
                std::function<void(StatusOr<bool>)> done) override {
    Run<StatusOr<bool>>([=, &d = durable_](auto cb) { d.AsyncPut(table, key, value, overwrite, cb); }, std::move(done));
  }
  void AsyncGet(const std::string& table, const std::string& key,
                std::function<void(StatusOr<std::optional<std::string>>)> done) override {
    Run<StatusOr<std::optional<std::string>>>([=, &d = durable_](auto cb) { d.AsyncGet(table, key, cb); },
                                              std::move(done));
  }
  void AsyncMultiGet(const std::string& table, const std::vector<std::string>& keys,
                     std::function<void(StatusOr<KeyValueMap>)> done) override {
    Run<StatusOr<KeyValueMap>>([=, &d = durable_](auto cb) { d.AsyncMultiGet(table, keys, cb); }, std::move(done));
  }
  void AsyncGetAll(const std::string& table, std::function<void(StatusOr<KeyValueMap>)> done) override {
    Run<StatusOr<KeyValueMap>>([=, &d = durable_](auto cb) { d.AsyncGetAll(table, cb); }, std::move(done));
  }
  void AsyncDelete(const std::string& table, const std::string& key,
                   std::function<void(StatusOr<bool>)> done) override {
    Run<StatusOr<bool>>([=, &d = durable_](auto cb) { d.AsyncDelete(table, key, cb); }, std::move(done));
  }
  void AsyncBatchDelete(const std::string& table, const std::vector<std::string>& keys,
                        std::function<void(StatusOr<int64_t>)> done) override {
    Run<StatusOr<int64_t>>([=, &d = durable_](auto cb) { d.AsyncBatchDelete(table, keys, cb); }, std::move(done));
  }
  void AsyncGetKeys(const std::string& table, const std::string& prefix,
                    std::function<void(StatusOr<std::vector<std::string>>)> done) override {
    Run<StatusOr<std::vector<std::string>>>([=, &d = durable_](auto cb) { d.AsyncGetKeys(table, prefix, cb); },
                                            std::move(done));
  }
  void AsyncExists(const std::string& table, const std::string& key,
                   std::function<void(StatusOr<bool>)> done) override {
    Run<StatusOr<bool>>([=, &d = durable_](auto cb) { d.AsyncExists(table, key, cb); }, std::move(done));
  }
  std::string Kind() const override { return "sim"; }
  std::string Location() const override { return "storage process"; }

 private:
  // Times of the last message each way; later messages never overtake earlier ones.
  struct Lanes {
    int64_t to_storage_ms = 0;
    int64_t to_gcs_ms = 0;
  };

  template <typename T>
  void Run(std::function<void(std::function<void(T)>)> op, std::function<void(T)> done) {
    Simulation& sim = sim_;
    SimProcess& gcs = gcs_;
    auto lanes = lanes_;
    lanes->to_storage_ms = std::max(lanes->to_storage_ms, sim.now_ms() + sim.Uniform(0, 3));
    // The answer is for the GCS incarnation that asked; a restarted GCS never sees it.
    storage_.RunAfter(lanes->to_storage_ms - sim.now_ms(), [&sim, &gcs, epoch = gcs.epoch(), lanes, op, done] {
      op([&sim, &gcs, epoch, lanes, done](T result) {
        if (gcs.epoch() != epoch) return;
        lanes->to_gcs_ms = std::max(lanes->to_gcs_ms, sim.now_ms() + sim.Uniform(0, 3));
        gcs.RunAfter(lanes->to_gcs_ms - sim.now_ms(), [done, result = std::move(result)] { done(result); });
      });
    });
  }

  Simulation& sim_;
  SimProcess& gcs_;
  SimProcess& storage_;
  MemoryStore& durable_;
  std::shared_ptr<Lanes> lanes_;
};

// ---------------------------------------------------------------------------------------------------------

// Vouch requests between node agents over the simulated network.
class SimCluster::VouchPeers : public node::VouchPeers {
 public:
  VouchPeers(SimCluster& cluster, Node& node) : cluster_(cluster), node_(node) {}
  void Vouch(const std::string& address, const rpc::VouchRequest& request, int64_t timeout_ms,
             std::function<void(StatusOr<rpc::VouchReply>)> done) override {
    Node* found = cluster_.NodeAt(address);
    if (found == nullptr) return node_.process.Post([done] { done(UnavailableError("no such node")); });
    Node& peer = *found;
    SimCall<StatusOr<rpc::VouchReply>>(
        cluster_.network_, node_.process, peer.process, timeout_ms,
        [&peer, request, always = cluster_.scenario_.mutate_vouch_always](
            std::function<void(StatusOr<rpc::VouchReply>)> reply) {
          if (!peer.chain) return reply(UnavailableError("not ready"));
          rpc::VouchReply answer = peer.chain->HandleVouch(request);
          if (always) answer.set_vouch(true);
          reply(answer);
        },
        std::move(done));
  }

 private:
  SimCluster& cluster_;
  Node& node_;
};

// Proof a node agent is gone: its process refuses the connection (crashed), as a live host answers.
class SimCluster::GoneProver : public gcs::GoneProver {
 public:
  GoneProver(SimCluster& cluster, SimProcess& gcs, int64_t timeout_ms)
      : cluster_(cluster), gcs_(gcs), timeout_ms_(timeout_ms) {}
  void ProveGone(const std::string& address, std::function<void(bool)> done) override {
    Node* node = cluster_.NodeAt(address);
    if (node == nullptr) return gcs_.Post([done] { done(false); });
    SimCall<StatusOr<bool>>(
        cluster_.network_, gcs_, node->process, timeout_ms_,
        [](std::function<void(StatusOr<bool>)> reply) { reply(true); },
        [done](StatusOr<bool> answered) {
          done(!answered.ok() && answered.status().code() == absl::StatusCode::kUnavailable);
        });
  }

 private:
  SimCluster& cluster_;
  SimProcess& gcs_;
  int64_t timeout_ms_;
};

// Probes over the simulated network; a node answers when its process runs and the links allow.
class SimCluster::Prober : public health::HealthProber {
 public:
  Prober(SimCluster& cluster, SimProcess& gcs) : cluster_(cluster), gcs_(gcs) {}
  void Probe(const std::string& node_id, const std::string& address, int64_t timeout_ms,
             std::function<void(bool)> done) override {
    Node* node = cluster_.NodeAt(address);
    if (node == nullptr) return gcs_.Post([done] { done(false); });
    SimCluster& cluster = cluster_;
    SimCall<StatusOr<bool>>(
        cluster_.network_, gcs_, node->process, timeout_ms,
        [](std::function<void(StatusOr<bool>)> reply) { reply(true); },
        [&cluster, node_id, done](StatusOr<bool> answered) {
          cluster.probes_[node_id].push_back(answered.ok());
          done(answered.ok());
        });
  }

 private:
  SimCluster& cluster_;
  SimProcess& gcs_;
};

// The node agent's view of the GCS: calls over the simulated network into the GCS process' managers.
class SimCluster::GcsClientForNode : public GcsNodeClient {
 public:
  GcsClientForNode(SimCluster& cluster, Node& node) : cluster_(cluster), node_(node) {}

  void AsyncRegister(const rpc::NodeInfo& info, const std::string& cluster_id, int64_t timeout_ms,
                     std::function<void(StatusOr<std::string>)> done) override {
    SimCluster& cluster = cluster_;
    Node& node = node_;
    SimCall<StatusOr<std::string>>(
        cluster.network_, node.process, cluster.gcs_process(), timeout_ms,
        [&cluster, info, cluster_id](std::function<void(StatusOr<std::string>)> reply) {
          if (!cluster.GcsServing()) return reply(UnavailableError("GCS recovering"));
          std::string id = cluster.gcs_->managers->cluster().cluster_id();
          cluster.gcs_->managers->nodes().HandleRegister(info, cluster_id, [reply, id](Status s) {
            reply(s.ok() ? StatusOr<std::string>(id) : StatusOr<std::string>(s));
          });
        },
        [&node, done](StatusOr<std::string> result) {
          if (result.ok()) node.registered = true;
          done(result);
        });
  }

  void AsyncUnregister(const std::string& node_id, rpc::DeathReason reason, const std::string& message,
                       int64_t timeout_ms, std::function<void(Status)> done) override {
    // The agent stops its workers before it asks (SetBeforeLeaving), so it serves nothing from here.
    node_.unregistering = true;
    SimCluster& cluster = cluster_;
    SimCall<Status>(
        cluster.network_, node_.process, cluster.gcs_process(), timeout_ms,
        [&cluster, node_id, reason, message](std::function<void(Status)> reply) {
          if (!cluster.GcsServing()) return reply(UnavailableError("GCS recovering"));
          cluster.gcs_->managers->nodes().HandleUnregister(node_id, reason, message, reply);
        },
        std::move(done));
  }

  void AsyncRenewLease(const rpc::RenewNodeLeaseRequest& request, int64_t timeout_ms,
                       std::function<void(StatusOr<rpc::RenewNodeLeaseReply>)> done) override {
    SimCluster& cluster = cluster_;
    SimCall<StatusOr<rpc::RenewNodeLeaseReply>>(
        cluster.network_, node_.process, cluster.gcs_process(), timeout_ms,
        [&cluster, request](std::function<void(StatusOr<rpc::RenewNodeLeaseReply>)> reply) {
          if (!cluster.GcsServing()) return reply(UnavailableError("GCS recovering"));
          cluster.gcs_->managers->nodes().HandleRenewLease(request, reply);
        },
        std::move(done));
  }

  void AsyncPoll(const rpc::PollNodeEventsRequest& request, int64_t timeout_ms,
                 std::function<void(StatusOr<rpc::PollNodeEventsReply>)> done) override {
    SimCluster& cluster = cluster_;
    SimCall<StatusOr<rpc::PollNodeEventsReply>>(
        cluster.network_, node_.process, cluster.gcs_process(), timeout_ms,
        [&cluster, request](std::function<void(StatusOr<rpc::PollNodeEventsReply>)> reply) {
          if (!cluster.GcsServing()) return reply(UnavailableError("GCS recovering"));
          cluster.gcs_->managers->publisher().HandlePoll(request, reply);
        },
        std::move(done));
  }

 private:
  SimCluster& cluster_;
  Node& node_;
};

// ---------------------------------------------------------------------------------------------------------

SimCluster::SimCluster(Simulation& sim, Settings settings, ScenarioSettings scenario)
    : sim_(sim),
      settings_(std::move(settings)),
      scenario_(scenario),
      network_(sim, NetworkSettings{1, 20, scenario.gcs_outages_only ? 0.0 : scenario.loss_probability}),
      storage_process_(sim, "storage"),
      durable_(storage_process_),
      observer_process_(sim, "observer"),
      driver_process_(sim, "driver") {
  if (scenario_.mutate_no_clock_margin) scenario_.clock_skew = std::max(scenario_.clock_skew, 0.05);
  for (int i = 0; i < 2; ++i) {
    heads_[i] = std::make_unique<SimProcess>(sim_, i == 0 ? "head-a" : "head-b");
    SkewClock(*heads_[i]);
  }
  SkewClock(driver_process_);
}

SimCluster::~SimCluster() {
  // Managers hold timers of processes that are destroyed after them; crash everything first so no closure runs.
  for (auto& head : heads_) head->Crash();
  for (auto& [name, node] : nodes_) node->process.Crash();
  for (auto& [name, worker] : workers_) worker->process.Crash();
  gcs_.reset();
}

void SimCluster::SkewClock(SimProcess& process) {
  const double skew = scenario_.clock_skew;
  const double rate = skew > 0 ? 1.0 + skew * static_cast<double>(sim_.Uniform(-1000, 1000)) / 1000.0 : 1.0;
  process.SetClock(rate, skew > 0 ? sim_.Uniform(0, 1'000'000) : 0);
}

SimProcess& SimCluster::gcs_process() { return *heads_[head_]; }

bool SimCluster::GcsServing() const { return gcs_ && gcs_->serving && heads_[head_]->running(); }

SimCluster::Node* SimCluster::NodeAt(const std::string& address) {
  auto it = nodes_.find(address);
  return it == nodes_.end() ? nullptr : it->second.get();
}

int64_t SimCluster::DetectionBoundMs() const {
  const int64_t per_probe = settings_.health_check_period_ms + settings_.health_check_timeout_ms +
                            2 * network_.max_delay_ms();
  // A probe answered just before the node stopped may still arrive (late, but within its timeout) and count
  // as a success; the threshold failures start after it.
  return settings_.health_check_initial_delay_ms + settings_.health_check_timeout_ms +
         settings_.health_check_failure_threshold * per_probe + 50;
}

void SimCluster::BootGcs() {
  if (gcs_) return;  // already up or recovering
  SimProcess& head = gcs_process();
  head.Restart();
  gcs_ = std::make_unique<Gcs>();
  Gcs& g = *gcs_;
  g.store = std::make_unique<Store>(sim_, head, storage_process_, durable_);
  g.prober = std::make_unique<Prober>(*this, head);
  g.gone = std::make_unique<GoneProver>(*this, head, settings_.health_check_timeout_ms);
  g.actor_peers = MakeActorPeers(head);
  gcs::GcsAssemblyDeps deps;
  deps.store = g.store.get();
  deps.executor = &head;
  deps.clock = &head;
  deps.random = &sim_.random();
  deps.prober = g.prober.get();
  deps.gone_prover = g.gone.get();
  deps.actor_peers = g.actor_peers.get();
  deps.node_leases = scenario_.leases;
  deps.on_storage_failure = [this](Status status) {
    sim_.Violation("the GCS could not store a table: " + std::string(status.message()));
  };
  deps.on_node_failed = [this](const std::string& id) {
    // With leases a failure is only a candidate death (CheckDeadNodeCannotServe judges the real ones).
    if (!scenario_.leases) CheckDeathIsDeserved(id);
    ++stats_.deaths_detected;
    sim_.Trace("gcs health checks fail " + id);
  };
  if (scenario_.leases) deps.on_node_changed = [this](const rpc::NodeInfo& node) { CheckDeadNodeCannotServe(node); };
  g.managers = std::make_unique<gcs::GcsAssembly>(settings_, std::move(deps));
  sim_.Trace("gcs boots on " + head.name());
  head.Post([this] {
    gcs_->managers->Recover([this](Status status) {
      if (!status.ok()) return sim_.Violation("the GCS failed to recover: " + std::string(status.message()));
      OnGcsRecovered();
    });
  });
}

void SimCluster::OnGcsRecovered() {
  CheckTableAfterRecovery();
  gcs_->serving = true;
  gcs_serving_since_ms_ = sim_.now_ms();
  sim_.Trace("gcs serving, incarnation " + gcs_->managers->publisher().incarnation());
  for (auto& [name, node] : nodes_) {
    if (node->crashed_at_ms >= 0 || node->paused_at_ms >= 0) ScheduleDetectionCheck(node->info.node_id(), sim_.now_ms());
  }
}

void SimCluster::CrashGcs() {
  ++stats_.gcs_restarts;
  sim_.Trace("gcs crashes on " + gcs_process().name());
  const uint64_t epoch = gcs_process().epoch();
  gcs_process().Crash();
  gcs_.reset();
  gcs_serving_since_ms_ = -1;
  // Held polls die with the process: their callers time out, as with a real crash. Held worker-lease
  // requests are withdrawn: the nodes see the connection close.
  CancelLeaseRequests(epoch, gcs_process());
}

void SimCluster::AddNode() {
  const std::string name = "node-" + std::to_string(next_node_++);
  auto node = std::make_unique<Node>(sim_, name);
  SkewClock(node->process);
  node->info.set_node_id(sim_.random().HexId(6));
  node->info.set_address(name);
  (*node->info.mutable_resources())["CPU"] = 4;
  Node& ref = *node;
  nodes_[name] = std::move(node);
  ++stats_.nodes;
  sim_.Trace("start " + name + " as " + ref.info.node_id());
  StartAgent(ref);
}

void SimCluster::StartAgent(Node& node) {
  node.client = std::make_unique<GcsClientForNode>(*this, node);
  node::NodeAgentSettings agent{settings_.gcs_reconnect_timeout_ms, settings_.gcs_retry_initial_ms,
                                settings_.gcs_retry_max_ms, settings_.pubsub_poll_wait_ms, settings_.rpc_timeout_ms};
  node.agent = std::make_unique<node::NodeAgent>(node.process, node.process, *node.client, node.info, agent,
                                                 [this, &node](int, const std::string& why) { AgentExits(node, why); });
  node.launcher = MakeLauncher(node);
  node.executables = MakeExecutables(node);
  node::LeaseManagerSettings lease_settings;
  lease_settings.node_id = node.info.node_id();
  lease_settings.node_address = node.info.address();
  lease_settings.resources = std::map<std::string, double>(node.info.resources().begin(), node.info.resources().end());
  lease_settings.num_prestart_workers = 1;
  lease_settings.worker_start_timeout_ms = settings_.worker_start_timeout_ms;
  lease_settings.worker_idle_timeout_ms = settings_.worker_idle_timeout_ms;
  node.leases = std::make_unique<node::LeaseManager>(node.process, node.process, sim_.random(), *node.launcher,
                                                     *node.executables, lease_settings);
  node.agent->SetIdleCheck([&node] { return node.leases->Idle(); });
  node.leases->SetIdleListener([&node] { node.agent->OnIdle(); });
  node.agent->SetClusterListener([&node](const rpc::PollNodeEventsReply& reply) {
    node.leases->OnClusterUpdate(reply);
    auto own = [&node](const rpc::NodeInfo& info) {
      if (info.node_id() == node.info.node_id()) node.leases->SetDraining(info.state() == rpc::DRAINING);
    };
    for (const auto& info : reply.nodes()) own(info);
    for (const auto& event : reply.events()) own(event.node());
  });
  if (scenario_.leases) {
    node.peers = std::make_unique<VouchPeers>(*this, node);
    node::NodeLeaseKeeperSettings keeper{settings_.node_lease_ms, settings_.node_lease_renew_interval_ms,
                                         settings_.node_vouch_after_ms};
    keeper.vouch_limit_ms = settings_.gcs_reconnect_timeout_ms;
    if (scenario_.mutate_no_clock_margin) keeper.clock_margin_percent = 0;
    node.chain = std::make_unique<node::NodeLeaseChain>(
        node.process, node.process, *node.client, *node.peers, node.info.node_id(),
        node::NodeLeaseChainSettings{keeper, settings_.worker_lease_ms},
        [&node](int64_t deadline_ms) { node.workers_deadline_ms = deadline_ms; },
        [this, &node](int, const std::string& why) {
          sim_.Trace(node.process.name() + " fences itself (" + why + ")");
          ++stats_.self_fenced;
          node.fenced = true;
          AgentExits(node, why);
        });
    node.agent->SetBeforeLeaving([&node] {
      node.chain->Leave();
      node.leases->Shutdown();
    });
  } else {
    node.agent->SetBeforeLeaving([&node] { node.leases->Shutdown(); });
  }
  node.process.Post([&node] {
    if (node.chain) node.chain->Start();
    node.agent->Start([&node] {
      if (node.chain) node.chain->StartRenewing();
    });
  });
}

// As halo-node's main does when its agent ends: the workers' lease is revoked, every worker killed.
void SimCluster::AgentExits(Node& node, const std::string& why) {
  if (node.exited) return;
  sim_.Trace(node.process.name() + " exits: " + why);
  node.exited = true;
  if (node.chain) node.chain->RevokeWorkers();
  node.leases->Shutdown();
  node.process.Crash();
  ResetHeldCalls(node);
}

void SimCluster::ResetHeldCalls(Node& node) {
  node.held.ProcessDied(!network_.HostDown(node.process.host()));
}

SimCluster::Node* SimCluster::PickNode(bool running_only) {
  std::vector<Node*> candidates;
  for (auto& [name, node] : nodes_) {
    if (node->exited || node->crashed_at_ms >= 0) continue;
    if (running_only && (node->paused_at_ms >= 0 || !node->registered)) continue;
    candidates.push_back(node.get());
  }
  if (candidates.empty()) return nullptr;
  return candidates[sim_.Uniform(0, static_cast<int64_t>(candidates.size()) - 1)];
}

void SimCluster::Run() {
  BootGcs();
  const int initial = static_cast<int>(sim_.Uniform(scenario_.min_nodes, scenario_.max_nodes));
  for (int i = 0; i < initial; ++i) sim_.At(sim_.Uniform(0, 2000), [this] { AddNode(); });
  observer_process_.Post([this] { ObserverPoll(); });
  if (scenario_.actors) {
    driver_process_.RunAfter(2000, [this] { RegisterActors(); });
    driver_process_.RunAfter(2100, [this] { DriverRefresh(); });
    driver_process_.RunAfter(2200, [this] { DriverCalls(); });
  }
  // Actors are given time to come up before faults start (a creation is not a fault).
  sim_.At(scenario_.actors ? 4000 : 2500, [this] { ScheduleNextFault(); });
  sim_.RunUntil(scenario_.duration_ms);
  // Settle: no new faults; heal links, resume paused processes, bring the GCS back if it is down, and add
  // two fresh nodes so that actors have room however many nodes died.
  faults_on_ = false;
  settle_start_ms_ = sim_.now_ms();
  network_.HealAll();
  storage_process_.Resume();
  for (auto& [name, node] : nodes_) {
    if (node->paused_at_ms >= 0) {
      node->paused_at_ms = -1;
      node->process.Resume();
    }
  }
  for (auto& [name, worker] : workers_) worker->process.Resume();
  if (!gcs_) BootGcs();
  sim_.Trace("settling");
  if (scenario_.actors) {
    AddNode();
    AddNode();
    const int64_t bound = ActorRecoveryBoundMs();
    scenario_.settle_ms = std::max(scenario_.settle_ms, bound + 5000);
    sim_.At(settle_start_ms_ + bound, [this, bound] {
      CheckActorsAlive(absl::StrCat(bound, " ms after the faults stopped (the bound the settings imply)"));
    });
  }
  sim_.RunUntil(scenario_.duration_ms + scenario_.settle_ms);
  CheckFinalState();
  if (scenario_.actors) {
    CheckActorsAlive("at the end");
    if (GcsServing()) {
      for (const auto& info : gcs_->managers->actors().All()) stats_.actor_restarts += info.num_restarts();
    }
  }
}

}  // namespace halo::sim
