// Services in the GCS: the SERVICES table (each deployed service's config, version, executable and the
// replicas made for it), the reconciler that keeps every deployment at its target (serve/deployment_reconciler.h),
// the replicas' health checks, and the routes every node's ingress follows.
// - Replicas are detached actors of the actor manager, so they are placed, watched and restarted like any
//   actor; their workers run the service's executable from the executable store (no driver serves it).
// - A replica is written to the service's row before its actor is registered, so a GCS that dies in between
//   leaves no replica nobody knows; rows are rewritten when the set of replicas changes.
// - After a restart or failover the rows are reloaded and the replicas handed back to the reconciler: live
//   replicas keep serving and are not restarted.
// - Routes carry a version; GetRoutes is held until the routes differ from the caller's or wait_ms passes.
// Event-driven on the GCS executor; storage, time, randomness, the actor directory and the prober are handed in.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/executor.h"
#include "common/random.h"
#include "gcs/event_log.h"
#include "gcs/actor_manager.h"
#include "gcs/executable_manager.h"
#include "gcs/job_manager.h"
#include "gcs/node_manager.h"
#include "gcs/replica_prober.h"
#include "proto/serve.pb.h"
#include "serve/deployment_reconciler.h"
#include "storage/store_client.h"

namespace halo::gcs {

struct ServiceManagerSettings {
  serve::ReconcilerSettings reconciler;
  int64_t routes_wait_max_ms = 10000;     // a GetRoutes poll is held at most this long
  int64_t route_waiters_max = 10000;      // polls held at once; more are answered at once
  int64_t health_failure_threshold = 3;   // failed health checks in a row that make a replica unhealthy
  int64_t ongoing_report_stale_ms = 5000; // an ingress's load report older than this no longer counts
};

struct ServiceManagerDeps {
  StoreClient* store = nullptr;
  Executor* executor = nullptr;
  Clock* clock = nullptr;
  RandomSource* random = nullptr;
  ActorManager* actors = nullptr;
  JobManager* jobs = nullptr;
  NodeManager* nodes = nullptr;
  ExecutableManager* executables = nullptr;
  ReplicaProber* prober = nullptr;  // null: replicas are not health-checked (the simulator)
};

class ServiceManager : public serve::ReplicaDirectory {
 public:
  ServiceManager(ServiceManagerDeps deps, ServiceManagerSettings settings);
  ~ServiceManager() override;

  // rows: the loaded SERVICES table.
  Status Initialize(const KeyValueMap& rows);
  // After the actor directory started: hands the stored replicas back and starts reconciling.
  void Start();
  // Called when a service row cannot be written (the owner must stop serving; a restart reloads).
  void SetStorageFailureHandler(std::function<void(Status)> handler) { on_storage_failure_ = std::move(handler); }
  // Replicas replaced (died, or failed their health checks) are recorded here.
  void SetEventLog(EventLog* events);

  // Deploys a new service or a new version of one (a changed config or executable rolls its replicas over
  // one at a time); the same config and executable again changes nothing. InvalidArgument (nothing changed)
  // when a route prefix belongs to another service, the executable is not in the store, or a deployment
  // lacks what deploy fills in. Yields the version.
  void HandleDeploy(rpc::DeployServiceRequest request, std::function<void(StatusOr<int64_t>)> done);
  // Stops every replica and forgets the service. NotFound when there is none by that name.
  void HandleDelete(const std::string& name, std::function<void(Status)> done);
  // name "": every service. NotFound for a name that is not deployed.
  StatusOr<rpc::GetServiceStatusReply> ServiceStatus(const std::string& name) const;
  void HandleGetRoutes(const rpc::GetRoutesRequest& request, std::function<void(StatusOr<rpc::GetRoutesReply>)> done);
  void HandleReportOngoing(const rpc::ReportOngoingRequest& request);
  // From the actor directory: a replica's state changed (its routes may have).
  void OnActorChanged(const rpc::ActorInfo& actor);
  // Answers every held GetRoutes now, and later ones at once (the GCS is stopping).
  void ReleaseWaiters();

  // ReplicaDirectory, for the reconciler.
  void Create(const std::string& service, const rpc::DeploymentConfig& deployment, int64_t version,
              const std::set<std::string>& avoid_nodes, std::function<void(StatusOr<std::string>)> done) override;
  void Stop(const std::string& actor_id) override;
  std::optional<serve::ReplicaView> Describe(const std::string& actor_id) const override;

  size_t size() const { return services_.size(); }
  uint64_t routes_version() const { return routes_version_; }
  const std::string& incarnation() const { return incarnation_; }

 private:
  struct Service {
    rpc::ServiceRecord record;
    std::set<std::string> creating;  // replicas written to the row whose actors are being registered
    std::string written;             // the row as last stored
  };
  struct Health {
    int32_t instance = -1;
    int64_t failures = 0;
    bool probing = false;
    int64_t next_probe_ms = 0;
  };
  struct RouteWaiter {
    TimerId timer = 0;
    std::function<void(StatusOr<rpc::GetRoutesReply>)> done;
  };
  struct LoadReport {
    int64_t received_ms = 0;
    std::map<std::string, int64_t> ongoing;
  };

  // The service's row as it should be now (config, replicas the reconciler keeps, those being created).
  rpc::ServiceRecord CurrentRecord(const Service& service) const;
  // Stores the row if it changed; then(status) after it is durable (at once when nothing changed).
  void Persist(const std::string& name, std::function<void(Status)> then = nullptr);
  void Tick();
  // Marks finished each retiring job of the service that no replica runs any longer.
  void FinishRetiredJobs(const std::string& name, Service& service);
  void ProbeDue(int64_t now_ms);
  void RefreshRoutes();
  rpc::GetRoutesReply Routes() const;
  void AnswerWaiters();
  void FinishDeploy(rpc::DeployServiceRequest request, uint32_t job_id, std::function<void(StatusOr<int64_t>)> done);
  const rpc::DeploymentConfig* FindDeployment(const std::string& service, const std::string& deployment) const;
  void FeedOngoing(int64_t now_ms);
  // Rebuilds replica_service_ from the rows; health state of replicas no longer listed is dropped.
  void IndexReplicas();

  ServiceManagerDeps deps_;
  ServiceManagerSettings settings_;
  std::string incarnation_;
  std::unique_ptr<serve::DeploymentReconciler> reconciler_;
  std::map<std::string, Service> services_;
  struct ReplicaOf {
    std::string service;
    std::string deployment;
  };
  std::map<std::string, ReplicaOf> replica_service_;    // by actor id: the service and deployment it serves
  std::map<std::string, Health> health_;                // by actor id
  std::map<std::string, LoadReport> loads_;             // by node id
  rpc::GetRoutesReply routes_;
  uint64_t routes_version_ = 1;
  bool routes_refresh_posted_ = false;
  std::map<uint64_t, RouteWaiter> waiters_;
  uint64_t next_waiter_ = 1;
  bool waiters_released_ = false;
  bool started_ = false;
  std::function<void(Status)> on_storage_failure_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace halo::gcs
