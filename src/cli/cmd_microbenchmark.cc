// `halo microbenchmark`: the task, actor and object figures `ray microbenchmark` prints, with Ray's metric
// names (plus actor creation, restart latency and the seed's HA overhead workload), on a local cluster it starts (or the cluster at --address). The `halo` executable is itself the
// driver, and node agents start it as the workers (main() hands worker mode to halo::Init).
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <filesystem>
#include <functional>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "common/process.h"
#include "halo/halo.h"

namespace halo::cli {
namespace {

int Noop(int x) { return x; }

// One client of multi_client_tasks_async: submits rounds of `batch` tasks and waits for each round.
int64_t ClientRounds(int rounds, int batch) {
  int64_t done = 0;
  for (int r = 0; r < rounds; ++r) {
    std::vector<ObjectRef<int>> refs;
    refs.reserve(batch);
    for (int i = 0; i < batch; ++i) refs.push_back(Task(Noop).Remote(i));
    done += static_cast<int64_t>(Get(refs).size());
  }
  return done;
}

// The actor of the actor metrics.
class Bench {
 public:
  int Noop(int x) { return x; }
  int64_t Sum(std::vector<int> values) { return std::accumulate(values.begin(), values.end(), int64_t{0}); }
  int Pid() { return getpid(); }
};
Bench* MakeBench() { return new Bench(); }

// One client of n_n_actor_calls_async: rounds of `batch` async calls to its own actor.
int64_t ActorClientRounds(ActorHandle<Bench> actor, int rounds, int batch) {
  int64_t done = 0;
  for (int r = 0; r < rounds; ++r) {
    std::vector<ObjectRef<int>> refs;
    refs.reserve(batch);
    for (int i = 0; i < batch; ++i) refs.push_back(actor.Task(&Bench::Noop).Remote(i));
    done += static_cast<int64_t>(Get(refs).size());
  }
  return done;
}

HALO_REMOTE(Noop, ClientRounds, MakeBench, &Bench::Noop, &Bench::Sum, &Bench::Pid, ActorClientRounds);

using Clock = std::chrono::steady_clock;

constexpr int kRestartTrials = 20;

// Runs body repeatedly for about duration; body returns how many units it did. Returns units per second.
double Rate(double duration_s, const std::function<int64_t()>& body) {
  const auto start = Clock::now();
  int64_t units = 0;
  double elapsed = 0;
  do {
    units += body();
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < duration_s);
  return static_cast<double>(units) / elapsed;
}

void Print(const std::string& name, double value, const std::string& unit) {
  std::cout << name << ": " << absl::StrFormat("%.2f", value) << " " << unit << std::endl;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  if (values.empty()) return 0;
  return values[std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())))];
}

// Milliseconds from SIGKILL of the actor's process to the first call answered by its next instance. The
// actor must run on this machine (a local cluster).
// A fresh actor per trial: repeated kills of one actor would measure its restart backoff (a crash loop), not
// the restart of an instance that dies once.
std::vector<double> RestartLatenciesMs(int trials) {
  std::vector<double> latencies;
  for (int t = 0; t < trials; ++t) {
    auto actor = Actor(MakeBench).SetMaxRestarts(-1).SetMaxTaskRetries(-1).Remote();
    const int pid = *Get(actor.Task(&Bench::Pid).Remote(), std::chrono::seconds(60));
    const auto killed = Clock::now();
    if (kill(pid, SIGKILL) != 0) throw RuntimeError("cannot kill the actor's process (is the cluster local?)");
    const int next = *Get(actor.Task(&Bench::Pid).Remote(), std::chrono::seconds(60));
    latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - killed).count());
    if (next == pid) throw RuntimeError("the actor answered from the killed process");
    Kill(actor);
  }
  return latencies;
}

