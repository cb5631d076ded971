#include "gcs/gcs_server.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/logging.h"
#include "common/process.h"
#include "rpc/state_names.h"
#include "dashboard/dashboard_page.h"
#include "gcs/actor_grpc_service.h"
#include "gcs/dashboard_api.h"
#include "gcs/metered_store.h"
#include "health/grpc_health_prober.h"
#include "gcs/tcp_gone_prover.h"
#include "gcs/grpc_services.h"
#include "gcs/node_grpc_services.h"
#include "gcs/serve_grpc_service.h"
#include "common/leader_redirect.h"
#include "storage/store_factory.h"
#include "rpc/cluster_channel.h"

namespace halo::gcs {
namespace {

// gRPC reports a failed bind only as "no port"; probe first so the error can say why.
Status CheckPortFree(const std::string& host, int64_t port) {
  if (port == 0) return OkStatus();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return OkStatus();
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return InvalidArgumentError(absl::StrCat("setting 'host' must be an IPv4 address, got '", host, "'"));
  }
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  close(fd);
  if (rc != 0 && err == EADDRINUSE) {
    return FailedPreconditionError(absl::StrCat("port ", port, " on ", host, " is already in use"));
  }
  if (rc != 0) return FailedPreconditionError(absl::StrCat("cannot bind ", host, ":", port, ": ", strerror(err)));
  return OkStatus();
}

// Runs ask on the executor (the managers' thread) and waits at most timeout_ms for its answer; nullopt when the
// executor did not get to it in time (busy, or stopped). For readers on other threads: scrapes, the dashboard.
template <typename T>
std::optional<T> AskExecutor(Executor& executor, int64_t timeout_ms, std::function<T()> ask) {
  auto answered = std::make_shared<std::promise<T>>();
  auto future = answered->get_future();
  executor.Post([answered, ask = std::move(ask)] { answered->set_value(ask()); });
  if (future.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready) return std::nullopt;
  return future.get();
}

// A failure to reach storage (as opposed to a mistake in the settings): the code says so, not the words.
bool IsStorageOutage(const Status& status) {
  return status.code() == absl::StatusCode::kUnavailable || status.code() == absl::StatusCode::kDeadlineExceeded;
}

}  // namespace

GcsServer::GcsServer(Settings settings, std::string storage_path)
    : settings_(std::move(settings)), storage_path_(std::move(storage_path)) {}

GcsServer::~GcsServer() { Shutdown(); }

Status GcsServer::Start() {
  start_time_ms_ = clock_.WallMs();
  listen_port_ = settings_.port;
  if (settings_.head_mode != "single" && settings_.head_mode != "ha") {
    return InvalidArgumentError(absl::StrCat("setting 'head_mode' must be 'single' or 'ha', got '",
                                             settings_.head_mode, "'"));
  }
  HALO_RETURN_IF_ERROR(CheckPortFree(settings_.host, settings_.port));
  runtime_counters_ = std::make_unique<RuntimeCountersTable>(settings_.runtime_reporters_max);
  executor_.RunInThread();
  if (settings_.gcs_metrics_port != 0) HALO_RETURN_IF_ERROR(StartMetrics());
  int64_t recover_start = clock_.MonotonicMs();
  auto store = OpenStore(settings_, storage_path_, executor_);
  if (!store.ok()) {
    if (IsStorageOutage(store.status())) RequestStop(store.status(), ExitCause::kStorageUnreachable);
    return store.status();
  }
  store_ = metrics_server_ ? MeterStore(std::move(*store), *metrics_server_) : std::move(*store);
  // The store's handler is read on the executor's thread: set it there.
  std::promise<void> handler_set;
  executor_.Post([this, &handler_set] {
    store_->SetFatalHandler([this](Status status) {
      RequestStop(UnavailableError(absl::StrCat("storage failed: ", status.message())), ExitCause::kStorageUnreachable);
    });
    handler_set.set_value();
  });
  handler_set.get_future().wait();
  if (settings_.dashboard_port != 0) HALO_RETURN_IF_ERROR(StartDashboard());
  if (settings_.head_mode == "ha") {
    HALO_RETURN_IF_ERROR(StandBy());
    HALO_RETURN_IF_ERROR(BecomeLeader());
    recover_start = clock_.MonotonicMs();  // failover: catching up starts at the election
  }
  if (Status recovered = Recover(); !recovered.ok()) {
    if (IsStorageOutage(recovered)) RequestStop(recovered, ExitCause::kStorageUnreachable);
    return recovered;
  }
  recovery_ms_ = clock_.MonotonicMs() - recover_start;
  recovered_ = true;
  if (standby_server_) {
    // Calls refused meanwhile were told to try again; the real server takes the port over.
    standby_server_->Shutdown(std::chrono::system_clock::now());
    standby_server_.reset();
  }
  HALO_RETURN_IF_ERROR(Serve());
  executor_.Post([this] { RecordStartEvents(); });
  HALO_LOG_INFO("GCS serving at {} (cluster {}, storage {} {}, namespace {}, {} KV rows, recovered in {} ms)",
                address_, managers_->cluster().cluster_id(), store_->Kind(), store_->Location(), settings_.storage_namespace,
                managers_->kv().size(), recovery_ms_.load());
  return OkStatus();
}

