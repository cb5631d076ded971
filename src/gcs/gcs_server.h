// The GCS process' composition root: builds the executor, clock, randomness and store, recovers every
// table into the managers, and only then starts the gRPC server (recover, then serve).
// head_mode ha: first it listens as a standby (GetClusterInfo answers, every other call is refused with the
// leader's address) while it competes for the leader lease; once elected it fences its store with its epoch,
// recovers, and replaces the standby server by the real one on the same port. Deposed, it stops.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/asio_executor.h"
#include "common/random.h"
#include "common/settings.h"
#include "gcs/gcs_assembly.h"
#include "gcs/gcs_metrics.h"
#include "gcs/leader_election.h"
#include "gcs/runtime_counters_table.h"
#include "gcs/standby_service.h"
#include "dashboard/http_api_server.h"
#include "metrics/grpc_server_metrics.h"
#include "metrics/metrics_server.h"
#include "rpc/gcs_process_records.h"
#include "storage/store_client.h"

namespace grpc {
class Server;
class Service;
}

namespace halo::gcs {

class ClusterInfoServiceImpl;
class KvServiceImpl;
class JobServiceImpl;
class NodeInfoServiceImpl;
class NodeEventServiceImpl;
class ActorServiceImpl;
class ServeServiceImpl;
class ExecutableServiceImpl;
class EventLogServiceImpl;

class GcsServer {
 public:
  GcsServer(Settings settings, std::string storage_path);
  ~GcsServer();

  // head_mode ha: on_listening(address) runs once the standby server listens, before this candidate leads.
  void SetListeningCallback(std::function<void(const std::string& address)> on_listening) {
    on_listening_ = std::move(on_listening);
  }
  // Opens storage, loads every table, initializes the managers, then serves. Blocks the calling thread (a
  // standby: until it is elected). Errors name the problem (storage unreachable, path held, incompatible
  // format, port in use...); Cancelled when a stop was requested while standing by.
  Status Start();
  // host:port actually served (the chosen port when settings.port was 0). Valid after Start.
  const std::string& address() const { return address_; }
  int64_t recovery_ms() const { return recovery_ms_.load(); }

  // Blocks until RequestStop or a fatal storage failure. Yields the reason: Ok for a requested stop.
  Status Wait();
  // Thread-safe and async-signal-unsafe; call from a normal thread. cause says what kind of failure an error
  // reason is (for the session's exit record).
  void RequestStop(Status reason, ExitCause cause = ExitCause::kError);
  // What kind of failure ended Start or Wait with an error.
  ExitCause exit_cause();
  // Stops serving and releases storage. Idempotent.
  void Shutdown();

 private:
  // head_mode ha: starts competing for the lease and serves as a standby on the port.
  Status StandBy();
  // head_mode ha: blocks until this candidate holds the leader lease and has fenced the store with its
  // epoch (or a stop is requested: Cancelled).
  Status BecomeLeader();
  // The standby server's refusal, as the leader last read (executor thread).
  void OnLeaderRead(const std::optional<LeaderRecord>& leader);
  void SetRefusal(const std::string& leader_address, int64_t epoch);
  void SetElectedRefusal(int64_t epoch);
  StandbyRefusalService::Refusal Refusal();
  // What GetClusterInfo says of this process whether it leads or not (executor thread).
  rpc::GetClusterInfoReply ProcessInfo();
  rpc::GetClusterInfoReply StandbyInfo();
  rpc::GetClusterInfoReply ServingInfo();
  // Serves the dashboard and its JSON API on dashboard_port (and writes the port to the session as
  // gcs.dashboard_port). Needs the store open.
  Status StartDashboard();
  // One dashboard request: the page, or the API answered on the executor (bounded by metrics_snapshot_timeout_ms).
  dashboard::HttpReply DashboardReply(const std::string& path, const std::string& query);
  // Serves metrics on gcs_metrics_port (and writes the port to the session as gcs.metrics_port).
  Status StartMetrics();
  // What a scrape reads (posted to the executor; nullopt if it does not answer in time).
  std::optional<GcsMetrics::Snapshot> MetricsSnapshot();
  // Loads every table into the managers (gcs/gcs_assembly.h); this thread waits.
  Status Recover();
  // Once serving (executor thread): the cluster events of this start (elected, the leader it replaced, a
  // storage outage that ended the session's previous GCS, recovered).
  void RecordStartEvents();
  Status Serve();
  // A server on host:listen_port_ with these services; nullptr when it cannot listen.
  std::unique_ptr<grpc::Server> BuildServer(const std::vector<grpc::Service*>& services,
                                            grpc::CallbackGenericService* generic, int* selected_port);

