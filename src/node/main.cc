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
#include "common/asio_executor.h"
#include "common/daemon.h"
#include "common/logging.h"
#include "common/process.h"
#include "common/random.h"
#include "node/node_agent.h"
#include "node/node_services.h"

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
  std::optional<halo::Settings> loaded = halo::LoadDaemonSettings(app, "halo-node", argc, argv, &exit_code);
  if (!loaded) return exit_code;
  const halo::Settings& settings = *loaded;

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
  auto gcs = halo::node::MakeGrpcGcsNodeClient(gcs_address, executor);

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
  halo::node::HealthServiceImpl health;
  std::unique_ptr<halo::node::NodeAgent> agent;
  int selected_port = 0;
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(absl::StrCat(settings.host, ":", settings.node_port), grpc::InsecureServerCredentials(),
                           &selected_port);
  builder.RegisterService(&health);
  agent = std::make_unique<halo::node::NodeAgent>(executor, clock, *gcs, self, agent_settings, on_exit);
  halo::node::NodeAgentServiceImpl status_service(executor, *agent);
  builder.RegisterService(&status_service);
  auto server = builder.BuildAndStart();
  if (!server || selected_port == 0) {
    return Fail(absl::StrCat("cannot serve on ", settings.host, ":", settings.node_port, " (port in use?)"));
  }
  self.set_address(absl::StrCat(settings.host, ":", selected_port));
  agent->SetAddress(self.address());  // known only once the server listens

  if (!settings.session_dir.empty()) {
    auto written = halo::WriteFileAtomically(settings.session_dir + "/node.pid", std::to_string(getpid()) + "\n");
    if (!written.ok()) return Fail(std::string(written.message()));
  }
  executor.RunInThread();
  executor.Post([&] {
    agent->Start([&, session = settings.session_dir, node_id = self.node_id(), address = self.address()] {
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