std::unique_ptr<grpc::Server> GcsServer::BuildServer(const std::vector<grpc::Service*>& services,
                                                     grpc::CallbackGenericService* generic, int* selected_port) {
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  const int max_message = static_cast<int>(std::min<int64_t>(
      std::max(settings_.kv_value_max_bytes, settings_.executable_chunk_bytes) + (1 << 20), INT32_MAX));
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  rpc::ApplyServerBounds(builder, settings_, /*bound_memory=*/true);
  builder.AddListeningPort(absl::StrCat(settings_.host, ":", listen_port_), rpc::ClusterServerCredentials(),
                           selected_port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  // Not on the standby server: its generic refusal service sees whatever method a caller names, and each name
  // would become a label.
  if (rpc_metrics_ && generic == nullptr) {
    builder.experimental().SetInterceptorCreators(rpc_metrics_->InterceptorCreators());
  }
  if (generic != nullptr) builder.RegisterCallbackGenericService(generic);
  auto server = builder.BuildAndStart();
  if (!server || *selected_port == 0) return nullptr;
  return server;
}

Status GcsServer::StandBy() {
  auto lease = OpenLeaderLease(settings_, executor_);
  if (!lease.ok()) return lease.status();
  lease_ = std::move(*lease);
  SetRefusal("", 0);
  standby_info_service_ = std::make_unique<ClusterInfoServiceImpl>(executor_, clock_, [this] { return StandbyInfo(); });
  standby_refusal_ = std::make_unique<StandbyRefusalService>([this] { return Refusal(); });
  int selected_port = 0;
  standby_server_ = BuildServer({standby_info_service_.get()}, standby_refusal_.get(), &selected_port);
  if (!standby_server_) {
    return FailedPreconditionError(
        absl::StrCat("cannot serve on ", settings_.host, ":", settings_.port, " (port in use or address not local)"));
  }
  listen_port_ = selected_port;
  address_ = absl::StrCat(settings_.advertise_host.empty() ? settings_.host : settings_.advertise_host, ":",
                          selected_port);
  std::promise<void> started;
  executor_.Post([this, &started] {
    served_address_ = address_;
    LeaderElectionSettings election_settings{settings_.leader_lease_ms, settings_.leader_renew_interval_ms,
                                             settings_.leader_retry_interval_ms};
    election_ = std::make_unique<LeaderElection>(executor_, clock_, *lease_, random_.HexId(12), address_,
                                                 election_settings);
    election_->SetListeners(
        [this](int64_t epoch) {
          bool stopping = false;
          {
            std::lock_guard<std::mutex> lock(mutex_);
            // A candidate leads at most once: once deposed it stops competing (below) and exits.
            HALO_CHECK(!elected_epoch_.has_value()) << "elected again after leading with epoch " << *elected_epoch_;
            stopping = stop_reason_.has_value();
          }
          if (stopping) {
            // Elected while on its way out: neither fence nor serve; hand the lease on at once.
            election_->Resign([] {});
            return;
          }
          if (metrics_) metrics_->Elected();
          SetElectedRefusal(epoch);
          // Fencing first: from here on no write of an older epoch is applied.
          Status fenced = store_->Fence(epoch);
          if (!fenced.ok()) return RequestStop(fenced);
          {
            std::lock_guard<std::mutex> lock(mutex_);
            elected_epoch_ = epoch;
          }
          stopped_.notify_all();
        },
        [this](const std::string& why) {
          // Deposed, this process stops: it must not compete again while it still serves from state another
          // leader may have changed since (elected anew, it would fence storage with a new epoch and write).
          election_->Resign([] {});
          RequestStop(UnavailableError(absl::StrCat("no longer the leader: ", why)), ExitCause::kDeposed);
        });
    election_->SetLeaderObserver([this](const std::optional<LeaderRecord>& leader) { OnLeaderRead(leader); });
    election_->Start();
    started.set_value();
  });
  started.get_future().wait();
  HALO_LOG_INFO("standing by at {} for the leader lease in {} (namespace {})", address_, store_->Location(),
                settings_.storage_namespace);
  if (on_listening_) on_listening_(address_);
  return OkStatus();
}

Status GcsServer::BecomeLeader() {
  std::unique_lock<std::mutex> lock(mutex_);
  stopped_.wait(lock, [this] { return elected_epoch_.has_value() || stop_reason_.has_value(); });
  if (stop_reason_.has_value()) {
    if (!stop_reason_->ok()) return *stop_reason_;
    return CancelledError("stopped while standing by");
  }
  HALO_LOG_INFO("this GCS leads with epoch {}", *elected_epoch_);
  return OkStatus();
}

void GcsServer::OnLeaderRead(const std::optional<LeaderRecord>& leader) {
  if (!leader || leader->address == served_address_) {
    // Nobody leads, or an earlier incarnation at this address still holds the lease until it lapses.
    SetRefusal("", 0);
    return;
  }
  previous_leader_ = leader;
  previous_leader_seen_ms_ = clock_.MonotonicMs();
  SetRefusal(leader->address, leader->epoch);
}

void GcsServer::SetRefusal(const std::string& leader_address, int64_t epoch) {
  std::lock_guard<std::mutex> lock(refusal_mutex_);
  refusal_ = StandbyRefusalService::Refusal{StandbyRefusalMessage(leader_address, epoch), leader_address};
}

void GcsServer::SetElectedRefusal(int64_t epoch) {
  std::lock_guard<std::mutex> lock(refusal_mutex_);
  refusal_ = StandbyRefusalService::Refusal{
      absl::StrCat("this head candidate was just elected leader (epoch ", epoch,
                   ") and is loading state; try again shortly"),
      ""};
}

StandbyRefusalService::Refusal GcsServer::Refusal() {
  std::lock_guard<std::mutex> lock(refusal_mutex_);
  return refusal_;
}

rpc::GetClusterInfoReply GcsServer::ProcessInfo() {
  rpc::GetClusterInfoReply reply;
  reply.set_version(HALO_VERSION);
  reply.set_storage_kind(store_->Kind());
  reply.set_storage_location(store_->Location());
  reply.set_storage_namespace(settings_.storage_namespace);
  reply.set_start_time_ms(start_time_ms_);
  reply.set_address(served_address_);
  reply.set_pid(getpid());
  return reply;
}

rpc::GetClusterInfoReply GcsServer::StandbyInfo() {
  rpc::GetClusterInfoReply reply = ProcessInfo();
  reply.set_is_leader(false);  // it may hold the lease already, but it does not serve yet
  if (election_ == nullptr) return reply;  // a call that came in before the election was set up
  const auto& leader = election_->known_leader();
  reply.set_epoch(election_->leader() ? election_->epoch() : (leader ? leader->epoch : 0));
  if (leader) reply.set_leader_address(leader->address);
  return reply;
}

rpc::GetClusterInfoReply GcsServer::ServingInfo() {
  rpc::GetClusterInfoReply reply = ProcessInfo();
  reply.set_cluster_id(managers_->cluster().cluster_id());
  reply.set_recovery_ms(recovery_ms_.load());
  reply.set_is_leader(election_ == nullptr || election_->leader());
  reply.set_epoch(election_ == nullptr ? 0 : election_->epoch());
  if (election_ != nullptr && election_->known_leader()) reply.set_leader_address(election_->known_leader()->address);
  return reply;
}

Status GcsServer::StartDashboard() {
  dashboard::HttpApiSettings http;
  http.host = settings_.host;
  http.port = settings_.dashboard_port < 0 ? 0 : static_cast<int>(settings_.dashboard_port);
  auto server = dashboard::HttpApiServer::Start(
      http, [this](const std::string& path, const std::string& query) { return DashboardReply(path, query); });
  if (!server.ok()) {
    return Status(server.status().code(), absl::StrCat("setting 'dashboard_port': ", server.status().message()));
  }
  dashboard_ = std::move(*server);
  if (!settings_.session_dir.empty()) {
    HALO_RETURN_IF_ERROR(WriteFileAtomically(settings_.session_dir + "/gcs.dashboard_port",
                                             std::to_string(dashboard_->port()) + "\n"));
  }
  HALO_LOG_INFO("dashboard on http://{}:{}/", settings_.host, dashboard_->port());
  return OkStatus();
}

dashboard::HttpReply GcsServer::DashboardReply(const std::string& path, const std::string& query) {
  if (path == "/" || path == "/index.html") return {200, "text/html; charset=utf-8", dashboard::DashboardPage()};
  std::optional<dashboard::HttpReply> reply = AskExecutor<dashboard::HttpReply>(
      executor_, settings_.metrics_snapshot_timeout_ms, [this, path, query] {
        const bool serving = recovered_.load() && managers_ != nullptr;
        rpc::GetClusterInfoReply info = serving ? ServingInfo() : StandbyInfo();
        info.set_uptime_ms(clock_.WallMs() - info.start_time_ms());
        return DashboardApiReply(path, query, info, serving ? managers_.get() : nullptr);
      });
  if (!reply) return {503, "application/json", R"({"error":"the GCS did not answer in time"})"};
  return *reply;
}

Status GcsServer::Recover() {
  prober_ = std::make_unique<health::GrpcHealthProber>(executor_);
  gone_prover_ = std::make_unique<TcpGoneProver>(executor_, settings_.health_check_timeout_ms);
  actor_peers_ = MakeGrpcActorPeers(executor_, settings_.rpc_timeout_ms);
  replica_prober_ = MakeGrpcReplicaProber(executor_, absl::StrCat("gcs-", random_.HexId(6)));
  GcsAssemblyDeps deps;
  deps.store = store_.get();
  deps.executor = &executor_;
  deps.clock = &clock_;
  deps.random = &random_;
  if (metrics_) counting_prober_ = metrics_->Counting(*prober_);
  deps.prober = counting_prober_ ? counting_prober_.get() : prober_.get();
  deps.on_node_changed = [this](const rpc::NodeInfo& node) {
    // Each death once (a dead node's row may be published again), and only deaths this process declares.
    if (metrics_ && node.state() == rpc::DEAD && counted_dead_.insert(node.node_id()).second) {
      metrics_->NodeDied(DeathReasonName(node.death_reason()));
    }
  };
  if (metrics_) deps.on_event = [this](const rpc::ClusterEvent& event) { metrics_->EventRecorded(event); };
  deps.gone_prover = gone_prover_.get();
  deps.actor_peers = actor_peers_.get();
  deps.replica_prober = replica_prober_.get();
  deps.may_grant_leases = [this] { return election_ == nullptr || election_->LeadsNow(); };
  deps.on_storage_failure = [this](Status status) {
    RequestStop(status, IsStorageOutage(status) ? ExitCause::kStorageUnreachable : ExitCause::kError);
  };
  managers_ = std::make_unique<GcsAssembly>(settings_, std::move(deps));
  std::promise<Status> recovered;
  executor_.Post([this, &recovered] { managers_->Recover([&recovered](Status status) { recovered.set_value(status); }); });
  return recovered.get_future().get();
}

Status GcsServer::Serve() {
  cluster_service_ = std::make_unique<ClusterInfoServiceImpl>(executor_, clock_, [this] { return ServingInfo(); });
  kv_service_ = std::make_unique<KvServiceImpl>(executor_, managers_->kv());
  job_service_ = std::make_unique<JobServiceImpl>(executor_, clock_, managers_->jobs(), runtime_counters_.get());
  node_service_ = std::make_unique<NodeInfoServiceImpl>(executor_, managers_->nodes());
  node_service_->set_cluster_id(managers_->cluster().cluster_id());
  event_service_ = std::make_unique<NodeEventServiceImpl>(executor_, managers_->publisher(), managers_->nodes(),
                                                          managers_->health());
  actor_service_ = std::make_unique<ActorServiceImpl>(executor_, managers_->actors());
  serve_service_ = std::make_unique<ServeServiceImpl>(executor_, managers_->services());
  executable_service_ = std::make_unique<ExecutableServiceImpl>(executor_, managers_->executables());
  event_log_service_ = std::make_unique<EventLogServiceImpl>(executor_, managers_->events());

  int selected_port = 0;
  server_ = BuildServer({cluster_service_.get(), kv_service_.get(), job_service_.get(), node_service_.get(),
                         event_service_.get(), actor_service_.get(), serve_service_.get(),
                         executable_service_.get(), event_log_service_.get()},
                        nullptr, &selected_port);
  if (!server_) {
    return FailedPreconditionError(
        absl::StrCat("cannot serve on ", settings_.host, ":", listen_port_, " (port in use or address not local)"));
  }
  address_ = absl::StrCat(settings_.advertise_host.empty() ? settings_.host : settings_.advertise_host, ":",
                          selected_port);
  // GetClusterInfo reads the address on the executor; publish it there.
  std::promise<void> published;
  executor_.Post([this, &published] {
    served_address_ = address_;
    published.set_value();
  });
  published.get_future().wait();
  return OkStatus();
}

Status GcsServer::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  stopped_.wait(lock, [this] { return stop_reason_.has_value(); });
  return *stop_reason_;
}

