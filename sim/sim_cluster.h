// A whole control plane in one thread: the real GCS managers (cluster identity, nodes, health checks, node
// events) in a simulated GCS process over simulated durable storage, and real NodeAgents in simulated node
// processes, connected by a SimNetwork. A scenario driven by the seed injects faults: node crashes and
// pauses, one-way link cuts, storage stalls, GCS crashes and restarts, drains and graceful stops. Invariants
// are checked as it runs (see sim_cluster.cc, CheckX methods).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/settings.h"
#include "gcs/cluster_manager.h"
#include "gcs/health_check_manager.h"
#include "gcs/node_event_publisher.h"
#include "gcs/node_manager.h"
#include "node/node_agent.h"
#include "node/node_lease_keeper.h"
#include "sim/sim_network.h"
#include "sim/simulation.h"
#include "storage/memory_store.h"

namespace halo::sim {

struct ScenarioSettings {
  int64_t duration_ms = 30000;      // faults are injected during this time
  int64_t settle_ms = 30000;        // then everything heals and the cluster settles
  int min_nodes = 3;
  int max_nodes = 8;
  int64_t mean_fault_gap_ms = 1500;
  double loss_probability = 0.002;  // of every message
  // Node leases (gcs/node_lease_table.h): the GCS's NodeManager with its lease policy and a NodeLeaseKeeper
  // in every node agent, vouching over the simulated network. Checked: no node is declared dead (without
  // having stopped itself) while its lease may still let it serve.
  bool leases = false;
  // With leases, a mutation that must produce violations: every node vouches for every peer that asks,
  // whether or not it hears grants itself.
  bool mutate_vouch_always = false;
};

class SimCluster {
 public:
  SimCluster(Simulation& sim, Settings settings, ScenarioSettings scenario);
  ~SimCluster();

  // Runs the scenario to the end; violations are recorded in the Simulation.
  void Run();

  // Summary counters, for the report.
  struct Stats {
    int nodes = 0;
    int faults = 0;
    int gcs_restarts = 0;
    int deaths_detected = 0;
    int self_fenced = 0;  // node agents that stopped themselves when their lease lapsed
  };
  const Stats& stats() const { return stats_; }

 private:
  class Store;
  class Prober;
  class Listener;
  class GcsClientForNode;
  class VouchPeers;
  class LeaseListener;
  class GoneProver;
  struct Node;
  struct Gcs;

  // GCS lifecycle.
  void BootGcs();
  void CrashGcs();
  void OnGcsRecovered();
  bool GcsServing() const;
  SimProcess& gcs_process();

  // Nodes.
  void AddNode();
  void StartAgent(Node& node);
  Node* PickNode(bool running_only);

  // Faults.
  void ScheduleNextFault();
  void InjectFault();

  // Observer subscriber and invariants.
  void ObserverPoll();
  void CheckEventOrder(const rpc::NodeEvent& event);
  void CheckTableAfterRecovery();
  void CheckDeathIsDeserved(const std::string& node_id);
  // With leases: a node the GCS published DEAD must not be able to serve any more.
  void CheckDeadNodeCannotServe(const rpc::NodeInfo& record);
  void ScheduleDetectionCheck(const std::string& node_id, int64_t from_ms);
  void CheckFinalState();
  int64_t DetectionBoundMs() const;

  Simulation& sim_;
  Settings settings_;
  ScenarioSettings scenario_;
  SimNetwork network_;
  SimProcess storage_process_;
  MemoryStore durable_;  // lives in the storage process: survives GCS crashes
  SimProcess observer_process_;
  SimProcess gcs_process_;  // outlives each GCS incarnation; crashing it drops that incarnation's work
  std::unique_ptr<Gcs> gcs_;
  std::map<std::string, std::unique_ptr<Node>> nodes_;  // by process name "node-<n>"
  int next_node_ = 0;
  Stats stats_;
  bool faults_on_ = true;

  // What the observer saw: last sequence and incarnation, and per node the last event state.
  std::string observer_incarnation_;
  uint64_t observer_after_ = 0;
  std::map<std::string, rpc::NodeInfo> observed_;   // node id -> last observed record
  std::map<std::string, std::vector<bool>> probes_;  // node id -> outcome of every probe (true: answered)
  int64_t gcs_serving_since_ms_ = -1;                 // -1 while down or recovering
};

}  // namespace halo::sim
