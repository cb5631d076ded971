// A whole control plane in one thread: the production GCS assembly (gcs/gcs_assembly.h: every manager, the
// actor manager among them) in a simulated head process over simulated durable storage, and real NodeAgents,
// lease managers and lease chains (node/node_lease_chain.h) on simulated node hosts whose simulated workers
// host actor instances, connected by a SimNetwork; every host's clock runs at its own rate. A scenario driven
// by the seed injects faults: node agent or whole-host crashes and pauses, one-way link cuts and partitions,
// worker kills, storage stalls, GCS crashes with a restart in place or a failover to the other head host,
// drains and graceful stops. Invariants are checked as they run (CheckX methods: sim_node_checks.cc and
// sim_actors.cc); the faults are in sim_faults.cc.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/settings.h"
#include "gcs/actor_peers.h"
#include "node/worker_launcher.h"
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
  // With leases: detached actors (restarts unlimited) on the nodes, called by a driver. Checked: at most one
  // instance of an actor can run calls at any instant; every actor is ALIVE again within the bound the
  // settings imply once the faults stop.
  bool actors = false;
  // Hosts' clocks run at rates 1 +- clock_skew (and every one from its own origin).
  double clock_skew = 0.0;
  // The only faults are GCS crashes (restart or failover) and storage stalls, and no message is lost:
  // checked that no actor stops serving, no node fences itself and no actor restarts.
  bool gcs_outages_only = false;
  // A mutation that must produce violations with clock skew: node leases keep no clock margin.
  bool mutate_no_clock_margin = false;
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
    int failovers = 0;    // GCS restarts on the other head host
    int actor_restarts = 0;
    int actor_calls = 0;  // answered
  };
  const Stats& stats() const { return stats_; }

 private:
  class Store;
  class Prober;
  class GcsClientForNode;
  class VouchPeers;
  class GoneProver;
  class ActorPeers;
  class Launcher;
  class Executables;
  struct Node;
  struct Worker;
  struct Gcs;

  // Gives a process its host's clock: rate 1 +- clock_skew, its own origin.
  void SkewClock(SimProcess& process);
  // The calls of the GCS to node agents and workers, and the nodes' worker launching (sim_actors.cc).
  std::unique_ptr<gcs::ActorPeers> MakeActorPeers(SimProcess& head);
  std::unique_ptr<node::WorkerLauncher> MakeLauncher(Node& node);
  std::unique_ptr<node::ExecutableStore> MakeExecutables(Node& node);
  // The GCS process died: every worker-lease request it held is withdrawn (its nodes see the connection close).
  void CancelLeaseRequests(uint64_t head_epoch, SimProcess& head);

  // GCS lifecycle.
  void BootGcs();
  void CrashGcs();
  void OnGcsRecovered();
  bool GcsServing() const;
  SimProcess& gcs_process();

  // Nodes.
  void AddNode();
  void StartAgent(Node& node);
  void AgentExits(Node& node, const std::string& why);
  // The agent's process is gone while its host runs: the calls it held fail at once (connection reset).
  void ResetHeldCalls(Node& node);
  Node* PickNode(bool running_only);
  Node* NodeAt(const std::string& address);
  void CrashHost(Node& node);
  void PauseHost(Node& node, int64_t length_ms);

  // Workers and actors (sim_actors.cc).
  Worker& StartWorker(Node& node, const std::string& worker_id);
  Worker* WorkerAt(const std::string& address);
  void ExitWorker(Worker& worker, const std::string& why);
  // The worker's lease from its node (read from the host's shared deadline, as the lease file is).
  bool LeaseHolds(const Worker& worker) const;
  // Hosts an instance and may run calls now.
  bool CanServe(const Worker& worker) const;
  void WorkerWatchdog(Worker& worker);
  void HandleCreateActor(Worker& worker, const rpc::CreateActorRequest& request,
                         std::function<void(StatusOr<rpc::CreateActorReply>)> reply);
  void HandleWatchActor(Worker& worker, const rpc::WatchActorRequest& request,
                        std::function<void(StatusOr<rpc::WatchActorReply>)> reply);
  void HandleActorCall(Worker& worker, const std::string& actor_id, int32_t instance,
                       std::function<void(StatusOr<int32_t>)> reply);
  void RegisterActors();
  void DriverRefresh();
  void DriverCalls();
  void KillRandomWorker();
  // At most one instance of worker's actor can run calls (worker's among them).
  void CheckSingleInstance(const Worker& worker);
  void CheckActorsAlive(const std::string& when);
  int64_t ActorRecoveryBoundMs() const;

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
  SimProcess driver_process_;
  // The two head hosts; each outlives the GCS incarnations it runs; crashing one drops that incarnation's work.
  std::unique_ptr<SimProcess> heads_[2];
  int head_ = 0;  // where the GCS runs (or last ran)
  std::unique_ptr<Gcs> gcs_;
  std::map<std::string, std::unique_ptr<Node>> nodes_;  // by address (= agent process name "node-<n>")
  std::map<std::string, std::unique_ptr<Worker>> workers_;  // by address ("node-<n>/w<k>")
  int next_node_ = 0;
  int next_pid_ = 100;
  // Actors: id -> the instance the driver last read as ALIVE (address, instance).
  std::vector<std::string> actor_ids_;
  std::map<std::string, std::pair<std::string, int32_t>> driver_view_;
  // Worker-lease requests the GCS holds at nodes: (head epoch, node address, request id).
  struct HeldLeaseRequest {
    uint64_t head_epoch = 0;
    std::string node_address;
    uint64_t request_id = 0;
    bool answered = false;
    bool withdrawn = false;
  };
  std::map<uint64_t, HeldLeaseRequest> lease_requests_;
  uint64_t next_lease_request_ = 1;
  bool all_alive_once_ = false;  // every actor was ALIVE at least once (the driver's checks start then)
  int64_t settle_start_ms_ = -1;
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
