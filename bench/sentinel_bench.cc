// Redis Sentinel storage: the cost of storage_replicas_ack, and how long the GCS takes to follow a failover.
// Real processes on loopback: a primary, two replicas (appendonly, fsync always) and three sentinels
// (down-after-milliseconds 1000), and a head (`halo start --head`) on them.
//   sentinel_bench kv [--count 2000] [--clients 4]      KV puts through the GCS with replicas_ack 0 and 1
//   sentinel_bench failover [--trials 30]               primary SIGKILLed under a stream of puts: time from the
//                                                        kill to the first put acknowledged through the GCS
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "integration/head_fixture.h"
#include "support/redis_sentinel.h"

namespace {

using Clock = std::chrono::steady_clock;
using halo::testing::Head;
using halo::testing::RedisSentinelGroup;

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * (values.size() - 1) + 0.5))];
}

void KvRound(RedisSentinelGroup& redis, int replicas_ack, int count, int clients) {
  Head head({"--storage", redis.Uri(), "--storage-namespace", absl::StrCat("bench", replicas_ack),
             "--storage-replicas-ack", std::to_string(replicas_ack)});
  auto started = head.Start();
  if (started.exit_code != 0) throw std::runtime_error(started.output);
  for (int c : {1, clients}) {
    std::vector<std::vector<double>> latencies(c);
    const auto begin = Clock::now();
    std::vector<std::thread> threads;
    std::vector<std::string> errors(c);
    for (int t = 0; t < c; ++t) {
      threads.emplace_back([&, t] {
        auto client = head.Client();
        for (int i = 0; i < count / c; ++i) {
          const auto start = Clock::now();
          auto put = client->KvPut("bench", absl::StrCat(t, "-", i), std::string(64, 'v'), true);
          if (!put.ok()) {
            errors[t] = std::string(put.status().message());
            return;
          }
          latencies[t].push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (const auto& error : errors) {
      if (!error.empty()) throw std::runtime_error(error);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    std::vector<double> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::printf("| %d | %d | %.0f | %.0f | %.0f |\n", replicas_ack, c, all.size() / seconds, Percentile(all, 0.5),
                Percentile(all, 0.99));
  }
  head.Stop();
}

int Failover(int trials) {
  RedisSentinelGroup redis;
  Head head({"--storage", redis.Uri(), "--storage-replicas-ack", "1"});
  auto started = head.Start();
  if (started.exit_code != 0) throw std::runtime_error(started.output);
  std::vector<double> results;
  for (int trial = 0; trial < trials; ++trial) {
    std::atomic<bool> stop{false};
    std::atomic<int64_t> killed_at_ns{0};
    std::atomic<int64_t> first_after_ns{0};
    std::atomic<int64_t> acked{0};
    std::thread writer([&] {
      auto client = head.Client(5000);
      for (int64_t i = 0; !stop; ++i) {
        // Only a write sent after the primary was gone counts: one sent before may be acknowledged just after.
        const int64_t sent = Clock::now().time_since_epoch().count();
        auto put = client->KvPut("failover", absl::StrCat(trial, "-", i), "v", true);
        if (!put.ok()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        acked.fetch_add(1);
        const int64_t killed = killed_at_ns.load();
        if (killed != 0 && sent > killed && first_after_ns.load() == 0) {
          first_after_ns.store(Clock::now().time_since_epoch().count());
        }
      }
    });
    const auto warm_deadline = Clock::now() + std::chrono::seconds(60);
    while (acked.load() < 50 && Clock::now() < warm_deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (acked.load() < 50) {
      stop = true;
      writer.join();
      std::fprintf(stderr, "trial %d: fewer than 50 writes acknowledged within 60 s before the kill\n", trial);
      return 1;
    }
    const int old_primary = redis.PrimaryPort();
    const int64_t kill_sent = Clock::now().time_since_epoch().count();
    redis.KillServer(old_primary);  // returns once the process is gone
    killed_at_ns.store(Clock::now().time_since_epoch().count());
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (first_after_ns.load() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
    writer.join();
    if (first_after_ns.load() == 0) {
      std::fprintf(stderr, "trial %d: no write acknowledged within 60 s of the kill\n", trial);
      return 1;
    }
    const double ms = (first_after_ns.load() - kill_sent) / 1e6;
    results.push_back(ms);
    std::printf("trial %d: %.0f ms\n", trial, ms);
    std::fflush(stdout);
    // The killed server comes back; the sentinels make it a replica of the new primary before the next trial.
    redis.RestartServer(old_primary);
    if (!redis.WaitUntilHealthy(std::chrono::seconds(60))) {
      std::fprintf(stderr, "trial %d: the group did not recover its replicas\n", trial);
      return 1;
    }
  }
  std::printf("failover (SIGKILL of the primary -> first acknowledged write through the GCS), %d trials: p50 %.0f ms, "
              "p99 %.0f ms, min %.0f ms, max %.0f ms\n",
              trials, Percentile(results, 0.5), Percentile(results, 0.99),
              *std::min_element(results.begin(), results.end()), *std::max_element(results.begin(), results.end()));
  head.Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sentinel_bench: Redis Sentinel storage under the GCS"};
  app.require_subcommand(1);
  int count = 2000, clients = 4, trials = 30;
  auto* kv = app.add_subcommand("kv", "KV puts with storage_replicas_ack 0 and 1");
  kv->add_option("--count", count)->check(CLI::Range(1, 1000000));
  kv->add_option("--clients", clients)->check(CLI::Range(1, 64));
  auto* failover = app.add_subcommand("failover", "time to follow a primary's SIGKILL");
  failover->add_option("--trials", trials)->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  try {
    if (kv->parsed()) {
      RedisSentinelGroup redis;
      std::printf("| replicas_ack | clients | puts/s | p50 µs | p99 µs |\n|---|---|---|---|---|\n");
      KvRound(redis, 0, count, clients);
      KvRound(redis, 1, count, clients);
      return 0;
    }
    return Failover(trials);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "sentinel_bench: %s\n", error.what());
    return 1;
  }
}
