#include "gcs/gcs_metrics.h"

#include "rpc/state_names.h"

#include "prometheus/metric_family.h"
#include "storage/redis_admin.h"

namespace halo::gcs {

namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily One(const std::string& name, const std::string& help, MetricType type, double value) {
  MetricFamily family{name, help, type, {}};
  family.metric.push_back(metrics::Sample(value, type));
  return family;
}

MetricFamily ByLabel(const std::string& name, const std::string& help, const std::string& label,
                     const std::map<std::string, int64_t>& values) {
  MetricFamily family{name, help, MetricType::Gauge, {}};
  for (const auto& [key, value] : values) {
    family.metric.push_back(metrics::Sample(static_cast<double>(value), MetricType::Gauge, {{label, key}}));
  }
  return family;
}

class CountingProber : public health::HealthProber {
 public:
  CountingProber(health::HealthProber& inner, prometheus::Counter& sent, prometheus::Counter& failed)
      : inner_(inner), sent_(sent), failed_(failed) {}
  void Probe(const std::string& node_id, const std::string& address, int64_t timeout_ms,
             std::function<void(bool healthy)> done) override {
    sent_.Increment();
    inner_.Probe(node_id, address, timeout_ms, [this, done = std::move(done)](bool healthy) {
      if (!healthy) failed_.Increment();
      done(healthy);
    });
  }
  void Forget(const std::string& node_id) override { inner_.Forget(node_id); }

 private:
  health::HealthProber& inner_;
  prometheus::Counter& sent_;
  prometheus::Counter& failed_;
};

}  // namespace

class GcsMetrics::SnapshotCollector : public prometheus::Collectable {
 public:
  explicit SnapshotCollector(std::function<std::optional<Snapshot>()> snapshot) : snapshot_(std::move(snapshot)) {}
  std::vector<MetricFamily> Collect() const override {
    std::optional<Snapshot> now = snapshot_();
    if (!now) return {};
    std::vector<MetricFamily> out;
    out.push_back(One("halo_gcs_leader", "1 while this GCS process leads (head_mode single: once it serves).",
                      MetricType::Gauge, now->leader ? 1 : 0));
    out.push_back(One("halo_gcs_epoch", "The leader epoch this GCS process knows (0 without head candidates).",
                      MetricType::Gauge, static_cast<double>(now->epoch)));
    out.push_back(One("halo_gcs_serving", "1 once this GCS process has loaded every table and serves calls.",
                      MetricType::Gauge, now->serving ? 1 : 0));
    out.push_back(One("halo_gcs_recovery_seconds",
                      "How long this GCS took from opening storage (or its election) to serving, in seconds.",
                      MetricType::Gauge, now->recovery_seconds));
    if (now->serving) {
      out.push_back(ByLabel("halo_nodes", "Nodes in the GCS's node table, by state.", "state", now->nodes_by_state));
      out.push_back(ByLabel("halo_actors", "Actors in the GCS's actor directory, by state.", "state",
                            now->actors_by_state));
      out.push_back(One("halo_actor_restarts_total", "Restarts of the actors in the GCS's directory, summed.",
                        MetricType::Counter, static_cast<double>(now->actor_restarts)));
      out.push_back(ByLabel("halo_jobs", "Jobs in the GCS's job table, by state.", "state",
                            {{"running", now->jobs_running}, {"finished", now->jobs_finished}}));
      const rpc::RuntimeCounters& runtime = now->runtime;
      out.push_back(One("halo_tasks_submitted_total", "Tasks submitted by drivers and workers (as they report them).",
                        MetricType::Counter, static_cast<double>(runtime.tasks_submitted())));
      out.push_back(One("halo_task_failures_total",
                        "Task runs lost to a dead worker or node (each then retried or failed), as reported.",
                        MetricType::Counter, static_cast<double>(runtime.task_failures())));
      out.push_back(One("halo_tasks_retried_total", "Task reruns after failures or retried exceptions, as reported.",
                        MetricType::Counter, static_cast<double>(runtime.tasks_retried())));
      out.push_back(One("halo_objects_rebuilt_total", "Lost objects rerun from their lineage, as reported.",
                        MetricType::Counter, static_cast<double>(runtime.objects_rebuilt())));
      out.push_back(One("halo_objects_lost_total",
                        "Lost objects that could not be rebuilt (not rebuildable, or out of retries), as reported.",
                        MetricType::Counter, static_cast<double>(runtime.objects_lost())));
      MetricFamily rebuild{"halo_object_rebuild_seconds",
                           "Rebuilds completed and their time, from the rerun's start to the object stored again "
                           "(sum and count: rate(_sum) / rate(_count) is the mean), as reported.",
                           MetricType::Summary, {}};
      prometheus::ClientMetric summary;
      summary.summary.sample_count = static_cast<std::uint64_t>(runtime.rebuilds_completed());
      summary.summary.sample_sum = static_cast<double>(runtime.rebuild_ms_total()) / 1000.0;
      rebuild.metric.push_back(std::move(summary));
      out.push_back(std::move(rebuild));
    }
    out.push_back(One("halo_gcs_lease_renewals_total",
                      "Leader lease renewals storage confirmed to this GCS process (head_mode ha).",
                      MetricType::Counter, static_cast<double>(now->lease_renewals)));
    out.push_back(One("halo_gcs_lease_renewal_failures_total",
                      "Leader lease renewals of this GCS process that storage did not answer (head_mode ha).",
                      MetricType::Counter, static_cast<double>(now->lease_renewal_failures)));
    return out;
  }