void GcsServer::RequestStop(Status reason, ExitCause cause) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_reason_.has_value()) return;
    stop_reason_ = std::move(reason);
    exit_cause_ = cause;
  }
  stopped_.notify_all();
}

ExitCause GcsServer::exit_cause() {
  std::lock_guard<std::mutex> lock(mutex_);
  return exit_cause_;
}

void GcsServer::RecordStartEvents() {
  EventLog& events = managers_->events();
  // Storage lost and found again while this GCS kept serving (a Redis restart it rode through).
  store_->SetReconnectHandler([this](const std::string& error, int64_t outage_ms) {
    if (!managers_) return;
    managers_->events().Record(MakeEvent(rpc::EVENT_STORAGE_UNREACHABLE,
                                         absl::StrCat("the GCS lost its connection to storage ", store_->Kind(), " ",
                                                      store_->Location(), ": ", error)));
    rpc::ClusterEvent back = MakeEvent(
        rpc::EVENT_STORAGE_BACK, absl::StrCat("the GCS reached storage ", store_->Kind(), " ", store_->Location(),
                                              " again after ", outage_ms, " ms; it kept serving"));
    back.set_duration_ms(outage_ms);
    managers_->events().Record(std::move(back));
  });
  events.SetReporter(served_address_);
  const int64_t serving_ms = clock_.MonotonicMs();
  if (election_ != nullptr) {
    const int64_t epoch = election_->epoch();
    events.SetEpoch(epoch);
    if (previous_leader_ && previous_leader_->address != served_address_) {
      rpc::ClusterEvent deposed = MakeEvent(
          rpc::EVENT_HEAD_DEPOSED, absl::StrCat("the leader at ", previous_leader_->address, " (epoch ",
                                                previous_leader_->epoch, ") lost its lease; ", served_address_,
                                                " took over with epoch ", epoch));
      deposed.set_epoch(previous_leader_->epoch);
      events.Record(std::move(deposed));
    }
    const bool took_over = previous_leader_ && previous_leader_->address != served_address_;
    rpc::ClusterEvent elected = MakeEvent(
        rpc::EVENT_HEAD_ELECTED,
        took_over ? absl::StrCat(served_address_, " leads with epoch ", epoch, "; it serves ",
                                 serving_ms - previous_leader_seen_ms_, " ms after it last saw ",
                                 previous_leader_->address, " hold the lease")
                  : absl::StrCat(served_address_, " leads with epoch ", epoch));
    // The takeover as this candidate saw it: from the old leader's last sign of life to serving (the lease
    // lapsing, the election and the recovery).
    if (took_over) elected.set_duration_ms(serving_ms - previous_leader_seen_ms_);
    events.Record(std::move(elected));
  }
  if (!settings_.session_dir.empty()) {
    std::optional<ExitRecord> last = ReadExitRecord(settings_.session_dir);
    if (last && last->cause == ExitCause::kStorageUnreachable) {
      rpc::ClusterEvent lost = MakeEvent(
          rpc::EVENT_STORAGE_UNREACHABLE,
          absl::StrCat("the GCS stopped because its storage was unreachable (the last attempt, by pid ", last->pid,
                       ": ", last->message, ")"));
      events.Record(std::move(lost));
      rpc::ClusterEvent back = MakeEvent(
          rpc::EVENT_STORAGE_BACK, absl::StrCat("storage ", store_->Kind(), " ", store_->Location(),
                                                " answers again; the GCS serves"));
      back.set_duration_ms(std::max<int64_t>(0, clock_.WallMs() - last->since_ms));
      events.Record(std::move(back));
    }
    if (last) RemoveExitRecord(settings_.session_dir);
  }
  rpc::ClusterEvent recovered = MakeEvent(
      rpc::EVENT_GCS_RECOVERED, absl::StrCat("the GCS at ", served_address_, " loaded ", managers_->nodes().AllNodes().size(),
                                             " nodes, ", managers_->actors().All().size(), " actors and ",
                                             managers_->kv().size(), " KV rows in ", recovery_ms_.load(),
                                             " ms and serves"));
  recovered.set_duration_ms(recovery_ms_.load());
  events.Record(std::move(recovered));
}

