// halo-node: the node agent daemon. Started by `halo start --head` (for the head machine) or
// `halo start --address GCS` (to join a cluster). Registers with the GCS, serves the standard health service
// the GCS probes, and exits when the GCS declares its node dead, serves another cluster, or stays unreachable
// past gcs_reconnect_timeout_ms. SIGTERM stops it gracefully (EXPECTED_TERMINATION).
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/advertised_address.h"
#include "common/asio_executor.h"
#include "common/daemon.h"
#include "common/lease_file.h"
#include "common/logging.h"
#include "common/process.h"
#include "common/random.h"
#include <sys/wait.h>

#include <set>

#include <boost/asio/signal_set.hpp>

#include "health/grpc_health_prober.h"
#include "health/health_check_manager.h"
#include "node/lease_manager.h"
#include "node/node_agent.h"
#include "health/health_service.h"
#include "node/node_services.h"
#include "node/object_store_service.h"
#include "node/process_worker_launcher.h"
#include "node/grpc_vouch_peers.h"
#include "node/node_lease_chain.h"

namespace {

int Fail(const std::string& message) { return halo::DaemonError("halo-node", message); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"halo-node: the Halo node agent"};
  std::string gcs_address;
  bool is_head = false;
  app.add_option("--gcs-address", gcs_address, "address of the cluster's GCS")->required();
  app.add_flag("--is-head", is_head, "this node runs on the head machine");
  int exit_code = 0;
  std::optional<halo::LoadedSettings> loaded =
      halo::LoadDaemonSettingsWithSources(app, "halo-node", argc, argv, &exit_code);
  if (!loaded) return exit_code;
  auto hosts = halo::ChooseHosts(loaded->values, loaded->source["host"] != "default", gcs_address,
                                 "the node agent");
  if (!hosts.ok()) return Fail(std::string(hosts.status().message()));
  // Workers inherit these, and every other setting this node was given.
  loaded->values.host = hosts->bind_host;
  loaded->values.advertise_host = hosts->advertise_host;
  const halo::Settings& settings = loaded->values;

  const sigset_t stop_signals = halo::BlockStopSignals();
  // The pid file is written once the node serves (`halo start` then knows it can wait for registration).
  halo::Status prepared = halo::PrepareDaemonSession(settings, "node", /*write_pid=*/false);
  if (!prepared.ok()) return Fail(std::string(prepared.message()));

  auto resources = halo::node::ParseResources(settings.resources);
  if (!resources.ok()) return Fail(std::string(resources.status().message()));
  auto labels = halo::node::ParseLabels(settings.labels);
  if (!labels.ok()) return Fail(std::string(labels.status().message()));

  halo::SystemRandom random;
  halo::rpc::NodeInfo self;
  self.set_node_id(random.HexId(14));
  self.set_is_head(is_head);
  self.set_pid(getpid());
  const int64_t cpus = settings.num_cpus >= 0 ? settings.num_cpus : std::thread::hardware_concurrency();
  (*self.mutable_resources())["CPU"] = static_cast<double>(cpus);
  for (const auto& [name, amount] : *resources) (*self.mutable_resources())[name] = amount;
  for (const auto& [key, value] : *labels) (*self.mutable_labels())[key] = value;

  halo::AsioExecutor executor;
  halo::SystemClock clock;
  auto gcs = halo::MakeGrpcGcsNodeClient(gcs_address, executor);

