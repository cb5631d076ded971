#include "gcs/gcs_assembly.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "gcs/table_names.h"

namespace halo::gcs {

// Health-check verdicts go to the node manager, shown first to an optional observer.
class GcsAssembly::HealthToNodes : public health::HealthCheckListener {
 public:
  HealthToNodes(NodeManager& nodes, std::function<void(const std::string&)> observer)
      : nodes_(nodes), observer_(std::move(observer)) {}
  void OnNodeSuspected(const std::string& id) override { nodes_.OnNodeSuspected(id); }
  void OnNodeRecovered(const std::string& id) override { nodes_.OnNodeRecovered(id); }
  void OnNodeFailed(const std::string& id) override {
    if (observer_) observer_(id);
    nodes_.OnNodeFailed(id);
  }

 private:
  NodeManager& nodes_;
  std::function<void(const std::string&)> observer_;
};

GcsAssembly::GcsAssembly(Settings settings, GcsAssemblyDeps deps)
    : settings_(std::move(settings)), deps_(std::move(deps)) {
  HALO_CHECK(deps_.store && deps_.executor && deps_.clock && deps_.random && deps_.prober && deps_.actor_peers)
      << "the GCS assembly needs every dependency";
}

GcsAssembly::~GcsAssembly() { *alive_ = false; }

void GcsAssembly::Recover(std::function<void(Status)> done) {
  StoreClient& store = *deps_.store;
  cluster_ = std::make_unique<ClusterManager>(store, *deps_.clock, *deps_.random);
  kv_ = std::make_unique<KvManager>(store, KvLimits{settings_.kv_value_max_bytes, settings_.kv_list_max_keys});
  jobs_ = std::make_unique<JobManager>(store, *deps_.clock);
  events_ = std::make_unique<EventLog>(
      store, *deps_.executor, *deps_.clock, "",
      EventLogSettings{settings_.cluster_events_max, settings_.cluster_events_list_max,
                       settings_.pubsub_subscribers_max, settings_.pubsub_poll_wait_ms},
      deps_.random->HexId(8));
  events_->SetObserver(deps_.on_event);

  struct Loading {
    std::map<std::string, KeyValueMap> tables;
    size_t remaining = 0;
    bool failed = false;
    std::function<void(Status)> done;
  };
  auto loading = std::make_shared<Loading>();
  loading->remaining = AllTables().size();
  loading->done = std::move(done);
  for (const auto& table : AllTables()) {
    store.AsyncGetAll(table, [this, alive = alive_, table, loading](StatusOr<KeyValueMap> rows) {
      if (!*alive || loading->failed) return;
      if (!rows.ok()) {
        loading->failed = true;
        return loading->done(
            Status(rows.status().code(), absl::StrCat("loading table ", table, ": ", rows.status().message())));
      }
      loading->tables[table] = std::move(*rows);
      if (--loading->remaining > 0) return;
      cluster_->Initialize(loading->tables[kMetaTable], [this, alive, loading](Status status) {
        if (!*alive) return;
        if (status.ok()) status = InitializeManagers(loading->tables);
        recovered_ = status.ok();
        loading->done(status);
      });
    });
  }
}

Status GcsAssembly::InitializeManagers(std::map<std::string, KeyValueMap>& tables) {
  Executor& executor = *deps_.executor;
  kv_->Initialize(std::move(tables[kKvTable]));
  HALO_RETURN_IF_ERROR(events_->Initialize(tables[kEventTable]));
  jobs_->SetEventLog(events_.get());
  HALO_RETURN_IF_ERROR(jobs_->Initialize(tables[kMetaTable], tables[kJobTable]));

  nodes_ = std::make_unique<NodeManager>(*deps_.store, executor, *deps_.clock, cluster_->cluster_id(),
                                         settings_.dead_nodes_max);
  publisher_ = std::make_unique<NodeEventPublisher>(
      executor, deps_.random->HexId(8), cluster_->cluster_id(),
      PublisherSettings{settings_.pubsub_buffer_events_max, settings_.pubsub_subscribers_max,
                        settings_.pubsub_poll_wait_ms});
  health_to_nodes_ = std::make_unique<HealthToNodes>(*nodes_, deps_.on_node_failed);
  health_ = std::make_unique<health::HealthCheckManager>(
      executor, *deps_.prober, *health_to_nodes_,
      health::HealthCheckSettings{settings_.health_check_initial_delay_ms, settings_.health_check_period_ms,
                          settings_.health_check_timeout_ms, settings_.health_check_failure_threshold});
  nodes_->SetCollaborators(health_.get(), publisher_.get());
  nodes_->SetEventLog(events_.get());
  if (deps_.node_leases) {
    NodeLeaseSettings leases{settings_.node_lease_ms, settings_.node_lease_renew_interval_ms,
                             settings_.node_vouch_after_ms, settings_.worker_lease_ms};
    leases.vouch_limit_ms = settings_.gcs_reconnect_timeout_ms;
    nodes_->SetLeasePolicy(leases, deps_.gone_prover);
  }
  if (deps_.may_grant_leases) nodes_->SetGrantGuard(deps_.may_grant_leases);
  auto on_storage_failure = deps_.on_storage_failure;
  nodes_->SetStorageFailureHandler([on_storage_failure](Status status) {
    if (on_storage_failure) on_storage_failure(Status(status.code(), absl::StrCat("cannot store the node table: ", status.message())));
  });

  const health::HealthCheckSettings owner_checks{settings_.health_check_initial_delay_ms, settings_.health_check_period_ms,
                                         settings_.health_check_timeout_ms, settings_.driver_failure_threshold};
  drivers_ = std::make_unique<DriverMonitor>(executor, *deps_.prober, *jobs_, owner_checks);
  ActorManagerSettings actor_settings;
  actor_settings.watch_wait_ms = settings_.pubsub_poll_wait_ms;
  actor_settings.retry_initial_ms = settings_.gcs_retry_initial_ms;
  actor_settings.retry_max_ms = settings_.gcs_retry_max_ms;
  actor_settings.dead_actors_max = settings_.dead_actors_max;
  actor_settings.restart_delay_initial_ms = settings_.actor_restart_delay_initial_ms;
  actor_settings.restart_delay_max_ms = settings_.actor_restart_delay_max_ms;
  actor_settings.restart_stable_ms = settings_.actor_restart_stable_ms;
  actor_settings.waiters_max = settings_.pubsub_subscribers_max;
  actor_settings.owner_checks = owner_checks;
  actors_ = std::make_unique<ActorManager>(*deps_.store, executor, *deps_.clock, *deps_.actor_peers, *deps_.prober,
                                           actor_settings);
  actors_->SetEventLog(events_.get());
  actors_->SetStorageFailureHandler([on_storage_failure](Status status) {
    if (on_storage_failure) {
      on_storage_failure(Status(status.code(), absl::StrCat("cannot store the actor table: ", status.message())));
    }
  });
  HALO_RETURN_IF_ERROR(actors_->Initialize(tables[kActorTable]));
  executables_ = std::make_unique<ExecutableManager>(
      *deps_.store, ExecutableLimits{settings_.executable_chunk_bytes, settings_.executable_max_bytes});
  ServiceManagerSettings service_settings;
  service_settings.reconciler = serve::ReconcilerSettings{
      settings_.serve_reconcile_interval_ms, settings_.serve_downscale_delay_ms, settings_.serve_starts_per_round_max};
  service_settings.routes_wait_max_ms = settings_.serve_routes_wait_ms;
  service_settings.route_waiters_max = settings_.pubsub_subscribers_max;
  service_settings.health_failure_threshold = settings_.serve_health_failure_threshold;
  service_settings.ongoing_report_stale_ms = 5 * settings_.serve_ongoing_report_interval_ms;
  ServiceManagerDeps service_deps{deps_.store, &executor, deps_.clock, deps_.random, actors_.get(), jobs_.get(),
                                  nodes_.get(), executables_.get(), deps_.replica_prober};
  services_ = std::make_unique<ServiceManager>(service_deps, service_settings);
  HALO_RETURN_IF_ERROR(services_->Initialize(tables[kServiceTable]));
  services_->SetEventLog(events_.get());
  services_->SetStorageFailureHandler([on_storage_failure](Status status) {
    if (on_storage_failure) {
      on_storage_failure(Status(status.code(), absl::StrCat("cannot store the service table: ", status.message())));
    }
  });
  actors_->SetChangeListener([this](const rpc::ActorInfo& actor) { services_->OnActorChanged(actor); });
  jobs_->SetListener([this](const rpc::JobInfo& job) {
    drivers_->OnJobChanged(job);
    actors_->OnJobChanged(job);
  });
  jobs_->AnnounceLoaded();
  HALO_RETURN_IF_ERROR(nodes_->Initialize(tables[kNodeTable]));
  nodes_->SetChangeListener([this](const rpc::NodeInfo& node) {
    actors_->OnNodeChanged(node);
    if (deps_.on_node_changed) deps_.on_node_changed(node);
  });
  // Every node not known dead is health-checked again: one that died while the GCS was down is found.
  nodes_->Start();
  // Live actors are watched again (not restarted); creations under way start over.
  actors_->Start(nodes_->AllNodes());
  // Services last: their replicas are actors, handed back to the reconciler as the directory knows them.
  services_->Start();
  return OkStatus();
}

void GcsAssembly::ReleaseHeldCalls() {
  if (publisher_) publisher_->ReleaseAll();
  if (actors_) actors_->ReleaseWaiters();
  if (services_) services_->ReleaseWaiters();
  if (events_) events_->ReleaseWaiters();
}

}  // namespace halo::gcs
