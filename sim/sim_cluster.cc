#include "sim/sim_cluster.h"

#include <algorithm>

#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"
#include "gcs/table_names.h"

namespace halo::sim {

using gcs::NodeStateName;

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

struct SimCluster::Node {
  explicit Node(Simulation& sim, std::string name) : process(sim, std::move(name)) {}
  SimProcess process;
  rpc::NodeInfo info;
  std::unique_ptr<GcsClientForNode> client;
  std::unique_ptr<node::NodeAgent> agent;
  std::unique_ptr<VouchPeers> peers;              // with leases
  std::unique_ptr<LeaseListener> lease_listener;  // with leases
  std::unique_ptr<node::NodeLeaseKeeper> keeper;  // with leases
  bool fenced = false;       // it stopped itself: its lease lapsed or the GCS refused it
  bool unregistering = false;  // it asked to leave (a graceful stop or a drained node leaving when idle)
  bool registered = false;   // its registration was acknowledged
  bool exited = false;       // the agent decided to exit
  bool faulted = false;      // crashed, paused, cut off, drained or stopped at some point
  int64_t crashed_at_ms = -1;
  int64_t paused_at_ms = -1;  // -1 unless paused now
};

struct SimCluster::Gcs {
  std::unique_ptr<Store> store;
  std::unique_ptr<gcs::ClusterManager> cluster;
  std::unique_ptr<gcs::NodeManager> nodes;
  std::unique_ptr<gcs::NodeEventPublisher> publisher;
  std::unique_ptr<Prober> prober;
  std::unique_ptr<Listener> listener;
  std::unique_ptr<gcs::HealthCheckManager> health;
  std::unique_ptr<GoneProver> gone;
  bool serving = false;
};

// Vouch requests between node agents over the simulated network.
class SimCluster::VouchPeers : public node::VouchPeers {
 public:
  VouchPeers(SimCluster& cluster, Node& node) : cluster_(cluster), node_(node) {}
  void Vouch(const std::string& address, const rpc::VouchRequest& request, int64_t timeout_ms,
             std::function<void(StatusOr<rpc::VouchReply>)> done) override {
    auto it = cluster_.nodes_.find(address);
    if (it == cluster_.nodes_.end()) return node_.process.Post([done] { done(UnavailableError("no such node")); });
    Node& peer = *it->second;
    SimCall<StatusOr<rpc::VouchReply>>(
        cluster_.network_, node_.process, peer.process, timeout_ms,
        [&peer, request, always = cluster_.scenario_.mutate_vouch_always](
            std::function<void(StatusOr<rpc::VouchReply>)> reply) {
          if (!peer.keeper) return reply(UnavailableError("not ready"));
          rpc::VouchReply answer = peer.keeper->HandleVouch(request);
          if (always) answer.set_vouch(true);
          reply(answer);
        },
        std::move(done));
  }

 private:
  SimCluster& cluster_;
  Node& node_;
};

// What the node agent's process does when its lease ends: it stops (its workers with it).
class SimCluster::LeaseListener : public node::NodeLeaseListener {
 public:
  LeaseListener(SimCluster& cluster, Node& node) : cluster_(cluster), node_(node) {}
  void OnDeadline(int64_t) override {}
  void OnLapsed(const std::string& why) override { Stop("lease lapsed: " + why); }
  void OnRefused(const std::string& why) override { Stop("refused: " + why); }