// The seed's HA overhead workload (100 calls summing 10,000 integers) on an actor without and with restarts
// and task retries, in pairs of rounds for about duration_s (at least 40 pairs); which of the two goes first
// alternates, so neither gains from going second. Returns the median round of each (ms) and the median of
// the pairs' ratios (ha / plain).
struct HaOverhead {
  double plain_ms = 0;
  double ha_ms = 0;
  double ratio = 0;
};
HaOverhead MeasureHaOverhead(double duration_s) {
  auto plain = Actor(MakeBench).Remote();
  auto ha = Actor(MakeBench).SetMaxRestarts(3).SetMaxTaskRetries(2).Remote();
  const std::vector<int> data = [] {
    std::vector<int> values(10000);
    std::iota(values.begin(), values.end(), 0);
    return values;
  }();
  auto round = [&](ActorHandle<Bench>& actor) {
    const auto start = Clock::now();
    std::vector<ObjectRef<int64_t>> sums;
    for (int i = 0; i < 100; ++i) sums.push_back(actor.Task(&Bench::Sum).Remote(data));
    for (const auto& sum : Get(sums)) {
      if (*sum != int64_t{49995000}) throw RuntimeError("wrong sum");
    }
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  round(plain);
  round(ha);
  std::vector<double> plain_ms, ha_ms, ratios;
  const auto start = Clock::now();
  for (int r = 0; r < 10000 && (r < 40 || std::chrono::duration<double>(Clock::now() - start).count() < duration_s);
       ++r) {
    double p = 0, h = 0;
    if (r % 2 == 0) {
      p = round(plain);
      h = round(ha);
    } else {
      h = round(ha);
      p = round(plain);
    }
    plain_ms.push_back(p);
    ha_ms.push_back(h);
    ratios.push_back(h / p);
  }
  return HaOverhead{Median(plain_ms), Median(ha_ms), Median(ratios)};
}

}  // namespace

