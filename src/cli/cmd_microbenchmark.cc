// `halo microbenchmark`: the task and object throughput figures `ray microbenchmark` prints, with Ray's metric
// names, on a local cluster it starts (or the cluster at --address). The `halo` executable is itself the
// driver, and node agents start it as the workers (main() hands worker mode to halo::Init).
#include <stdlib.h>

#include <chrono>
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

HALO_REMOTE(Noop, ClientRounds);

using Clock = std::chrono::steady_clock;

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
    start.passthrough = {"--session-root", local_root, "--session-dir", local_root + "/session", "--port", "0"};
    SettingsInputs inputs;
    inputs.flags = {{"session_root", local_root}, {"session_dir", local_root + "/session"}, {"port", "0"}};
    std::cerr << "halo microbenchmark: starting a local cluster in " << local_root << std::endl;
    // Standard output carries only the metric lines.
    std::streambuf* out = std::cout.rdbuf(std::cerr.rdbuf());
    const int started = RunStart(start, inputs);
    std::cout.rdbuf(out);
    if (started != 0) return Fail("could not start a local cluster");
    address = ReadTrimmedFile(local_root + "/session/gcs.address");
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
