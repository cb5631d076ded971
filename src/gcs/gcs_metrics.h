// The GCS's Prometheus metrics (leader and standbys alike), on gcs_metrics_port:
//   halo_gcs_leader, halo_gcs_epoch, halo_gcs_serving, halo_gcs_recovery_seconds, halo_gcs_elections_total;
//   halo_nodes{state}, halo_node_deaths_total{reason}, halo_health_probes_total, halo_health_probes_failed_total;
//   halo_actors{state}, halo_actor_restarts_total; halo_jobs{state};
//   halo_storage_up{kind}, halo_redis_used_memory_bytes, halo_redis_maxmemory_bytes (WatchStorage);
//   halo_gcs_lease_renewals_total, halo_gcs_lease_renewal_failures_total, halo_gcs_failovers_total;
//   halo_cluster_events_total{kind}, halo_actor_restart_seconds (EventRecorded);
//   halo_tasks_submitted_total, halo_task_failures_total, halo_tasks_retried_total, halo_objects_rebuilt_total,
//   halo_objects_lost_total, halo_object_rebuild_seconds (a summary: sum and count) (what drivers and workers
//   report: gcs/runtime_counters_table.h).
// Counters of events (deaths seen, probes, elections) count what this process saw since it started; gauges and
// the table-derived counters are read from the managers at each scrape (posted to the GCS executor and waited
// for at most metrics_snapshot_timeout_ms: a GCS whose executor is stuck still serves its process metrics).
// The counters stay valid after the MetricsServer is destroyed (the counting prober may outlive it).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "health/health_check_manager.h"
#include "metrics/metrics_server.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "proto/gcs.pb.h"
#include "storage/redis_connection.h"

namespace halo::gcs {

class GcsMetrics {
 public:
  // What a scrape reads of the GCS's state.
  struct Snapshot {
    bool leader = false;
    int64_t epoch = 0;
    bool serving = false;  // recovered and serving (a standby: false)
    double recovery_seconds = 0;
    std::map<std::string, int64_t> nodes_by_state;
    std::map<std::string, int64_t> actors_by_state;
    int64_t actor_restarts = 0;
    int64_t jobs_running = 0;
    int64_t jobs_finished = 0;
    rpc::RuntimeCounters runtime;        // drivers' and workers' task counters, summed
    int64_t lease_renewals = 0;          // head_mode ha
    int64_t lease_renewal_failures = 0;
  };

  // snapshot runs on a scrape thread and may give up (nullopt): then only the event counters are served.
  GcsMetrics(metrics::MetricsServer& server, std::function<std::optional<Snapshot>()> snapshot);

  // head storage on Redis: every scrape reads Redis's INFO memory over a connection of its own (at most
  // timeout_ms): halo_storage_up (1 when it answered), halo_redis_used_memory_bytes, halo_redis_maxmemory_bytes.
  // Other storage lives in this process: halo_storage_up is 1 while the GCS runs.
  void WatchStorage(std::optional<RedisOptions> redis, int64_t timeout_ms);

  void NodeDied(const std::string& reason);
  void Elected();
  // Every cluster event this process recorded: counted by kind; actor restarts timed; failovers counted.
  void EventRecorded(const rpc::ClusterEvent& event);
  // Wraps a prober so that every probe and every failed one is counted. The wrapper must outlive its use.
  std::unique_ptr<health::HealthProber> Counting(health::HealthProber& prober);

 private:
  class SnapshotCollector;
  class StorageCollector;
  metrics::MetricsServer& server_;
  std::shared_ptr<prometheus::Registry> registry_;  // owns the counters below, also after the server is gone
  prometheus::Family<prometheus::Counter>& deaths_;
  prometheus::Counter& probes_;
  prometheus::Counter& probes_failed_;
  prometheus::Counter& elections_;
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Counter& failovers_;
  prometheus::Histogram& actor_restart_seconds_;
};

}  // namespace halo::gcs