int RunMicrobenchmark(const MicrobenchmarkOptions& options) {
  if (options.duration_s <= 0) return Fail("--duration-s must be positive");
  std::string address = options.address;
  std::string local_root;
  if (address.empty()) {
    char pattern[] = "/tmp/halo-microbenchmark-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return Fail("cannot make a temporary session directory under /tmp");
    local_root = pattern;
    StartOptions start;
    start.head = true;
    // A throwaway cluster: no HTTP ingress, so it never competes for a running cluster's serve_http_port.
    start.passthrough = {"--session-root", local_root, "--session-dir", local_root + "/session", "--port", "0",
                         "--serve-http-port", "-1"};
    SettingsInputs inputs;
    inputs.flags = {{"session_root", local_root},
                    {"session_dir", local_root + "/session"},
                    {"port", "0"},
                    {"serve_http_port", "-1"}};
    std::cerr << "halo microbenchmark: starting a local cluster in " << local_root << std::endl;
    // Standard output carries only the metric lines.
    std::streambuf* out = std::cout.rdbuf(std::cerr.rdbuf());
    const int started = RunStart(start, inputs);
    std::cout.rdbuf(out);
    if (started != 0) return Fail("could not start a local cluster");
    address = ReadTrimmedFile(local_root + "/session/gcs.address");
    // The driver below finds the local cluster's token (and any TLS files) in its session, not the latest one.
    setenv("HALO_SESSION_DIR", (local_root + "/session").c_str(), /*overwrite=*/1);
  }
  auto stop_local = [&] {
    if (local_root.empty()) return;
    SettingsInputs inputs;
    inputs.flags = {{"session_root", local_root}, {"session_dir", local_root + "/session"}};
    std::streambuf* out = std::cout.rdbuf(std::cerr.rdbuf());
    RunStop(inputs);
    std::cout.rdbuf(out);
    std::error_code ignored;
    std::filesystem::remove_all(local_root, ignored);
  };

  int code = 0;
  try {
    std::string flag = "--address";
    char program[] = "halo";
    char* argv[] = {program, flag.data(), address.data(), nullptr};
    Init(3, argv);
    const double d = options.duration_s;
    Get(Task(Noop).Remote(0));  // workers started and leased before timing

    Print("single_client_tasks_sync", Rate(d, [] { return *Get(Task(Noop).Remote(1)) == 1 ? 1 : 0; }), "tasks/s");
    Print("single_client_tasks_async", Rate(d, [] { return ClientRounds(1, 1000); }), "tasks/s");
    // Clients take no CPU of their own, so their tasks have every CPU.
    Print("multi_client_tasks_async", Rate(d, [&] {
            std::vector<ObjectRef<int64_t>> clients;
            for (int c = 0; c < options.clients; ++c) {
              clients.push_back(Task(ClientRounds).SetResources({{"CPU", 0}}).Remote(5, 1000));
            }
            int64_t total = 0;
            for (const auto& done : Get(clients)) total += *done;
            return total;
          }),
          "tasks/s");
    Print("single_client_put_calls", Rate(d, [] {
            for (int i = 0; i < 1000; ++i) Put(i);
            return int64_t{1000};
          }),
          "calls/s");
    ObjectRef<int> ready = Put(7);
    Print("single_client_get_calls", Rate(d, [&] {
            for (int i = 0; i < 1000; ++i) Get(ready);
            return int64_t{1000};
          }),
          "calls/s");

    auto actor = Actor(MakeBench).Remote();
    Get(actor.Task(&Bench::Noop).Remote(0));
    Print("1_1_actor_calls_sync", Rate(d, [&] { return *Get(actor.Task(&Bench::Noop).Remote(1)) == 1 ? 1 : 0; }),
          "calls/s");
    Print("1_1_actor_calls_async", Rate(d, [&] {
            std::vector<ObjectRef<int>> refs;
            refs.reserve(1000);
            for (int i = 0; i < 1000; ++i) refs.push_back(actor.Task(&Bench::Noop).Remote(i));
            return static_cast<int64_t>(Get(refs).size());
          }),
          "calls/s");
    std::vector<ActorHandle<Bench>> actors;
    for (int c = 0; c < options.clients; ++c) actors.push_back(Actor(MakeBench).Remote());
    for (auto& each : actors) Get(each.Task(&Bench::Noop).Remote(0));
    Print("1_n_actor_calls_async", Rate(d, [&] {
            std::vector<ObjectRef<int>> refs;
            refs.reserve(1000 * actors.size());
            for (int i = 0; i < 1000; ++i) {
              for (auto& each : actors) refs.push_back(each.Task(&Bench::Noop).Remote(i));
            }
            return static_cast<int64_t>(Get(refs).size());
          }),
          "calls/s");
    Print("n_n_actor_calls_async", Rate(d, [&] {
            std::vector<ObjectRef<int64_t>> clients;
            for (auto& each : actors) {
              clients.push_back(Task(ActorClientRounds).SetResources({{"CPU", 0}}).Remote(each, 5, 1000));
            }
            int64_t total = 0;
            for (const auto& done : Get(clients)) total += *done;
            return total;
          }),
          "calls/s");
    actors.clear();
    Print("actor_creation_per_s", Rate(d, [] {
            std::vector<ActorHandle<Bench>> made;
            for (int i = 0; i < 10; ++i) made.push_back(Actor(MakeBench).Remote());
            for (auto& each : made) Get(each.Task(&Bench::Noop).Remote(0));
            return int64_t{10};
          }),
          "actors/s");
    const std::vector<double> restarts = RestartLatenciesMs(kRestartTrials);
    Print("actor_restart_latency_ms", Median(restarts), "ms (median)");
    Print("actor_restart_latency_ms_p90", Percentile(restarts, 0.9), "ms");
    const HaOverhead overhead = MeasureHaOverhead(d);
    Print("actor_ha_overhead_baseline_ms", overhead.plain_ms, "ms per 100 calls (median)");
    Print("actor_ha_overhead_ha_ms", overhead.ha_ms, "ms per 100 calls (median; max_restarts=3, max_task_retries=2)");
    Print("actor_ha_overhead_percent", (overhead.ratio - 1) * 100, "% (median of paired rounds)");

    const std::string big(100 * 1024 * 1024, 'x');
    const double puts_per_s = Rate(d, [&] {
      Put(big);
      return int64_t{1};
    });
    Print("single_client_put_gigabytes", puts_per_s * static_cast<double>(big.size()) / 1e9, "GB/s");
    Shutdown();
  } catch (const std::exception& error) {
    code = Fail(absl::StrCat("microbenchmark: ", error.what()));
  }
  stop_local();
  return code;
}

}  // namespace halo::cli
