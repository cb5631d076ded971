// The parts of a SimCluster shared by its source files (sim_cluster.cc: the GCS and nodes; sim_faults.cc;
// sim_node_checks.cc: the observer and node invariants; sim_actors.cc: workers, actors and their
// invariants). Not for use outside the simulator.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "gcs/actor_peers.h"
#include "gcs/gcs_assembly.h"
#include "rpc/gcs_node_client.h"
#include "node/lease_manager.h"
#include "node/node_agent.h"
#include "node/node_lease_chain.h"
#include "node/worker_launcher.h"
#include "sim/sim_cluster.h"
#include "storage/store_client.h"

namespace halo::sim {

// Calls a simulated process holds open: when it dies while its host runs, the host's kernel resets their
// connections, so each one's caller hears at once.
class HeldCalls {
 public:
  // reset answers the call with a connection reset; returns an id for Release.
  uint64_t Hold(std::function<void()> reset) {
    resets_[next_] = std::move(reset);
    return next_++;
  }
  void Release(uint64_t id) { resets_.erase(id); }
  // The process died: host_up, every held call is reset; otherwise they are forgotten (nobody answers).
  void ProcessDied(bool host_up) {
    auto resets = std::move(resets_);
    resets_.clear();
    if (!host_up) return;
    for (auto& [id, reset] : resets) reset();
  }

 private:
  std::map<uint64_t, std::function<void()>> resets_;
  uint64_t next_ = 1;
};

struct SimCluster::Node {
  Node(Simulation& sim, std::string name) : process(sim, name, name) {}
  SimProcess process;  // the node agent; its name is the node's address and its host's name
  rpc::NodeInfo info;
  std::unique_ptr<GcsNodeClient> client;
  std::unique_ptr<node::NodeAgent> agent;
  std::unique_ptr<node::WorkerLauncher> launcher;
  std::unique_ptr<node::ExecutableStore> executables;
  std::unique_ptr<node::LeaseManager> leases;
  std::unique_ptr<node::VouchPeers> peers;       // with leases
  std::unique_ptr<node::NodeLeaseChain> chain;   // with leases
  // The workers' lease deadline on this host's clock: shared memory (the lease file) that outlives the agent.
  int64_t workers_deadline_ms = std::numeric_limits<int64_t>::max();
  int next_worker = 0;
  HeldCalls held;  // worker-lease requests
  bool fenced = false;       // it stopped itself: its lease lapsed or the GCS refused it
  bool unregistering = false;  // it asked to leave (a graceful stop or a drained node leaving when idle)
  bool registered = false;   // its registration was acknowledged
  bool exited = false;       // the agent decided to exit
  bool faulted = false;      // crashed, paused, cut off, drained or stopped at some point
  int64_t crashed_at_ms = -1;
  int64_t paused_at_ms = -1;  // -1 unless paused now
};

// A simulated worker process on a node's host: it hosts at most one actor instance at a time.
struct SimCluster::Worker {
  Worker(Simulation& sim, const std::string& name, Node& on) : process(sim, name, on.process.host()), node(on) {
    process.SetClock(on.process.clock_rate(), on.process.clock_origin_ms());
  }
  SimProcess process;  // its name is its address
  Node& node;
  std::string worker_id;
  int pid = 0;
  std::string actor_id;  // hosted instance, from the moment its constructor starts
  int32_t instance = -1;
  HeldCalls held;  // constructors and watches in progress
};

struct SimCluster::Gcs {
  std::unique_ptr<StoreClient> store;
  std::unique_ptr<health::HealthProber> prober;
  std::unique_ptr<gcs::GoneProver> gone;
  std::unique_ptr<gcs::ActorPeers> actor_peers;
  std::unique_ptr<gcs::GcsAssembly> managers;
  bool serving = false;
};

}  // namespace halo::sim