Status GcsServer::StartMetrics() {
  const int port = settings_.gcs_metrics_port < 0 ? 0 : static_cast<int>(settings_.gcs_metrics_port);
  auto server = metrics::MetricsServer::Start(settings_.host, port);
  if (!server.ok()) return Status(server.status().code(), absl::StrCat("setting 'gcs_metrics_port': ", server.status().message()));
  metrics_server_ = std::move(*server);
  metrics_ = std::make_unique<GcsMetrics>(*metrics_server_, [this] { return MetricsSnapshot(); });
  rpc_metrics_ = std::make_unique<metrics::GrpcServerMetrics>();
  metrics_server_->Add(rpc_metrics_->registry());
  auto uri = ParseStorageUri(settings_.storage);
  if (!uri.ok()) return uri.status();
  metrics_->WatchStorage(uri->kind == StorageUri::Kind::kRedis
                             ? std::optional<RedisOptions>(RedisOptionsFromSettings(settings_, *uri))
                             : std::nullopt,
                         settings_.metrics_snapshot_timeout_ms);
  if (!settings_.session_dir.empty()) {
    HALO_RETURN_IF_ERROR(WriteFileAtomically(settings_.session_dir + "/gcs.metrics_port",
                                             std::to_string(metrics_server_->port()) + "\n"));
  }
  HALO_LOG_INFO("metrics on {}:{}/metrics", settings_.host, metrics_server_->port());
  return OkStatus();
}

