// The GCS's managers, wired together: cluster identity, KV, jobs, nodes with their leases, node events,
// health checks, driver monitoring, actors, the executable store, services and the cluster event log. Recover() loads every table from the store and initialises
// and starts the managers in the one order that is correct (jobs before actors, actors before nodes report
// changes, nodes started before actors are resumed), on the executor. The same unit runs in halo-gcs
// (gcs/gcs_server.h, over gRPC peers and a real store) and in the simulator (sim/sim_cluster.h, over
// simulated peers and storage): there is no second copy of this wiring.
// Everything the managers touch outside themselves (store, executor, clock, randomness, probes, the proof
// that a node is gone, the calls to node agents and actor workers) is handed in.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/executor.h"
#include "common/random.h"
#include "common/settings.h"
#include "common/status.h"
#include "gcs/actor_manager.h"
#include "gcs/actor_peers.h"
#include "gcs/cluster_manager.h"
#include "gcs/driver_monitor.h"
#include "gcs/event_log.h"
#include "gcs/executable_manager.h"
#include "health/health_check_manager.h"
#include "gcs/job_manager.h"
#include "gcs/kv_manager.h"
#include "gcs/node_event_publisher.h"
#include "gcs/node_manager.h"
#include "gcs/replica_prober.h"
#include "gcs/service_manager.h"
#include "storage/store_client.h"

namespace halo::gcs {

struct GcsAssemblyDeps {
  StoreClient* store = nullptr;
  Executor* executor = nullptr;
  Clock* clock = nullptr;
  RandomSource* random = nullptr;
  health::HealthProber* prober = nullptr;       // node and owner probes
  GoneProver* gone_prover = nullptr;    // proof that a node agent is gone; null: wait for its lease
  ActorPeers* actor_peers = nullptr;    // node agents' worker leases, actor workers
  ReplicaProber* replica_prober = nullptr;  // service replicas' health checks; null: none (the simulator)
  // Node leases on (production). Off only in the simulator's scenario of the older model, where a node is
  // declared dead as soon as its health checks fail.
  bool node_leases = true;
  // Node leases are granted only while this holds (a head candidate: while it certainly leads).
  std::function<bool()> may_grant_leases;
  // A table could not be written: the owner must stop serving (a restart reloads what is durable). The status
  // keeps the store's code (UNAVAILABLE: storage out of reach).
  std::function<void(Status)> on_storage_failure;
  // Hears of every health-check verdict on a node before the node manager acts on it (the simulator checks
  // that each one is deserved). Optional.
  std::function<void(const std::string& node_id)> on_node_failed;
  // Hears of every cluster event recorded (metrics). Optional.
  std::function<void(const rpc::ClusterEvent& event)> on_event;
  // Hears of every durable node record after the actor manager did. Optional.
  std::function<void(const rpc::NodeInfo& node)> on_node_changed;
};

class GcsAssembly {
 public:
  GcsAssembly(Settings settings, GcsAssemblyDeps deps);
  ~GcsAssembly();

  // On the executor: loads every table, initialises and starts every manager, then done(Ok) (or the first
  // error, naming the table or manager). Call once.
  void Recover(std::function<void(Status)> done);
  bool recovered() const { return recovered_; }

  // Answers every held call (node event polls, actor waits) now and later ones at once: the GCS is stopping.
  void ReleaseHeldCalls();

  // Valid once recovered (cluster, kv and jobs from the start of Recover).
  ClusterManager& cluster() { return *cluster_; }
  KvManager& kv() { return *kv_; }
  JobManager& jobs() { return *jobs_; }
  NodeManager& nodes() { return *nodes_; }
  NodeEventPublisher& publisher() { return *publisher_; }
  health::HealthCheckManager& health() { return *health_; }
  ActorManager& actors() { return *actors_; }
  ExecutableManager& executables() { return *executables_; }
  ServiceManager& services() { return *services_; }
  EventLog& events() { return *events_; }
  const ClusterManager& cluster() const { return *cluster_; }
  const NodeManager& nodes() const { return *nodes_; }
  const ActorManager& actors() const { return *actors_; }

 private:
  class HealthToNodes;
  Status InitializeManagers(std::map<std::string, KeyValueMap>& tables);

  const Settings settings_;
  const GcsAssemblyDeps deps_;
  bool recovered_ = false;
  std::unique_ptr<ClusterManager> cluster_;
  std::unique_ptr<KvManager> kv_;
  std::unique_ptr<JobManager> jobs_;
  std::unique_ptr<NodeManager> nodes_;
  std::unique_ptr<NodeEventPublisher> publisher_;
  std::unique_ptr<HealthToNodes> health_to_nodes_;
  std::unique_ptr<health::HealthCheckManager> health_;
  std::unique_ptr<DriverMonitor> drivers_;
  std::unique_ptr<ActorManager> actors_;
  std::unique_ptr<ExecutableManager> executables_;
  std::unique_ptr<ServiceManager> services_;
  std::unique_ptr<EventLog> events_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // storage answers after destruction are dropped
};

}  // namespace halo::gcs
