// Estimates pi with a two-stage pipeline of remote tasks, and checks the answer against the same computation
// done locally. Stage 1 makes 200 shards of random points (each about 640 KB, so they stay in the object store
// of the node that made them); stage 2 counts the points inside the unit circle, one task per shard.
// Kill a node agent while it runs: the tasks it was running are retried elsewhere and the shards it held are
// rebuilt from their lineage, and the answer is still exact.
//
//   halo start --head; halo start --address ADDR; ./pi_pipeline --address ADDR
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "halo/halo.h"

namespace {

constexpr int kShards = 200;
constexpr int kPointsPerShard = 40000;
constexpr int kWorkMs = 40;  // stands in for real per-shard work, so the run lasts long enough to hurt

std::vector<double> MakePoints(int shard) {
  std::mt19937_64 generator(static_cast<uint64_t>(shard) * 7919 + 17);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> xy(2 * kPointsPerShard);
  for (double& v : xy) v = uniform(generator);
  std::this_thread::sleep_for(std::chrono::milliseconds(kWorkMs));
  return xy;
}

int64_t CountInside(std::vector<double> xy) {
  int64_t inside = 0;
  for (size_t i = 0; i + 1 < xy.size(); i += 2) inside += xy[i] * xy[i] + xy[i + 1] * xy[i + 1] <= 1.0 ? 1 : 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(kWorkMs));
  return inside;
}

HALO_REMOTE(MakePoints, CountInside);

}  // namespace

int main(int argc, char** argv) {
  halo::Init(argc, argv);  // in a worker process, this serves tasks and never returns
  const auto start = std::chrono::steady_clock::now();

  std::vector<halo::ObjectRef<std::vector<double>>> shards;
  std::vector<halo::ObjectRef<int64_t>> counts;
  for (int s = 0; s < kShards; ++s) shards.push_back(halo::Task(MakePoints).Remote(s));
  for (int s = 0; s < kShards; ++s) counts.push_back(halo::Task(CountInside).SetMaxRetries(5).Remote(shards[s]));

  // Report progress as results arrive (a demo script watches these lines).
  std::vector<halo::ObjectRef<int64_t>> pending = counts;
  size_t done = 0;
  while (!pending.empty()) {
    auto result = halo::Wait(pending, 1, std::chrono::seconds(600));
    done += result.ready.size();
    pending = result.pending;
    if (done % 20 == 0 || pending.empty()) std::printf("progress: %zu/%d shards counted\n", done, kShards), std::fflush(stdout);
  }
  int64_t inside = 0;
  for (const auto& count : halo::Get(counts)) inside += *count;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // The same computation here, without the cluster, to check the answer.
  int64_t expected = 0;
  for (int s = 0; s < kShards; ++s) {
    std::mt19937_64 generator(static_cast<uint64_t>(s) * 7919 + 17);
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    for (int i = 0; i < kPointsPerShard; ++i) {
      const double x = uniform(generator), y = uniform(generator);
      expected += x * x + y * y <= 1.0 ? 1 : 0;
    }
  }
  const halo::RuntimeStats stats = halo::Stats();
  const double total = static_cast<double>(kShards) * kPointsPerShard;
  std::printf("pi is about %.6f (%lld of %.0f points inside)\n", 4.0 * static_cast<double>(inside) / total,
              static_cast<long long>(inside), total);
  std::printf("answer %s the local computation\n", inside == expected ? "matches" : "DOES NOT MATCH");
  std::printf("tasks submitted: %lld; runs lost to failures: %lld; tasks retried: %lld; objects rebuilt: %lld\n",
              static_cast<long long>(stats.tasks_submitted), static_cast<long long>(stats.task_failures),
              static_cast<long long>(stats.tasks_retried), static_cast<long long>(stats.objects_rebuilt));
  std::printf("took %.2f s\n", seconds);
  halo::Shutdown();
  return inside == expected ? 0 : 1;
}