std::optional<GcsMetrics::Snapshot> GcsServer::MetricsSnapshot() {
  return AskExecutor<GcsMetrics::Snapshot>(executor_, settings_.metrics_snapshot_timeout_ms, [this] {
    GcsMetrics::Snapshot snapshot;
    snapshot.leader = election_ == nullptr ? recovered_.load() : election_->leader();
    snapshot.epoch = election_ == nullptr ? 0 : election_->epoch();
    if (election_ != nullptr && !election_->leader() && election_->known_leader()) {
      snapshot.epoch = election_->known_leader()->epoch;
    }
    snapshot.serving = recovered_.load();
    if (election_ != nullptr) {
      snapshot.lease_renewals = election_->renewals();
      snapshot.lease_renewal_failures = election_->renewal_failures();
    }
    snapshot.recovery_seconds = static_cast<double>(recovery_ms_.load()) / 1000.0;
    if (snapshot.serving) {
      for (const auto& node : managers_->nodes().AllNodes()) snapshot.nodes_by_state[NodeStateName(node.state())] += 1;
      for (const auto& actor : managers_->actors().All()) {
        snapshot.actors_by_state[ActorStateName(actor.state())] += 1;
        snapshot.actor_restarts += actor.num_restarts();
      }
      if (runtime_counters_) snapshot.runtime = runtime_counters_->Totals();
      managers_->jobs().HandleGetAllJobs([&snapshot](std::vector<rpc::JobInfo> jobs) {
        for (const auto& job : jobs) (job.is_finished() ? snapshot.jobs_finished : snapshot.jobs_running) += 1;
      });
    }
    return snapshot;
  });
}

