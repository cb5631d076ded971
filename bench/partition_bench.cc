// Partition benchmark on a real multi-host cluster (network namespaces: tests/multihost/multihost_cluster.h).
//  1. --isolate-trials N: a detached actor's host is cut off from every other host; how long until the
//     replacement instance's first heartbeat, and how much the two instances overlapped (must be <= 0).
//  2. --kill-trials N: the actor's node agent is SIGKILLed; how long until the replacement's first heartbeat.
//  3. --throughput: `halo microbenchmark` from the driver host, across hosts.
// Prints "name: value unit" lines (medians and spreads) for bench/RESULTS.md. Needs root.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>

#include "halo/halo.h"
#include "multihost/beacon.h"
#include "multihost/multihost_cluster.h"
#include "rpc/cluster_security.h"

using halo::testing::Beacon;
using halo::testing::MakeBeacon;
using halo::testing::MultiHostCluster;
using halo::testing::WaitUntil;

HALO_REMOTE(MakeBeacon, &Beacon::Record, &Beacon::Pid, &Beacon::Node);

namespace {

struct Trial {
  std::string host;
  int pid = 0;
  std::string dir;
  halo::ActorHandle<Beacon> actor;
};

Trial StartBeacon(MultiHostCluster& cluster, const std::string& dir) {
  std::filesystem::create_directories(dir);
  auto actor = halo::Actor(MakeBeacon)
                   .SetLifetime(halo::Detached)
                   .SetMaxRestarts(-1)
                   .SetResources({{"beacon", 1}})
                   .Remote(dir);
  Trial trial{"", 0, dir, actor};
  trial.pid = *halo::Get(actor.Task(&Beacon::Pid).Remote(), std::chrono::seconds(60));
  trial.host = cluster.HostOfAddress(*halo::Get(actor.Task(&Beacon::Node).Remote(), std::chrono::seconds(60)));
  WaitUntil([&] { return halo::testing::Instances(dir).count(trial.pid) > 0; }, std::chrono::seconds(10));
  return trial;
}

// First heartbeat of an instance other than the trial's first one, or -1 within the timeout.
int64_t ReplacementNs(const Trial& trial, std::chrono::milliseconds timeout) {
  int64_t first = -1;
  WaitUntil(
      [&] {
        for (const auto& [pid, instance] : halo::testing::Instances(trial.dir)) {
          if (pid != trial.pid) first = instance.first_ns;
        }
        return first >= 0;
      },
      timeout);
  return first;
}

void Summary(const std::string& name, std::vector<double> values, const std::string& unit) {
  if (values.empty()) {
    std::cout << name << ": none" << std::endl;
    return;
  }
  std::sort(values.begin(), values.end());
  auto at = [&](double q) { return values[static_cast<size_t>(q * (values.size() - 1) + 0.5)]; };
  std::cout << name << "_p50: " << at(0.5) << " " << unit << "\n"
            << name << "_min: " << values.front() << " " << unit << "\n"
            << name << "_p90: " << at(0.9) << " " << unit << "\n"
            << name << "_max: " << values.back() << " " << unit << "\n"
            << name << "_trials: " << values.size() << std::endl;
}

// Brings the host's node agent back (its old one exited or was killed) once the old one is gone.
void ReplaceNodeAgent(MultiHostCluster& cluster, const std::string& host) {
  const pid_t old = cluster.NodeAgentPid(host);
  WaitUntil([&] { return halo::testing::ProcessExited(old); }, std::chrono::seconds(15));
  cluster.StartNode(host);
}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("HALO_WORKER_MODE") != nullptr) halo::Init(argc, argv);
  CLI::App app{"partition_bench: actor replacement across hosts under partitions and kills"};
  // The cluster this bench starts and this process share one token.
  setenv(halo::rpc::kTokenEnvironment, halo::rpc::NewClusterToken().c_str(), /*overwrite=*/0);
  int isolate_trials = 30;
  int kill_trials = 10;
  bool throughput = false;
  app.add_option("--isolate-trials", isolate_trials, "host isolations")->capture_default_str();
  app.add_option("--kill-trials", kill_trials, "SIGKILLs of the actor's node agent")->capture_default_str();
  app.add_flag("--throughput", throughput, "also run `halo microbenchmark` from the driver host");
  CLI11_PARSE(app, argc, argv);

  MultiHostCluster cluster(3);
  cluster.Start();
  cluster.EnterDriverHost();
  setenv("HALO_ADDRESS", cluster.GcsAddress().c_str(), 1);
  halo::Init();

  std::vector<double> replaced_ms, overlap_ms;
  int overlapping = 0;
  for (int i = 0; i < isolate_trials; ++i) {
    Trial trial = StartBeacon(cluster, cluster.dir() + "/isolate-" + std::to_string(i));
    const int64_t cut = halo::testing::MonotonicNs();
    cluster.net().Isolate(trial.host);
    const int64_t replaced = ReplacementNs(trial, std::chrono::seconds(20));
    // Long enough for the old instance's last heartbeat to be written if it were still running.
    WaitUntil([&] { return halo::testing::ProcessExited(trial.pid); }, std::chrono::seconds(10));
    cluster.net().HealAll();
    const int64_t overlap = halo::testing::WorstOverlapNs(halo::testing::Instances(trial.dir), false);
    if (replaced >= 0) replaced_ms.push_back((replaced - cut) / 1e6);
    overlap_ms.push_back(overlap / 1e6);
    overlapping += overlap > 0 ? 1 : 0;
    halo::Kill(trial.actor);
    ReplaceNodeAgent(cluster, trial.host);
  }
  Summary("isolated_host_replacement", replaced_ms, "ms");
  Summary("isolated_host_overlap", overlap_ms, "ms");
  std::cout << "isolated_host_trials_with_overlap: " << overlapping << std::endl;

  std::vector<double> kill_ms;
  for (int i = 0; i < kill_trials; ++i) {
    Trial trial = StartBeacon(cluster, cluster.dir() + "/kill-" + std::to_string(i));
    const int64_t killed = halo::testing::MonotonicNs();
    kill(cluster.NodeAgentPid(trial.host), SIGKILL);
    const int64_t replaced = ReplacementNs(trial, std::chrono::seconds(20));
    if (replaced >= 0) kill_ms.push_back((replaced - killed) / 1e6);
    halo::Kill(trial.actor);
    ReplaceNodeAgent(cluster, trial.host);
  }
  Summary("node_agent_sigkill_replacement", kill_ms, "ms");

  if (throughput) {
    auto result = cluster.HaloIn(MultiHostCluster::kDriver,
                                 {"microbenchmark", "--address", cluster.GcsAddress(), "--duration-s", "3"},
                                 std::chrono::minutes(10));
    std::cout << result.output << std::flush;
  }
  halo::Shutdown();
  return 0;
}
