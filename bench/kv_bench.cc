// KV throughput and latency through a running GCS, with C concurrent clients, each issuing N/C calls one
// after another. Prints one line: op, clients, count, ops_per_s, p50_us, p99_us.
//   kv_bench --address HOST:PORT --op put|get|fill [--count N] [--clients C] [--value-bytes B]
// `fill` is `put` over keys fill:<i> without latency reporting, to prepare large tables.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "rpc/gcs_client.h"
#include "rpc/session.h"

int main(int argc, char** argv) {
  CLI::App app{"kv_bench"};
  std::string address, op = "put";
  int64_t count = 10000, clients = 1, value_bytes = 64;
  app.add_option("--address", address)->required();
  app.add_option("--op", op)->check(CLI::IsMember({"put", "get", "fill"}));
  app.add_option("--count", count)->check(CLI::PositiveNumber);
  app.add_option("--clients", clients)->check(CLI::Range(1, 256));
  app.add_option("--value-bytes", value_bytes)->check(CLI::Range(0, 1 << 20));
  CLI11_PARSE(app, argc, argv);
  // The cluster's token: HALO_AUTH_TOKEN, else the latest session's (a cluster started on this machine).
  auto settings = halo::LoadSettings(halo::SettingsInputs{});  // HALO_* environment: session root, TLS files
  if (!settings.ok()) {
    std::cerr << "kv_bench: " << settings.status().message() << std::endl;
    return 1;
  }
  if (halo::Status secured = halo::UseClusterSecurity(settings->values, address); !secured.ok()) {
    std::cerr << "kv_bench: " << secured.message() << std::endl;
    return 1;
  }

  const std::string value(static_cast<size_t>(value_bytes), 'v');
  const std::string prefix = op == "fill" ? "fill:" : "bench:";
  std::vector<std::vector<double>> latencies_us(clients);
  std::atomic<int64_t> errors{0};
  auto run_client = [&](int64_t c) {
    halo::GcsClient client(address, 10000);
    auto& lat = latencies_us[c];
    lat.reserve(count / clients + 1);
    for (int64_t i = c; i < count; i += clients) {
      const std::string key = prefix + std::to_string(i);
      auto t0 = std::chrono::steady_clock::now();
      bool ok = op == "get" ? client.KvGet("bench", key).ok() : client.KvPut("bench", key, value).ok();
      auto t1 = std::chrono::steady_clock::now();
      if (!ok) ++errors;
      lat.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  };
  if (op == "get") {  // make sure the keys exist
    halo::GcsClient client(address, 10000);
    for (int64_t i = 0; i < count; ++i) {
      if (!client.KvPut("bench", prefix + std::to_string(i), value).ok()) ++errors;
    }
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int64_t c = 0; c < clients; ++c) threads.emplace_back(run_client, c);
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies_us) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, size_t(p * all.size()))]; };
  std::cout << "op=" << op << " clients=" << clients << " count=" << count << " value_bytes=" << value_bytes
            << " ops_per_s=" << static_cast<int64_t>(count / seconds) << " p50_us=" << static_cast<int64_t>(pct(0.50))
            << " p99_us=" << static_cast<int64_t>(pct(0.99)) << " errors=" << errors.load() << std::endl;
  return errors.load() == 0 ? 0 : 1;
}