 private:
  std::function<std::optional<Snapshot>()> snapshot_;
};

class GcsMetrics::StorageCollector : public prometheus::Collectable {
 public:
  StorageCollector(std::optional<RedisOptions> redis, int64_t timeout_ms)
      : redis_(std::move(redis)), timeout_ms_(timeout_ms) {}
  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    MetricFamily up{"halo_storage_up", "1 when the GCS's storage answered (Redis: INFO at this scrape; other kinds "
                    "live in the GCS process).", MetricType::Gauge, {}};
    if (!redis_) {
      up.metric.push_back(metrics::Sample(1, MetricType::Gauge, {{"kind", "embedded_or_memory"}}));
      out.push_back(std::move(up));
      return out;
    }
    StatusOr<RedisMemory> memory = ReadRedisMemory(*redis_, timeout_ms_);
    up.metric.push_back(metrics::Sample(memory.ok() ? 1 : 0, MetricType::Gauge, {{"kind", "redis"}}));
    out.push_back(std::move(up));
    if (memory.ok()) {
      out.push_back(One("halo_redis_used_memory_bytes", "Redis's used_memory (INFO memory), in bytes.",
                        MetricType::Gauge, static_cast<double>(memory->used_bytes)));
      out.push_back(One("halo_redis_maxmemory_bytes", "Redis's maxmemory (INFO memory), in bytes; 0: no limit.",
                        MetricType::Gauge, static_cast<double>(memory->max_bytes)));
    }
    return out;
  }

 private:
  std::optional<RedisOptions> redis_;
  int64_t timeout_ms_;
};

void GcsMetrics::WatchStorage(std::optional<RedisOptions> redis, int64_t timeout_ms) {
  server_.Add(std::make_shared<StorageCollector>(std::move(redis), timeout_ms));
}

GcsMetrics::GcsMetrics(metrics::MetricsServer& server, std::function<std::optional<Snapshot>()> snapshot)
    : server_(server),
      registry_(server.shared_registry()),
      deaths_(prometheus::BuildCounter()
                  .Name("halo_node_deaths_total")
                  .Help("Nodes this GCS process declared dead, by death reason.")
                  .Register(*registry_)),
      probes_(prometheus::BuildCounter()
                  .Name("halo_health_probes_total")
                  .Help("Health probes this GCS process sent to node agents.")
                  .Register(*registry_)
                  .Add({})),
      probes_failed_(prometheus::BuildCounter()
                         .Name("halo_health_probes_failed_total")
                         .Help("Health probes that got no healthy answer in time.")
                         .Register(*registry_)
                         .Add({})),
      elections_(prometheus::BuildCounter()
                     .Name("halo_gcs_elections_total")
                     .Help("Times this GCS process was elected leader (head_mode ha).")
                     .Register(*registry_)
                     .Add({})),
      events_(prometheus::BuildCounter()
                  .Name("halo_cluster_events_total")
                  .Help("Cluster events this GCS process recorded (halo events), by kind.")
                  .Register(*registry_)),
      failovers_(prometheus::BuildCounter()
                     .Name("halo_gcs_failovers_total")
                     .Help("Times this GCS process took over from another leader (head_mode ha).")
                     .Register(*registry_)
                     .Add({})),
      actor_restart_seconds_(prometheus::BuildHistogram()
                                 .Name("halo_actor_restart_seconds")
                                 .Help("From an actor instance's death to its next instance being alive, seconds.")
                                 .Register(*registry_)
                                 .Add({}, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                                                                   30, 60, 300})) {
  // Every reason from zero, so a first death shows as a rise (increase() ignores a series' first sample).
  for (const char* reason : {"EXPECTED_TERMINATION", "UNEXPECTED_TERMINATION", "DRAINED"}) deaths_.Add({{"reason", reason}});
  server.Add(std::make_shared<SnapshotCollector>(std::move(snapshot)));
}

void GcsMetrics::NodeDied(const std::string& reason) { deaths_.Add({{"reason", reason}}).Increment(); }

void GcsMetrics::Elected() { elections_.Increment(); }

void GcsMetrics::EventRecorded(const rpc::ClusterEvent& event) {
  events_.Add({{"kind", EventKindName(event.kind())}}).Increment();
  if (event.kind() == rpc::EVENT_HEAD_DEPOSED) failovers_.Increment();
  if (event.kind() == rpc::EVENT_ACTOR_RESTARTED) actor_restart_seconds_.Observe(event.duration_ms() / 1000.0);
}

std::unique_ptr<health::HealthProber> GcsMetrics::Counting(health::HealthProber& prober) {
  return std::make_unique<CountingProber>(prober, probes_, probes_failed_);
}

}  // namespace halo::gcs