  std::mutex mutex;
  std::condition_variable exited;
  std::optional<std::pair<int, std::string>> exit_reason;
  auto on_exit = [&](int code, const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!exit_reason) exit_reason = std::make_pair(code, why);
    exited.notify_all();
  };
  halo::node::NodeAgentSettings agent_settings{settings.gcs_reconnect_timeout_ms, settings.gcs_retry_initial_ms,
                                               settings.gcs_retry_max_ms, settings.pubsub_poll_wait_ms,
                                               settings.rpc_timeout_ms};

  // Serve first: the GCS probes the address the node registers with.
  halo::health::HealthServiceImpl health;
  std::unique_ptr<halo::node::NodeAgent> agent;
  int selected_port = 0;
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(absl::StrCat(settings.host, ":", settings.node_port), grpc::InsecureServerCredentials(),
                           &selected_port);
  builder.RegisterService(&health);
  agent = std::make_unique<halo::node::NodeAgent>(executor, clock, *gcs, self, agent_settings, on_exit);
  const std::string session_dir = settings.session_dir.empty() ? settings.session_root : settings.session_dir;
  halo::node::ProcessWorkerLauncher launcher(session_dir + "/logs");
  halo::node::GrpcExecutableStore executables(executor, session_dir + "/executables",
                                              std::max<int64_t>(settings.worker_start_timeout_ms, 1));
  halo::node::LeaseManagerSettings lease_settings;
  lease_settings.node_id = self.node_id();
  lease_settings.gcs_address = gcs_address;
  for (const halo::SettingInfo& info : halo::AllSettings()) {
    if (info.name == "session_dir") continue;  // workers keep no session of their own
    lease_settings.worker_env[halo::EnvName(info.name)] = info.format(settings);
  }
  lease_settings.resources = std::map<std::string, double>(self.resources().begin(), self.resources().end());
  lease_settings.num_prestart_workers = settings.num_prestart_workers >= 0 ? settings.num_prestart_workers : cpus;
  lease_settings.workers_max = std::max<int64_t>(64, 4 * cpus);
  lease_settings.worker_start_timeout_ms = settings.worker_start_timeout_ms;
  lease_settings.waiting_requests_max = static_cast<size_t>(settings.node_lease_requests_max);
  // Its workers' lease: they stop serving when this agent stops renewing it (paused, hung, gone).
  std::error_code lease_dir_error;
  std::filesystem::create_directories(session_dir + "/leases", lease_dir_error);
  lease_settings.worker_lease_file = absl::StrCat(session_dir, "/leases/node-", self.node_id());
  auto lease_file = halo::LeaseFile::Create(lease_settings.worker_lease_file);
  if (!lease_file.ok()) return Fail(std::string(lease_file.status().message()));
  lease_settings.worker_idle_timeout_ms = settings.worker_idle_timeout_ms;
  halo::SystemRandom lease_random;
  auto leases = std::make_unique<halo::node::LeaseManager>(executor, clock, lease_random, launcher, executables,
                                                           lease_settings);
  halo::node::NodeAgentServiceImpl status_service(executor, *agent, *leases);
  // The node's own lease bounds its workers'; losing it ends the node agent (its workers first).
  auto vouch_peers = halo::node::MakeGrpcVouchPeers(executor);
  halo::node::NodeLeaseChain lease_chain(
      executor, clock, *gcs, *vouch_peers, self.node_id(),
      halo::node::NodeLeaseChainSettings{
          halo::node::NodeLeaseKeeperSettings{settings.node_lease_ms, settings.node_lease_renew_interval_ms,
                                              settings.node_vouch_after_ms, /*clock_margin_percent=*/10,
                                              /*vouch_limit_ms=*/settings.gcs_reconnect_timeout_ms},
          settings.worker_lease_ms},
      [file = lease_file->get()](int64_t deadline_ms) { file->SetDeadlineMs(deadline_ms); }, on_exit);
  // No worker serves before the node holds its own lease.
  executor.Post([&] { lease_chain.Start(); });
  status_service.SetVouchHandler([&](const halo::rpc::VouchRequest& request) { return lease_chain.HandleVouch(request); });
  // Leaving (stopped, or drained and idle): its workers end, and it stops vouching, before the GCS hears of it,
  // because the GCS restarts their actors at once.
  agent->SetBeforeLeaving([&] {
    lease_chain.Leave();
    leases->Shutdown();
  });
  builder.RegisterService(&status_service);
  halo::node::ObjectStore object_store(
      static_cast<uint64_t>(settings.object_store_memory_bytes),
      std::make_unique<halo::node::FileSpillStorage>(session_dir + "/spill/" + self.node_id()));
  halo::node::ObjectStoreServiceImpl object_service(object_store, self.node_id(), settings.object_chunk_bytes,
                                                    settings.rpc_timeout_ms);
  object_service.SetJobListener([&](uint32_t job_id, const std::string& driver_address) {
    executor.Post([&, job_id, driver_address] { leases->NoteJob(job_id, driver_address); });
  });
  builder.RegisterService(&object_service);
  // Owners ping held lease calls every 10 s (keepalive); allow it.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.SetMaxReceiveMessageSize(-1);
  builder.SetMaxSendMessageSize(-1);
  auto server = builder.BuildAndStart();
  if (!server || selected_port == 0) {
    return Fail(absl::StrCat("cannot serve on ", settings.host, ":", settings.node_port, " (port in use?)"));
  }
  self.set_address(absl::StrCat(settings.advertise_host, ":", selected_port));
  agent->SetAddress(self.address());  // known only once the server listens
  leases->SetNodeAddress(self.address());
  agent->SetIdleCheck([&] { return leases->Idle(); });
  leases->SetIdleListener([&] { agent->OnIdle(); });
  agent->SetClusterListener([&, node_id = self.node_id()](const halo::rpc::PollNodeEventsReply& reply) {
    leases->OnClusterUpdate(reply);
    auto own = [&](const halo::rpc::NodeInfo& node) {
      if (node.node_id() == node_id) leases->SetDraining(node.state() == halo::rpc::DRAINING);
    };
    for (const auto& node : reply.nodes()) own(node);
    for (const auto& event : reply.events()) own(event.node());
  });
  // The drivers and lessees this node's work depends on are health-checked like nodes are by the GCS; one that
  // stops answering ends its job or its leases here. The watched set follows the lease manager each second.
  // Ending a job cannot be undone, so it takes more failed checks than a node's death (a busy driver may miss
  // a few): about 10 periods.
  constexpr int64_t kPeerFailureThreshold = 10;
  class PeerListener : public halo::health::HealthCheckListener {
   public:
    explicit PeerListener(std::function<void(const std::string&)> gone) : gone_(std::move(gone)) {}
    void OnNodeSuspected(const std::string&) override {}
    void OnNodeRecovered(const std::string&) override {}
    void OnNodeFailed(const std::string& address) override { gone_(address); }

   private:
    std::function<void(const std::string&)> gone_;
  };
  std::set<std::string> watched_peers;
  halo::health::GrpcHealthProber peer_prober(executor);
  PeerListener peer_listener([&](const std::string& address) {
    watched_peers.erase(address);  // the checker forgot it; if it is needed again, it is watched anew
    leases->OnPeerGone(address);
  });
  halo::health::HealthCheckManager peer_checks(
      executor, peer_prober, peer_listener,
      halo::health::HealthCheckSettings{settings.health_check_initial_delay_ms, settings.health_check_period_ms,
                                     settings.health_check_timeout_ms, kPeerFailureThreshold});
  std::function<void()> sync_peers = [&] {
    const std::set<std::string> wanted = leases->PeersToWatch();
    for (const auto& peer : wanted) {
      if (watched_peers.insert(peer).second) peer_checks.AddNode(peer, peer);
    }
    for (auto it = watched_peers.begin(); it != watched_peers.end();) {
      if (wanted.count(*it) == 0) {
        peer_checks.RemoveNode(*it);
        it = watched_peers.erase(it);
      } else {
        ++it;
      }
    }
    executor.RunAfter(1000, sync_peers);
  };
  executor.Post(sync_peers);
  leases->SetJobEndedListener([&](uint32_t job_id) {
    const size_t freed = object_store.FreeJob(job_id);
    if (freed > 0) SPDLOG_INFO("freed {} objects of job {}", freed, job_id);
  });
  // Worker exits arrive as SIGCHLD; each wakes one reap of every exited child.
  boost::asio::signal_set children(executor.io_context(), SIGCHLD);
  std::function<void()> reap = [&] {
    children.async_wait([&](const boost::system::error_code& error, int) {
      if (error) return;
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        leases->OnWorkerExited(pid, halo::DescribeExit(status));
      }
      reap();
    });
  };
  reap();

  if (!settings.session_dir.empty()) {
    auto written = halo::WriteFileAtomically(settings.session_dir + "/node.pid", std::to_string(getpid()) + "\n");
    if (!written.ok()) return Fail(std::string(written.message()));
  }
  executor.RunInThread();
  executor.Post([&] {
    agent->Start([&, session = settings.session_dir, node_id = self.node_id(), address = self.address()] {
      lease_chain.StartRenewing();
      if (session.empty()) return;
      (void)halo::WriteFileAtomically(session + "/node.address", address + "\n");
      (void)halo::WriteFileAtomically(session + "/node.id", node_id + "\n");
    });
  });
  SPDLOG_INFO("node {} serving at {}, joining the GCS at {}", self.node_id(), self.address(), gcs_address);

  std::thread signal_waiter([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    health.SetServing(false);
    executor.Post([&] { agent->Stop(); });
  });
  signal_waiter.detach();

  std::unique_lock<std::mutex> lock(mutex);
  exited.wait(lock, [&] { return exit_reason.has_value(); });
  auto [code, why] = *exit_reason;
  lock.unlock();
  executor.Post([&] {
    lease_chain.RevokeWorkers();
    leases->Shutdown();
  });
  health.SetServing(false);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  executor.Stop();
  if (code != 0) {
    Fail(why);
  } else {
    std::cout << "halo-node: " << why << std::endl;
  }
  halo::ExitDaemon(code == 0 ? 0 : 1);
}