void GcsServer::Shutdown() {
  // Scrapes first: they read the managers through the executor. (The counters live on with metrics_.)
  metrics_server_.reset();
  dashboard_.reset();
  if (standby_server_) {
    standby_server_->Shutdown(std::chrono::system_clock::now());
    standby_server_.reset();
  }
  if (lease_) {  // reset below: a second Shutdown skips this
    // A candidate gives its lease up first (if it holds it: elected, serving or not yet), so a standby takes
    // over without waiting for it to lapse.
    auto resigned = std::make_shared<std::promise<void>>();
    executor_.Post([this, resigned] {
      if (!election_) return resigned->set_value();
      election_->Resign([resigned] { resigned->set_value(); });
    });
    resigned->get_future().wait_for(std::chrono::milliseconds(1000));  // storage may be gone: then it lapses
  }
  if (server_) {
    // Answer every call still waiting (held polls, writes queued for storage) so the server can stop at
    // once, then stop it.
    std::promise<void> released;
    executor_.Post([this, &released] {
      if (managers_) managers_->ReleaseHeldCalls();
      if (store_) store_->Shutdown();
      released.set_value();
    });
    released.get_future().wait();
    HALO_LOG_INFO("stopping: held calls released");
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    HALO_LOG_INFO("stopping: server stopped");
  }
  // No closure runs after this, so the managers and the store can go in any order, on this thread;
  // late callbacks from gRPC or the storage thread are dropped.
  executor_.Stop();
  managers_.reset();
  actor_peers_.reset();
  replica_prober_.reset();
  election_.reset();
  lease_.reset();
  prober_.reset();
  counting_prober_.reset();
  metrics_.reset();
  gone_prover_.reset();
  store_.reset();
}

}  // namespace halo::gcs
