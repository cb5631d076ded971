#include "node/node_server.h"

#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "node/node_metrics.h"
#include "common/logging.h"
#include "common/process.h"
#include "common/settings_loader.h"
#include "node/grpc_vouch_peers.h"
#include "rpc/cluster_channel.h"
#include "rpc/cluster_security.h"

namespace halo::node {
NodeServer::NodeServer(NodeServerOptions options)
    : options_(std::move(options)),
      settings_(options_.settings),
      session_dir_(settings_.session_dir.empty() ? settings_.session_root : settings_.session_dir) {}

NodeServer::~NodeServer() { Shutdown(); }

StatusOr<std::unique_ptr<NodeServer>> NodeServer::Start(NodeServerOptions options) {
  std::unique_ptr<NodeServer> server(new NodeServer(std::move(options)));
  HALO_RETURN_IF_ERROR(server->Build());
  return server;
}

Status NodeServer::Build() {
  auto resources = ParseResources(settings_.resources);
  if (!resources.ok()) return resources.status();
  auto labels = ParseLabels(settings_.labels);
  if (!labels.ok()) return labels.status();
  self_.set_node_id(random_.HexId(14));
  self_.set_is_head(options_.is_head);
  self_.set_pid(getpid());
  const int64_t cpus = settings_.num_cpus >= 0 ? settings_.num_cpus : std::thread::hardware_concurrency();
  (*self_.mutable_resources())["CPU"] = static_cast<double>(cpus);
  for (const auto& [name, amount] : *resources) (*self_.mutable_resources())[name] = amount;
  for (const auto& [key, value] : *labels) (*self_.mutable_labels())[key] = value;

  gcs_ = MakeGrpcGcsNodeClient(options_.gcs_address, executor_);
  auto on_exit = [this](int code, const std::string& why) { OnExit(code, why); };
  agent_ = std::make_unique<NodeAgent>(
      executor_, clock_, *gcs_, self_,
      NodeAgentSettings{settings_.gcs_reconnect_timeout_ms, settings_.gcs_retry_initial_ms,
                        settings_.gcs_retry_max_ms, settings_.pubsub_poll_wait_ms, settings_.rpc_timeout_ms},
      on_exit);

  // Workers: started from the job's executable, on a lease file this agent renews.
  launcher_ = std::make_unique<ProcessWorkerLauncher>(session_dir_ + "/logs");
  executables_ = std::make_unique<GrpcExecutableStore>(executor_, session_dir_ + "/executables",
                                                       std::max<int64_t>(settings_.worker_start_timeout_ms, 1),
                                                       [address = options_.gcs_address] { return address; });
  LeaseManagerSettings lease_settings;
  lease_settings.node_id = self_.node_id();
  lease_settings.gcs_address = options_.gcs_address;
  for (const SettingInfo& info : AllSettings()) {
    if (info.name == "session_dir") continue;  // workers keep no session of their own
    lease_settings.worker_env[EnvName(info.name)] = info.format(settings_);
  }
  // The cluster's credentials, wherever this agent found them (an environment variable, a file, its session).
  const std::shared_ptr<const rpc::ClusterSecurity> security = rpc::ProcessSecurity();
  if (!security->token.empty()) lease_settings.worker_env[rpc::kTokenEnvironment] = security->token;
  if (security->tls()) {
    lease_settings.worker_env[EnvName("tls_cert")] = security->tls_cert_path;
    lease_settings.worker_env[EnvName("tls_key")] = security->tls_key_path;
    lease_settings.worker_env[EnvName("tls_ca")] = security->tls_ca_path;
  }
  lease_settings.resources = std::map<std::string, double>(self_.resources().begin(), self_.resources().end());
  lease_settings.num_prestart_workers = settings_.num_prestart_workers >= 0 ? settings_.num_prestart_workers : cpus;
  lease_settings.workers_max =
      settings_.node_workers_max > 0 ? settings_.node_workers_max : std::max<int64_t>(64, 4 * cpus);
  lease_settings.unschedulable_wait_ms = settings_.task_unschedulable_timeout_ms;
  lease_settings.worker_start_timeout_ms = settings_.worker_start_timeout_ms;
  lease_settings.worker_idle_timeout_ms = settings_.worker_idle_timeout_ms;
  lease_settings.waiting_requests_max = static_cast<size_t>(settings_.node_lease_requests_max);
  std::error_code lease_dir_error;
  std::filesystem::create_directories(session_dir_ + "/leases", lease_dir_error);
  lease_settings.worker_lease_file = absl::StrCat(session_dir_, "/leases/node-", self_.node_id());
  auto lease_file = LeaseFile::Create(lease_settings.worker_lease_file);
  if (!lease_file.ok()) return lease_file.status();
  lease_file_ = *std::move(lease_file);
  leases_ = std::make_unique<LeaseManager>(executor_, clock_, random_, *launcher_, *executables_, lease_settings);
  status_service_ = std::make_unique<NodeAgentServiceImpl>(executor_, *agent_, *leases_);

  // The node's own lease bounds its workers'; losing it ends the node agent (its workers first).
  vouch_peers_ = MakeGrpcVouchPeers(executor_);
  lease_chain_ = std::make_unique<NodeLeaseChain>(
      executor_, clock_, *gcs_, *vouch_peers_, self_.node_id(),
      NodeLeaseChainSettings{NodeLeaseKeeperSettings{settings_.node_lease_ms, settings_.node_lease_renew_interval_ms,
                                                     settings_.node_vouch_after_ms, /*clock_margin_percent=*/10,
                                                     /*vouch_limit_ms=*/settings_.gcs_reconnect_timeout_ms},
                             settings_.worker_lease_ms},
      [file = lease_file_.get()](int64_t deadline_ms) { file->SetDeadlineMs(deadline_ms); }, on_exit);
  executor_.Post([this] { lease_chain_->Start(); });  // no worker serves before the node holds its own lease
  status_service_->SetVouchHandler(
      [this](const rpc::VouchRequest& request) { return lease_chain_->HandleVouch(request); });
  // Leaving (stopped, or drained and idle): its workers end, and it stops vouching, before the GCS hears of
  // it, because the GCS restarts their actors at once.
  agent_->SetBeforeLeaving([this] {
    lease_chain_->Leave();
    leases_->Shutdown();
  });

  object_store_ = std::make_unique<ObjectStore>(
      static_cast<uint64_t>(settings_.object_store_memory_bytes),
      std::make_unique<FileSpillStorage>(session_dir_ + "/spill/" + self_.node_id()));
  object_service_ = std::make_unique<ObjectStoreServiceImpl>(*object_store_, self_.node_id(),
                                                             settings_.object_chunk_bytes, settings_.rpc_timeout_ms);
  object_service_->SetJobListener([this](uint32_t job_id, const std::string& driver_address) {
    executor_.Post([this, job_id, driver_address] { leases_->NoteJob(job_id, driver_address); });
  });
  leases_->SetJobEndedListener([this](uint32_t job_id) {
    const size_t freed = object_store_->FreeJob(job_id);
    if (freed > 0) SPDLOG_INFO("freed {} objects of job {}", freed, job_id);
  });

  // Services' HTTP ingress: bound first, so a port that is taken stops the node before it joins.
  if (settings_.serve_http_port >= 0) {
    serve::NodeIngressOptions ingress;
    ingress.node_id = self_.node_id();
    ingress.gcs_addresses = options_.gcs_address;
    ingress.http.host = settings_.host;
    ingress.http.port = static_cast<int>(settings_.serve_http_port);
    ingress.http.io_threads = static_cast<int>(settings_.num_serve_io_threads);
    ingress.http.request_timeout_ms = settings_.serve_request_timeout_ms;
    ingress.http.read_timeout_ms = settings_.serve_read_timeout_ms;
    ingress.http.header_max_bytes = settings_.serve_header_max_bytes;
    ingress.http.body_max_bytes = settings_.serve_body_max_bytes;
    ingress.http.connections_max = settings_.serve_connections_max;
    ingress.http.attempts_max = static_cast<int>(settings_.serve_attempts_max);
    ingress.follower = serve::RouteFollowerSettings{settings_.serve_routes_wait_ms, settings_.gcs_retry_initial_ms,
                                                    settings_.gcs_retry_max_ms};
    ingress.report_interval_ms = settings_.serve_ongoing_report_interval_ms;
    ingress.rpc_timeout_ms = settings_.rpc_timeout_ms;
    ingress.calls_per_push_max = settings_.serve_calls_per_push_max;
    ingress_ = std::make_unique<serve::NodeIngress>(executor_, std::move(ingress));
    if (settings_.node_metrics_port != 0) {
      ingress_metrics_ = std::make_unique<metrics::IngressMetrics>();
      ingress_->SetAnswerObserver([metrics = ingress_metrics_.get()](const std::string& deployment, int status,
                                                                    double seconds) {
        metrics->Record(deployment, status, seconds);
      });
    }
    Status bound = ingress_->Start();
    if (!bound.ok()) {
      return Status(bound.code(), absl::StrCat("setting 'serve_http_port': ", bound.message()));
    }
    if (!settings_.session_dir.empty()) {
      HALO_RETURN_IF_ERROR(WriteFileAtomically(settings_.session_dir + "/node.http_port",
                                               std::to_string(ingress_->port()) + "\n"));
    }
  }

  // Serve first: the GCS probes the address the node registers with.
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  rpc::ApplyServerBounds(builder, settings_, /*bound_memory=*/false);
  builder.AddListeningPort(absl::StrCat(settings_.host, ":", settings_.node_port), rpc::ClusterServerCredentials(),
                           &selected_port);
  builder.RegisterService(&health_);
  builder.RegisterService(status_service_.get());
  builder.RegisterService(object_service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(settings_.rpc_receive_message_max_bytes));
  builder.SetMaxSendMessageSize(-1);
  if (settings_.node_metrics_port != 0) {
    rpc_metrics_ = std::make_unique<metrics::GrpcServerMetrics>();
    builder.experimental().SetInterceptorCreators(rpc_metrics_->InterceptorCreators());
  }
  server_ = builder.BuildAndStart();
  if (!server_ || selected_port == 0) {
    return UnavailableError(
        absl::StrCat("cannot serve on ", settings_.host, ":", settings_.node_port, " (port in use?)"));
  }
  self_.set_address(absl::StrCat(settings_.advertise_host, ":", selected_port));
  agent_->SetAddress(self_.address());  // known only once the server listens
  leases_->SetNodeAddress(self_.address());
  agent_->SetIdleCheck([this] { return leases_->Idle(); });
  leases_->SetIdleListener([this] { agent_->OnIdle(); });
  agent_->SetClusterListener([this](const rpc::PollNodeEventsReply& reply) { OnClusterUpdate(reply); });

  // The drivers and lessees this node's work depends on; one that stops answering ends its job or leases here.
  peer_prober_ = std::make_unique<health::GrpcHealthProber>(executor_);
  peer_watch_ = std::make_unique<PeerWatch>(
      executor_, *peer_prober_,
      PeerWatchSettings{health::HealthCheckSettings{settings_.health_check_initial_delay_ms,
                                                    settings_.health_check_period_ms,
                                                    settings_.health_check_timeout_ms,
                                                    settings_.driver_failure_threshold},
                        settings_.node_peer_sync_interval_ms},
      [this] { return leases_->PeersToWatch(); },
      [this](const std::string& address) { leases_->OnPeerGone(address); });
  executor_.Post([this] { peer_watch_->Start(); });
  reaper_ = std::make_unique<WorkerReaper>(
      executor_, [this](int pid, const std::string& description) { leases_->OnWorkerExited(pid, description); });
  reaper_->Start();

  if (settings_.node_metrics_port != 0) HALO_RETURN_IF_ERROR(StartMetrics());
  if (!settings_.session_dir.empty()) {
    HALO_RETURN_IF_ERROR(WriteFileAtomically(settings_.session_dir + "/node.pid", std::to_string(getpid()) + "\n"));
  }
  executor_.RunInThread();
  executor_.Post([this] {
    agent_->Start([this] {
      lease_chain_->StartRenewing();
      if (settings_.session_dir.empty()) return;
      (void)WriteFileAtomically(settings_.session_dir + "/node.address", self_.address() + "\n");
      (void)WriteFileAtomically(settings_.session_dir + "/node.id", self_.node_id() + "\n");
    });
  });
  SPDLOG_INFO("node {} serving at {}, joining the GCS at {}", self_.node_id(), self_.address(),
              options_.gcs_address);
  return OkStatus();
}

Status NodeServer::StartMetrics() {
  const int port = settings_.node_metrics_port < 0 ? 0 : static_cast<int>(settings_.node_metrics_port);
  auto server = metrics::MetricsServer::Start(settings_.host, port);
  if (!server.ok()) {
    return Status(server.status().code(), absl::StrCat("setting 'node_metrics_port': ", server.status().message()));
  }
  metrics_server_ = std::move(*server);
  if (rpc_metrics_) metrics_server_->Add(rpc_metrics_->registry());
  if (ingress_metrics_) metrics_server_->Add(ingress_metrics_->registry());
  const int64_t wait_ms = settings_.metrics_snapshot_timeout_ms;
  metrics_server_->Add(MakeNodeCollector(self_.node_id(), *object_store_, [this, wait_ms]() -> std::optional<NodeWorkSnapshot> {
    auto taken = std::make_shared<std::promise<NodeWorkSnapshot>>();
    auto future = taken->get_future();
    executor_.Post([this, taken] {
      taken->set_value(NodeWorkSnapshot{static_cast<int64_t>(leases_->num_workers()),
                                        static_cast<int64_t>(leases_->num_leases()),
                                        static_cast<int64_t>(leases_->num_waiting())});
    });
    if (future.wait_for(std::chrono::milliseconds(wait_ms)) != std::future_status::ready) return std::nullopt;
    return future.get();
  }));
  if (!settings_.session_dir.empty()) {
    HALO_RETURN_IF_ERROR(WriteFileAtomically(settings_.session_dir + "/node.metrics_port",
                                             std::to_string(metrics_server_->port()) + "\n"));
  }
  SPDLOG_INFO("metrics on {}:{}/metrics", settings_.host, metrics_server_->port());
  return OkStatus();
}

void NodeServer::OnClusterUpdate(const rpc::PollNodeEventsReply& reply) {
  leases_->OnClusterUpdate(reply);
  auto own = [this](const rpc::NodeInfo& node) {
    if (node.node_id() == self_.node_id()) leases_->SetDraining(node.state() == rpc::DRAINING);
  };
  for (const auto& node : reply.nodes()) own(node);
  for (const auto& event : reply.events()) own(event.node());
}

void NodeServer::OnExit(int code, const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!exit_) exit_ = NodeExit{code, why};
  exited_.notify_all();
}

void NodeServer::Stop() {
  health_.SetServing(false);
  executor_.Post([this] { agent_->Stop(); });
}

NodeExit NodeServer::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  exited_.wait(lock, [this] { return exit_.has_value(); });
  return *exit_;
}

void NodeServer::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  if (lease_chain_ && leases_) {
    executor_.Post([this] {
      lease_chain_->RevokeWorkers();
      leases_->Shutdown();
    });
  }
  metrics_server_.reset();  // scrapes read the lease manager through the executor
  health_.SetServing(false);
  if (ingress_) ingress_->Stop();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  executor_.Stop();
}

}  // namespace halo::node
