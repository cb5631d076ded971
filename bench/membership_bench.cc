// Membership benchmarks against real processes on loopback:
//   membership_bench detection --trials 20     SIGKILL and SIGSTOP of a node agent until the GCS declares it dead
//   membership_bench reregister --nodes 100    GCS kill -9 + restart until every node agent is back with it
//   membership_bench health-cpu --nodes 1000   GCS CPU time per second spent probing that many nodes
// Each starts its own head with `halo start --head` in a temporary session and stops it at the end.
// Nodes in `reregister` and `health-cpu` are simulated in this process: real NodeAgents (or bare
// registrations) over gRPC, all answering health probes from one health server here.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/asio_executor.h"
#include "common/logging.h"
#include "common/process.h"
#include "common/random.h"
#include "node/node_agent.h"
#include "health/health_service.h"
#include "node/node_services.h"
#include "rpc/gcs_client.h"
#include "rpc/cluster_channel.h"
#include "rpc/cluster_security.h"

namespace {

using Clock = std::chrono::steady_clock;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs `halo args...` to completion; returns its exit status.
int Halo(const std::vector<std::string>& args) {
  halo::SpawnOptions spawn;
  spawn.argv = {halo::ExecutableDir() + "/../bin/halo"};
  spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
  spawn.new_session = false;
  spawn.output_path = "/dev/null";
  auto pid = halo::Spawn(spawn);
  if (!pid.ok()) return -1;
  int status = 0;
  waitpid(*pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Head {
  std::string dir;
  std::string address;
  explicit Head(std::vector<std::string> extra) {
    char pattern[] = "/tmp/halo-bench-XXXXXX";
    dir = mkdtemp(pattern);
    std::vector<std::string> args = {"start", "--head", "--session-dir", dir + "/head", "--port", "0", "--num-cpus", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (Halo(args) != 0) {
      std::cerr << "cannot start a head; see " << dir << "/head/logs\n";
      std::exit(1);
    }
    address = halo::ReadTrimmedFile(dir + "/head/gcs.address");
  }
  ~Head() {
    Halo({"stop", "--session-dir", dir + "/head"});
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  pid_t GcsPid() const { return std::atoi(halo::ReadTrimmedFile(dir + "/head/gcs.pid").c_str()); }
};

std::optional<halo::rpc::NodeInfo> FindNode(halo::GcsClient& client, const std::string& id) {
  auto nodes = client.GetAllNodes();
  if (!nodes.ok()) return std::nullopt;
  for (const auto& n : *nodes) {
    if (n.node_id() == id) return n;
  }
  return std::nullopt;
}

void PrintPercentiles(const std::string& name, std::vector<int64_t> values) {
  std::sort(values.begin(), values.end());
  auto at = [&](double p) { return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))]; };
  std::cout << name << ": trials=" << values.size() << " p50_ms=" << at(0.5) << " p99_ms=" << at(0.99)
            << " max_ms=" << values.back() << " min_ms=" << values.front() << std::endl;
}

int Detection(int trials) {
  Head head({});
  halo::GcsClient client(head.address, 5000);
  for (int sig : {SIGKILL, SIGSTOP}) {
    std::vector<int64_t> detection;
    for (int t = 0; t < trials; ++t) {
      const std::string session = absl::StrCat(head.dir, "/node-", sig, "-", t);
      if (Halo({"start", "--address", head.address, "--session-dir", session}) != 0) {
        std::cerr << "node failed to start\n";
        return 1;
      }
      const std::string id = halo::ReadTrimmedFile(session + "/node.id");
      const pid_t pid = std::atoi(halo::ReadTrimmedFile(session + "/node.pid").c_str());
      // Let it settle into steady health checking, at a random phase of the probe period.
      std::this_thread::sleep_for(std::chrono::milliseconds(500 + (t * 37) % 300));
      const int64_t killed_ms = WallMs();
      kill(pid, sig);
      auto deadline = Clock::now() + std::chrono::seconds(30);
      std::optional<halo::rpc::NodeInfo> node;
      while (Clock::now() < deadline) {
        node = FindNode(client, id);
        if (node && node->state() == halo::rpc::DEAD) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (!node || node->state() != halo::rpc::DEAD) {
        std::cerr << "node not declared dead within 30 s\n";
        return 1;
      }
      detection.push_back(node->death_time_ms() - killed_ms);
      kill(pid, SIGCONT);
      kill(pid, SIGKILL);
      halo::WaitForProcessExit(pid, 5000);
    }
    PrintPercentiles(sig == SIGKILL ? "detection_sigkill" : "detection_sigstop", detection);
  }
  return 0;
}

// One health server answering for every simulated node.
struct HealthServer {
  halo::health::HealthServiceImpl health;
  std::unique_ptr<grpc::Server> server;
  std::string address;
  HealthServer() {
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&health);
    server = builder.BuildAndStart();
    address = absl::StrCat("127.0.0.1:", port);
  }
};

int Reregister(int nodes, int trials) {
  Head head({});
  HealthServer health;
  halo::AsioExecutor executor;
  halo::SystemClock clock;
  halo::SystemRandom random;
  auto gcs = halo::MakeGrpcGcsNodeClient(head.address, executor);
  std::vector<std::unique_ptr<halo::node::NodeAgent>> agents;
  std::atomic<int> registered{0};
  for (int i = 0; i < nodes; ++i) {
    halo::rpc::NodeInfo self;
    self.set_node_id(random.HexId(14));
    self.set_address(health.address);
    agents.push_back(std::make_unique<halo::node::NodeAgent>(executor, clock, *gcs, self,
                                                             halo::node::NodeAgentSettings{},
                                                             [](int, const std::string& why) {
                                                               std::cerr << "agent exited: " << why << "\n";
                                                             }));
  }
  executor.RunInThread();
  for (auto& agent : agents) executor.Post([&] { agent->Start([&] { ++registered; }); });
  while (registered.load() < nodes) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::vector<int64_t> times;
  for (int t = 0; t < trials; ++t) {
    kill(head.GcsPid(), SIGKILL);
    halo::WaitForProcessExit(head.GcsPid(), 5000);
    const auto start = Clock::now();
    const std::string port = head.address.substr(head.address.rfind(':') + 1);
    if (Halo({"start", "--head", "--session-dir", head.dir + "/head", "--port", port}) != 0) return 1;
    halo::rpc::PollNodeEventsRequest probe;
    probe.set_subscriber_id("bench");
    auto fresh = halo::GcsClient(head.address, 5000).PollNodeEvents(probe);
    if (!fresh.ok()) return 1;
    const std::string incarnation = fresh->incarnation();
    // Every agent is back when it hears from the new incarnation.
    while (true) {
      std::promise<int> count;
      executor.Post([&] {
        int connected = 0;
        for (auto& agent : agents) connected += agent->gcs_connected() && agent->incarnation() == incarnation;
        count.set_value(connected);
      });
      if (count.get_future().get() == nodes) break;
      if (Clock::now() - start > std::chrono::seconds(60)) {
        std::promise<std::string> states;
        executor.Post([&] {
          std::map<std::string, int> histogram;
          for (auto& agent : agents) {
            ++histogram[absl::StrCat("connected=", agent->gcs_connected(), " new incarnation=",
                                     agent->incarnation() == incarnation)];
          }
          std::string text;
          for (auto& [state, n] : histogram) absl::StrAppend(&text, n, " x ", state, "; ");
          states.set_value(text);
        });
        std::cerr << "agents did not all come back within 60 s (trial " << t << "): " << states.get_future().get() << "\n";
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    times.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  }
  PrintPercentiles(absl::StrCat("gcs_restart_all_", nodes, "_nodes_back"), times);
  // No callback may reach an agent once it is gone: stop the loop, then the client (cancelling its calls),
  // then the agents.
  executor.Stop();
  gcs.reset();
  agents.clear();
  return 0;
}

int64_t ProcessCpuMs(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(content.substr(content.rfind(')') + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return (utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

int HealthCpu(int nodes, int seconds) {
  Head head({});
  HealthServer health;
  halo::GcsClient client(head.address, 10000);
  halo::SystemRandom random;
  grpc::ChannelArguments args;
  auto channel = halo::rpc::NewClusterChannel(head.address, args);
  auto stub = halo::rpc::NodeInfoService::NewStub(channel);
  for (int i = 0; i < nodes; ++i) {
    halo::rpc::RegisterNodeRequest request;
    request.mutable_node()->set_node_id(random.HexId(14));
    request.mutable_node()->set_address(health.address);
    halo::rpc::RegisterNodeReply reply;
    grpc::ClientContext context;
    if (!stub->RegisterNode(&context, request, &reply).ok()) return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // past the initial delay: steady probing
  const pid_t gcs = head.GcsPid();
  const int64_t cpu_before = ProcessCpuMs(gcs);
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const int64_t cpu_ms = ProcessCpuMs(gcs) - cpu_before;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  auto all = client.GetAllNodes();
  int dead = 0;
  for (const auto& n : *all) dead += n.state() == halo::rpc::DEAD;
  std::cout << "health_check_cpu: nodes=" << nodes << " gcs_cpu_ms_per_s=" << static_cast<int64_t>(cpu_ms / elapsed)
            << " (" << 100.0 * cpu_ms / elapsed / 1000 << "% of one core) false_deaths=" << dead << std::endl;
  return dead == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"membership_bench"};
  app.require_subcommand(1);
  int trials = 20, nodes = 100, seconds = 10;
  auto* detection = app.add_subcommand("detection", "SIGKILL/SIGSTOP detection time");
  detection->add_option("--trials", trials)->check(CLI::Range(1, 1000));
  auto* reregister = app.add_subcommand("reregister", "GCS restart until all node agents are back");
  reregister->add_option("--nodes", nodes)->check(CLI::Range(1, 10000));
  reregister->add_option("--trials", trials)->check(CLI::Range(1, 100));
  auto* cpu = app.add_subcommand("health-cpu", "GCS CPU spent on health checks");
  cpu->add_option("--nodes", nodes)->check(CLI::Range(1, 100000));
  cpu->add_option("--seconds", seconds)->check(CLI::Range(1, 600));
  CLI11_PARSE(app, argc, argv);
  // The heads this bench starts, their node agents and this process share one cluster token.
  setenv(halo::rpc::kTokenEnvironment, halo::rpc::NewClusterToken().c_str(), /*overwrite=*/0);
  signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::warn);
  if (detection->parsed()) return Detection(trials);
  if (reregister->parsed()) return Reregister(nodes, trials);
  return HealthCpu(nodes, seconds);
}