  Settings settings_;
  std::string storage_path_;
  AsioExecutor executor_;
  SystemClock clock_;
  SystemRandom random_;
  std::unique_ptr<StoreClient> store_;
  std::unique_ptr<LeaderLease> lease_;          // head_mode ha
  std::unique_ptr<LeaderElection> election_;    // head_mode ha
  std::unique_ptr<metrics::MetricsServer> metrics_server_;  // gcs_metrics_port != 0
  std::unique_ptr<GcsMetrics> metrics_;
  std::unique_ptr<metrics::GrpcServerMetrics> rpc_metrics_;  // with metrics_; outlives every server below
  std::unique_ptr<dashboard::HttpApiServer> dashboard_;     // dashboard_port != 0
  std::unique_ptr<health::HealthProber> counting_prober_;   // prober_, counted for metrics_
  std::set<std::string> counted_dead_;                      // executor thread: deaths already counted
  std::atomic<bool> recovered_{false};                      // managers_ hold every table
  std::unique_ptr<health::HealthProber> prober_;
  std::unique_ptr<GoneProver> gone_prover_;
  std::unique_ptr<ActorPeers> actor_peers_;
  std::unique_ptr<ReplicaProber> replica_prober_;
  std::unique_ptr<GcsAssembly> managers_;
  std::unique_ptr<ClusterInfoServiceImpl> cluster_service_;
  std::unique_ptr<KvServiceImpl> kv_service_;
  std::unique_ptr<JobServiceImpl> job_service_;
  std::unique_ptr<NodeInfoServiceImpl> node_service_;
  std::unique_ptr<NodeEventServiceImpl> event_service_;
  std::unique_ptr<ActorServiceImpl> actor_service_;
  std::unique_ptr<ServeServiceImpl> serve_service_;
  std::unique_ptr<ExecutableServiceImpl> executable_service_;
  std::unique_ptr<EventLogServiceImpl> event_log_service_;
  std::unique_ptr<RuntimeCountersTable> runtime_counters_;  // drivers' and workers' task counters (executor)
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ClusterInfoServiceImpl> standby_info_service_;  // head_mode ha, until elected
  std::unique_ptr<StandbyRefusalService> standby_refusal_;
  std::unique_ptr<grpc::Server> standby_server_;
  std::function<void(const std::string&)> on_listening_;
  int64_t listen_port_ = 0;     // settings.port, or the port the standby server was given
  std::mutex refusal_mutex_;
  StandbyRefusalService::Refusal refusal_;  // guarded by refusal_mutex_
  std::string address_;         // main thread
  std::string served_address_;  // the same, for the executor thread
  int64_t start_time_ms_ = 0;
  // head_mode ha, executor thread: the last other leader this candidate read, and when it last read it
  // holding the lease (monotonic).
  std::optional<LeaderRecord> previous_leader_;
  int64_t previous_leader_seen_ms_ = -1;
  int64_t served_since_ms_ = 0;  // monotonic
  std::atomic<int64_t> recovery_ms_{0};

  std::mutex mutex_;
  std::condition_variable stopped_;
  std::optional<Status> stop_reason_;
  ExitCause exit_cause_ = ExitCause::kError;  // guarded by mutex_
  std::optional<int64_t> elected_epoch_;  // guarded by mutex_
};

}  // namespace halo::gcs