 private:
  void Stop(const std::string& why) {
    cluster_.sim_.Trace(node_.process.name() + " fences itself (" + why + ")");
    ++cluster_.stats_.self_fenced;
    node_.fenced = true;
    node_.exited = true;
    node_.process.Crash();
  }
  SimCluster& cluster_;
  Node& node_;
};

// Proof a node agent is gone: its process refuses the connection (crashed), as a live host answers.
class SimCluster::GoneProver : public gcs::GoneProver {
 public:
  GoneProver(SimCluster& cluster, SimProcess& gcs, int64_t timeout_ms)
      : cluster_(cluster), gcs_(gcs), timeout_ms_(timeout_ms) {}
  void ProveGone(const std::string& address, std::function<void(bool)> done) override {
    auto it = cluster_.nodes_.find(address);
    if (it == cluster_.nodes_.end()) return gcs_.Post([done] { done(false); });
    SimCall<StatusOr<bool>>(
        cluster_.network_, gcs_, it->second->process, timeout_ms_,
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
class SimCluster::Prober : public gcs::HealthProber {
 public:
  Prober(SimCluster& cluster, SimProcess& gcs) : cluster_(cluster), gcs_(gcs) {}
  void Probe(const std::string& node_id, const std::string& address, int64_t timeout_ms,
             std::function<void(bool)> done) override {
    auto it = cluster_.nodes_.find(address);
    if (it == cluster_.nodes_.end()) return gcs_.Post([done] { done(false); });
    SimCluster& cluster = cluster_;
    SimCall<StatusOr<bool>>(
        cluster_.network_, gcs_, it->second->process, timeout_ms,
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

// Sits between the health checker and the node manager to check that every death is deserved.
class SimCluster::Listener : public gcs::HealthCheckListener {
 public:
  Listener(SimCluster& cluster, gcs::NodeManager& nodes) : cluster_(cluster), nodes_(nodes) {}
  void OnNodeSuspected(const std::string& id) override { nodes_.OnNodeSuspected(id); }
  void OnNodeRecovered(const std::string& id) override { nodes_.OnNodeRecovered(id); }
  void OnNodeFailed(const std::string& id) override {
    // With leases a failure is only a candidate death (CheckDeadNodeCannotServe judges the real ones).
    if (!cluster_.scenario_.leases) cluster_.CheckDeathIsDeserved(id);
    ++cluster_.stats_.deaths_detected;
    cluster_.sim_.Trace("gcs declares " + id + " dead");
    nodes_.OnNodeFailed(id);
  }

 private:
  SimCluster& cluster_;
  gcs::NodeManager& nodes_;
};

// The node agent's view of the GCS: calls over the simulated network into the GCS process' managers.
class SimCluster::GcsClientForNode : public node::GcsNodeClient {
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
          std::string id = cluster.gcs_->cluster->cluster_id();
          cluster.gcs_->nodes->HandleRegister(info, cluster_id, [reply, id](Status s) {
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
    // The production agent stops its workers before it asks (node/main.cc), so it serves nothing from here.
    node_.unregistering = true;
    SimCluster& cluster = cluster_;
    SimCall<Status>(
        cluster.network_, node_.process, cluster.gcs_process(), timeout_ms,
        [&cluster, node_id, reason, message](std::function<void(Status)> reply) {
          if (!cluster.GcsServing()) return reply(UnavailableError("GCS recovering"));
          cluster.gcs_->nodes->HandleUnregister(node_id, reason, message, reply);
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
          cluster.gcs_->nodes->HandleRenewLease(request, reply);
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
          cluster.gcs_->publisher->HandlePoll(request, reply);
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
      network_(sim, NetworkSettings{1, 20, scenario.loss_probability}),
      storage_process_(sim, "storage"),
      durable_(storage_process_),
      observer_process_(sim, "observer"),
      gcs_process_(sim, "gcs") {}

SimCluster::~SimCluster() {
  // Managers hold timers of processes that are destroyed after them; crash everything first so no closure runs.
  gcs_process_.Crash();
  for (auto& [name, node] : nodes_) node->process.Crash();
  gcs_.reset();
}

SimProcess& SimCluster::gcs_process() { return gcs_process_; }

bool SimCluster::GcsServing() const { return gcs_ && gcs_->serving && gcs_process_.running(); }

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
  gcs_process_.Restart();
  gcs_ = std::make_unique<Gcs>();
  gcs_->store = std::make_unique<Store>(sim_, gcs_process_, storage_process_, durable_);
  sim_.Trace("gcs boots");
  auto tables = std::make_shared<std::map<std::string, KeyValueMap>>();
  auto remaining = std::make_shared<int>(2);
  for (const char* table : {gcs::kMetaTable, gcs::kNodeTable}) {
    gcs_->store->AsyncGetAll(table, [this, table, tables, remaining](StatusOr<KeyValueMap> rows) {
      (*tables)[table] = rows.ok() ? *rows : KeyValueMap{};
      if (--*remaining > 0) return;
      gcs_->cluster = std::make_unique<gcs::ClusterManager>(*gcs_->store, gcs_process_, sim_.random());
      gcs_->cluster->Initialize((*tables)[gcs::kMetaTable], [this, tables](Status status) {
        if (!status.ok()) return sim_.Violation("cluster manager failed: " + std::string(status.message()));
        Gcs& g = *gcs_;
        g.nodes = std::make_unique<gcs::NodeManager>(*g.store, gcs_process_, gcs_process_, g.cluster->cluster_id(),
                                                     settings_.dead_nodes_max);
        g.publisher = std::make_unique<gcs::NodeEventPublisher>(
            gcs_process_, sim_.random().HexId(4), g.cluster->cluster_id(),
            gcs::PublisherSettings{settings_.pubsub_buffer_events_max, settings_.pubsub_subscribers_max,
                                   settings_.pubsub_poll_wait_ms});
        g.prober = std::make_unique<Prober>(*this, gcs_process_);
        g.listener = std::make_unique<Listener>(*this, *g.nodes);
        g.health = std::make_unique<gcs::HealthCheckManager>(
            gcs_process_, *g.prober, *g.listener,
            gcs::HealthCheckSettings{settings_.health_check_initial_delay_ms, settings_.health_check_period_ms,
                                     settings_.health_check_timeout_ms, settings_.health_check_failure_threshold});
        g.nodes->SetCollaborators(g.health.get(), g.publisher.get());
        if (scenario_.leases) {
          g.gone = std::make_unique<GoneProver>(*this, gcs_process_, settings_.health_check_timeout_ms);
          g.nodes->SetLeasePolicy(
              gcs::NodeLeaseSettings{settings_.node_lease_ms,
                                     settings_.node_lease_renew_interval_ms, settings_.node_vouch_after_ms,
                                     settings_.worker_lease_ms},
              g.gone.get());
          g.nodes->SetChangeListener([this](const rpc::NodeInfo& node) { CheckDeadNodeCannotServe(node); });
        }
        Status loaded = g.nodes->Initialize((*tables)[gcs::kNodeTable]);
        if (!loaded.ok()) return sim_.Violation("node table failed to load: " + std::string(loaded.message()));
        OnGcsRecovered();
      });
    });
  }
}

void SimCluster::OnGcsRecovered() {
  CheckTableAfterRecovery();
  gcs_->nodes->Start();
  gcs_->serving = true;
  gcs_serving_since_ms_ = sim_.now_ms();
  sim_.Trace("gcs serving, incarnation " + gcs_->publisher->incarnation());
  for (auto& [name, node] : nodes_) {
    if (node->crashed_at_ms >= 0 || node->paused_at_ms >= 0) ScheduleDetectionCheck(node->info.node_id(), sim_.now_ms());
  }
}

void SimCluster::CrashGcs() {
  ++stats_.gcs_restarts;
  sim_.Trace("gcs crashes");
  gcs_process_.Crash();
  gcs_.reset();
  gcs_serving_since_ms_ = -1;
  // Held polls die with the process: their callers time out, as with a real crash.
}

void SimCluster::AddNode() {
  const std::string name = "node-" + std::to_string(next_node_++);
  auto node = std::make_unique<Node>(sim_, name);
  node->info.set_node_id(sim_.random().HexId(6));
  node->info.set_address(name);
  (*node->info.mutable_resources())["CPU"] = 2;
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
                                                 [this, &node](int code, const std::string& why) {
                                                   sim_.Trace(node.process.name() + " exits: " + why);
                                                   node.exited = true;
                                                   node.process.Crash();
                                                   (void)code;
                                                 });
  if (scenario_.leases) {
    node.peers = std::make_unique<VouchPeers>(*this, node);
    node.lease_listener = std::make_unique<LeaseListener>(*this, node);
    node.keeper = std::make_unique<node::NodeLeaseKeeper>(
        node.process, node.process, *node.client, *node.peers, node.info.node_id(),
        node::NodeLeaseKeeperSettings{settings_.node_lease_ms, settings_.node_lease_renew_interval_ms,
                                      settings_.node_vouch_after_ms},
        *node.lease_listener);
  }
  node.process.Post([&node] {
    node.agent->Start([&node] {
      if (node.keeper) node.keeper->Start();
    });
  });
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

// ---------------------------------------------------------------------------------------------------------
// Faults.

void SimCluster::ScheduleNextFault() {
  const int64_t gap = sim_.Uniform(scenario_.mean_fault_gap_ms / 2, scenario_.mean_fault_gap_ms * 3 / 2);
  sim_.At(sim_.now_ms() + gap, [this] {
    if (!faults_on_) return;
    InjectFault();
    ScheduleNextFault();
  });
}

void SimCluster::InjectFault() {
  ++stats_.faults;
  const int64_t kind = sim_.Uniform(0, 9);
  Node* node = PickNode(/*running_only=*/kind != 1);
  switch (kind) {
    case 0: {  // crash a node for good
      if (!node) return;
      node->faulted = true;
      node->crashed_at_ms = sim_.now_ms();
      sim_.Trace("crash " + node->process.name());
      node->process.Crash();
      const std::string id = node->info.node_id();
      if (GcsServing()) {
        // The kernel closes its sockets: the GCS sees the connection drop.
        gcs_process_.RunAfter(sim_.Uniform(1, 20), [this, id] {
          if (GcsServing()) gcs_->health->OnConnectionLost(id);
        });
        ScheduleDetectionCheck(id, sim_.now_ms());
      }
      return;
    }
    case 1: {  // pause a node (SIGSTOP), resume later
      if (!node || node->paused_at_ms >= 0) return;
      node->faulted = true;
      node->paused_at_ms = sim_.now_ms();
      node->process.Pause();
      const int64_t length = sim_.Uniform(200, 6000);
      sim_.Trace("pause " + node->process.name() + " for " + std::to_string(length) + "ms");
      if (length > DetectionBoundMs()) ScheduleDetectionCheck(node->info.node_id(), sim_.now_ms());
      sim_.At(sim_.now_ms() + length, [this, node] {
        sim_.Trace("resume " + node->process.name());
        node->paused_at_ms = -1;
        node->process.Resume();
      });
      return;
    }
    case 2:
    case 3: {  // cut one direction between the GCS and a node for a while, sometimes both (a partition)
      if (!node) return;
      node->faulted = true;
      const bool to_node = kind == 2;
      const bool both = sim_.Chance(0.3);
      const std::string from = to_node ? "gcs" : node->process.name();
      const std::string to = to_node ? node->process.name() : "gcs";
      const int64_t length = sim_.Uniform(300, 5000);
      sim_.Trace((both ? "partition " : "cut ") + from + "->" + to + " for " + std::to_string(length) + "ms");
      network_.Cut(from, to);
      if (both) network_.Cut(to, from);
      sim_.At(sim_.now_ms() + length, [this, from, to, both] {
        network_.Heal(from, to);
        if (both) network_.Heal(to, from);
      });
      return;
    }
    case 4: {  // storage stalls (Redis restarting, a slow disk)
      if (storage_process_.paused()) return;
      const int64_t length = sim_.Uniform(100, 2000);
      sim_.Trace("storage stalls for " + std::to_string(length) + "ms");
      storage_process_.Pause();
      sim_.At(sim_.now_ms() + length, [this] { storage_process_.Resume(); });
      return;
    }
    case 5: {  // GCS crash and restart
      if (!gcs_) return;
      CrashGcs();
      const int64_t down = sim_.Uniform(50, 3000);
      sim_.At(sim_.now_ms() + down, [this] { BootGcs(); });
      return;
    }
    case 6: {  // drain
      if (!node || !GcsServing()) return;
      node->faulted = true;
      const int64_t deadline = sim_.Chance(0.5) ? 0 : sim_.Uniform(1, 3000);
      const std::string id = node->info.node_id();
      sim_.Trace("drain " + node->process.name());
      gcs_process_.Post([this, id, deadline] {
        if (GcsServing()) gcs_->nodes->HandleDrain(id, "sim", deadline, [](Status) {});
      });
      return;
    }
    case 7: {  // graceful stop (SIGTERM)
      if (!node) return;
      node->faulted = true;
      sim_.Trace("stop " + node->process.name());
      node->process.Post([node] { node->agent->Stop(); });
      return;
    }
    default:
      AddNode();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Observer subscriber and invariants.

void SimCluster::ObserverPoll() {
  rpc::PollNodeEventsRequest request;
  request.set_subscriber_id("observer");
  request.set_incarnation(observer_incarnation_);
  request.set_after_sequence(observer_after_);
  request.set_wait_ms(1000);
  SimCall<StatusOr<rpc::PollNodeEventsReply>>(
      network_, observer_process_, gcs_process_, 2000,
      [this, request](std::function<void(StatusOr<rpc::PollNodeEventsReply>)> reply) {
        if (!GcsServing()) return reply(UnavailableError("GCS recovering"));
        gcs_->publisher->HandlePoll(request, reply);
      },
      [this](StatusOr<rpc::PollNodeEventsReply> reply) {
        if (reply.ok()) {
          if (reply->snapshot()) {
            // A snapshot may move nodes forward, never back: no node dropped, none dead brought back.
            std::map<std::string, rpc::NodeInfo> fresh;
            for (const auto& node : reply->nodes()) fresh[node.node_id()] = node;
            for (const auto& [id, old] : observed_) {
              auto now = fresh.find(id);
              if (now == fresh.end()) {
                sim_.Violation("node " + id + " missing from a snapshot");
              } else if (old.state() == rpc::DEAD && now->second.state() != rpc::DEAD) {
                sim_.Violation(absl::StrCat("snapshot brings dead node ", id, " back as ",
                                            NodeStateName(now->second.state())));
              }
            }
            observer_incarnation_ = reply->incarnation();
            observed_ = std::move(fresh);
            for (const auto& [id, node] : observed_) {
              sim_.Trace(absl::StrCat("snapshot ", id, " ", NodeStateName(node.state())));
            }
          }
          uint64_t previous = reply->snapshot() ? reply->last_sequence() : observer_after_;
          for (const auto& event : reply->events()) {
            if (event.sequence() != previous + 1) {
              sim_.Violation(absl::StrCat("event ", event.sequence(), " delivered after ", previous,
                                          " (a gap or a repeat)"));
            }
            previous = event.sequence();
            CheckEventOrder(event);
          }
          observer_after_ = reply->last_sequence();
        }
        const int64_t pause = reply.ok() ? 0 : 100;
        observer_process_.RunAfter(pause, [this] { ObserverPoll(); });
      });
}

void SimCluster::CheckEventOrder(const rpc::NodeEvent& event) {
  const std::string& id = event.node().node_id();
  auto known = observed_.find(id);
  if (event.kind() == rpc::NodeEvent::ADDED && known != observed_.end()) {
    sim_.Violation("node " + id + " added twice");
  }
  if (event.kind() != rpc::NodeEvent::ADDED && event.kind() != rpc::NodeEvent::REMOVED && known == observed_.end()) {
    sim_.Violation("state change of node " + id + " that was never added");
  }
  if (known != observed_.end() && known->second.state() == rpc::DEAD && event.kind() != rpc::NodeEvent::REMOVED) {
    sim_.Violation(absl::StrCat("node ", id, " changed to ", NodeStateName(event.node().state()), " after DEAD"));
  }
  sim_.Trace(absl::StrCat("event ", event.sequence(), " ", id, " ", NodeStateName(event.node().state())));
  observed_[id] = event.node();
}

void SimCluster::CheckTableAfterRecovery() {
  // Everything the observer saw was published, hence durable: the reloaded table must hold it (or a later
  // state of it).
  for (const auto& [id, seen] : observed_) {
    const rpc::NodeInfo* now = gcs_->nodes->Find(id);
    if (now == nullptr) {
      sim_.Violation("acknowledged node " + id + " missing after GCS restart");
      continue;
    }
    if (seen.state() == rpc::DEAD && (now->state() != rpc::DEAD || now->death_reason() != seen.death_reason())) {
      sim_.Violation(absl::StrCat("node ", id, " was DEAD before the restart and is ", NodeStateName(now->state()),
                                  " after"));
    }
    // Where nothing changed after the last published record, the reloaded row is that record exactly.
    if (seen.state() == now->state() && seen.state_time_ms() == now->state_time_ms() &&
        !google::protobuf::util::MessageDifferencer::Equals(seen, *now)) {
      sim_.Violation("node " + id + " reloaded with a record that differs from the one published");
    }
    if (seen.state() == rpc::DRAINING && now->state() != rpc::DRAINING && now->state() != rpc::DEAD) {
      sim_.Violation("node " + id + " lost its DRAINING state in a restart");
    }
  }
  for (const auto& [name, node] : nodes_) {
    if (node->registered && gcs_->nodes->Find(node->info.node_id()) == nullptr) {
      sim_.Violation("node " + node->info.node_id() + " was told it registered but is missing after restart");
    }
  }
}

void SimCluster::CheckDeathIsDeserved(const std::string& node_id) {
  const auto& outcomes = probes_[node_id];
  const size_t threshold = static_cast<size_t>(settings_.health_check_failure_threshold);
  if (outcomes.size() < threshold ||
      std::any_of(outcomes.end() - threshold, outcomes.end(), [](bool answered) { return answered; })) {
    sim_.Violation("node " + node_id + " declared dead although one of its last probes was answered");
  }
}

void SimCluster::CheckDeadNodeCannotServe(const rpc::NodeInfo& record) {
  if (record.state() != rpc::DEAD) return;
  for (auto& [name, node] : nodes_) {
    if (node->info.node_id() != record.node_id()) continue;
    // Gone, never so far as to hold a lease, or it left of its own accord having stopped its workers.
    if (node->process.crashed() || !node->keeper || node->unregistering) return;
    const int64_t deadline = node->keeper->deadline_ms();
    if (!node->keeper->fenced() && deadline > node->process.MonotonicMs()) {
      sim_.Violation(absl::StrCat("node ", record.node_id(), " published DEAD (",
                                  gcs::DeathReasonName(record.death_reason()), ") while its lease lets it serve for ",
                                  deadline - node->process.MonotonicMs(), " ms more"));
    }
  }
}

void SimCluster::ScheduleDetectionCheck(const std::string& node_id, int64_t from_ms) {
  // With leases a death may wait for a majority to be heard (by design); liveness is judged at the end.
  if (scenario_.leases) return;
  const int64_t serving_since = gcs_serving_since_ms_;
  sim_.At(from_ms + DetectionBoundMs(), [this, node_id, serving_since, from_ms] {
    // Only meaningful if this same GCS incarnation has served throughout.
    if (!GcsServing() || gcs_serving_since_ms_ != serving_since || serving_since > from_ms) return;
    Node* node = nullptr;
    for (auto& [name, n] : nodes_) {
      if (n->info.node_id() == node_id) node = n.get();
    }
    // Only a node down without a break since from_ms must have been found.
    const bool down_throughout = (node != nullptr) && ((node->crashed_at_ms >= 0 && node->crashed_at_ms <= from_ms) ||
                                                       (node->paused_at_ms >= 0 && node->paused_at_ms <= from_ms));
    if (!down_throughout) return;
    const rpc::NodeInfo* record = gcs_->nodes->Find(node_id);
    if (record == nullptr) return;  // never registered with this GCS
    if (record->state() != rpc::DEAD) {
      sim_.Violation(absl::StrCat("node ", node_id, " down since t=", from_ms, "ms is still ",
                                  NodeStateName(record->state()), " after the detection bound (",
                                  DetectionBoundMs(), "ms)"));
    }
  });
}

void SimCluster::CheckFinalState() {
  if (!GcsServing()) return sim_.Violation("GCS not serving at the end");
  for (const auto& [name, node] : nodes_) {
    const rpc::NodeInfo* record = gcs_->nodes->Find(node->info.node_id());
    const bool dead = record != nullptr && record->state() == rpc::DEAD;
    // Lost messages are a fault too (their deaths are judged probe by probe in CheckDeathIsDeserved).
    // A node that stopped itself (no majority heard the GCS while it was down) is DEAD by its own doing.
    if (!node->faulted && !node->fenced && !network_.LostMessagesOf(node->process.name()) && dead) {
      sim_.Violation("node " + node->info.node_id() + " that never failed was declared " +
                     gcs::DeathReasonName(record->death_reason()));
    }
    if (node->crashed_at_ms >= 0 && record != nullptr && !dead) {
      sim_.Violation("crashed node " + node->info.node_id() + " is not DEAD at the end");
    }
    // An agent learns of its death from its next poll answer: within one poll round (wait plus margin),
    // plus a retry if that answer was lost.
    const int64_t learn_bound_ms = settings_.pubsub_poll_wait_ms + 2000 + settings_.gcs_retry_max_ms + 1000;
    const int64_t died_at_ms = dead ? record->death_time_ms() - (gcs_process_.WallMs() - sim_.now_ms()) : 0;
    if (dead && !node->exited && node->crashed_at_ms < 0 && sim_.now_ms() - died_at_ms > learn_bound_ms) {
      sim_.Violation("node " + node->info.node_id() + " is DEAD but its agent still runs (zombie)");
    }
    if (!node->exited && node->crashed_at_ms < 0 && record == nullptr) {
      sim_.Violation("running node " + node->info.node_id() + " is not registered at the end");
    }
  }
}

void SimCluster::Run() {
  BootGcs();
  const int initial = static_cast<int>(sim_.Uniform(scenario_.min_nodes, scenario_.max_nodes));
  for (int i = 0; i < initial; ++i) sim_.At(sim_.Uniform(0, 2000), [this] { AddNode(); });
  observer_process_.Post([this] { ObserverPoll(); });
  sim_.At(2500, [this] { ScheduleNextFault(); });
  sim_.RunUntil(scenario_.duration_ms);
  // Settle: no new faults; heal links, resume paused processes, bring the GCS back if it is down.
  faults_on_ = false;
  network_.HealAll();
  storage_process_.Resume();
  for (auto& [name, node] : nodes_) {
    if (node->paused_at_ms >= 0) {
      node->paused_at_ms = -1;
      node->process.Resume();
    }
  }
  if (!gcs_) BootGcs();
  sim_.Trace("settling");
  sim_.RunUntil(scenario_.duration_ms + scenario_.settle_ms);
  CheckFinalState();
}

}  // namespace halo::sim
