// Head failover time: two head candidates (halo-gcs --head-mode ha) on one redis-server; the leader is
// SIGKILLed (or, with --graceful, stopped with SIGTERM, which gives its lease up) and the clock runs until
// the first KV write acknowledged through the new leader (a client given both addresses, as node agents and
// drivers are). Prints every trial and the p50/p99.
//   failover_bench --redis-uri redis://127.0.0.1:PORT [--trials 30] [--graceful]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/process.h"
#include "rpc/gcs_client.h"
#include "rpc/cluster_security.h"

namespace {

using Clock = std::chrono::steady_clock;

// A port the kernel picks for a bound socket, released at once (good enough for a benchmark).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

struct Candidate {
  pid_t pid = -1;
  std::string address;
  std::string session;
};

Candidate StartCandidate(const std::string& redis_uri, const std::string& name_space, const std::string& root,
                         const std::string& name) {
  Candidate c;
  const int port = FreePort();
  c.address = absl::StrCat("127.0.0.1:", port);
  c.session = absl::StrCat(root, "/", name);
  std::filesystem::create_directories(c.session);
  halo::SpawnOptions spawn;
  spawn.argv = {halo::ExecutableDir() + "/../bin/halo-gcs", "--storage", redis_uri, "--storage-namespace", name_space,
                "--head-mode", "ha", "--port", std::to_string(port), "--session-dir", c.session};
  spawn.output_path = c.session + "/gcs.out";
  spawn.die_with_parent = true;
  auto pid = halo::Spawn(spawn);
  c.pid = pid.ok() ? *pid : -1;
  return c;
}

bool WaitFor(const std::function<bool()>& done, int64_t timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"failover_bench: head failover time with two candidates on Redis"};
  // The cluster this bench starts and this process share one token.
  setenv(halo::rpc::kTokenEnvironment, halo::rpc::NewClusterToken().c_str(), /*overwrite=*/0);
  std::string redis_uri;
  int trials = 30;
  bool graceful = false;
  app.add_flag("--graceful", graceful, "stop the leader with SIGTERM (a hand-over) instead of SIGKILL");
  app.add_option("--redis-uri", redis_uri, "redis://host:port of a running redis-server")->required();
  app.add_option("--trials", trials, "kills of the leader")->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  char pattern[] = "/tmp/halo-failover-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return 1;
  const std::string root = pattern;
  std::vector<double> failover_ms;
  for (int t = 0; t < trials; ++t) {
    const std::string ns = absl::StrCat("failover", getpid(), "_", t);
    Candidate a = StartCandidate(redis_uri, ns, root, absl::StrCat("a", t));
    halo::GcsClient to_a(a.address, 500);
    if (!WaitFor([&] { auto info = to_a.GetClusterInfo(); return info.ok() && info->is_leader(); }, 20000)) {
      std::cerr << "trial " << t << ": the first candidate did not serve" << std::endl;
      return 1;
    }
    Candidate b = StartCandidate(redis_uri, ns, root, absl::StrCat("b", t));
    // The standby is ready once it says it stands by.
    if (!WaitFor([&] { return halo::ReadTrimmedFile(b.session + "/logs/gcs.log").find("standing by") != std::string::npos; },
                 20000)) {
      std::cerr << "trial " << t << ": the standby did not start" << std::endl;
      return 1;
    }
    halo::GcsClient both(a.address + "," + b.address, 200);
    const auto killed = Clock::now();
    kill(a.pid, graceful ? SIGTERM : SIGKILL);
    // Until the new leader has acknowledged a write. (A stopping leader may still apply writes until the
    // standby's election moves the epoch on; those do not count.)
    halo::GcsClient to_b(b.address, 200);
    const bool served = WaitFor(
        [&] {
          auto info = to_b.GetClusterInfo();
          return info.ok() && info->is_leader() && both.KvPut("bench", "k", "v").ok();
        },
        20000);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - killed).count();
    halo::WaitForProcessExit(a.pid, 5000);
    kill(b.pid, SIGKILL);
    halo::WaitForProcessExit(b.pid, 5000);
    if (!served) {
      std::cerr << "trial " << t << ": no new leader within 20 s" << std::endl;
      return 1;
    }
    failover_ms.push_back(ms);
    std::printf("trial %d: %.0f ms\n", t, ms);
  }
  std::filesystem::remove_all(root);
  std::printf("%s, %d trials: p50 %.0f ms, p99 %.0f ms, min %.0f ms, max %.0f ms\n",
              graceful ? "hand-over (SIGTERM of the leader -> first write acknowledged by the new one)"
                       : "failover (SIGKILL of the leader -> first write acknowledged by the new one)",
              trials, Percentile(failover_ms, 0.5), Percentile(failover_ms, 0.99),
              *std::min_element(failover_ms.begin(), failover_ms.end()),
              *std::max_element(failover_ms.begin(), failover_ms.end()));
  return 0;
}
