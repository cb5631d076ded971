// The README's example, as a program: 100 shards loaded and summed by remote tasks.
//   ./sum_shards --address HOST:PORT
#include <cstdio>
#include <numeric>

#include "halo/halo.h"

std::vector<double> Load(int shard) { return std::vector<double>(1000, static_cast<double>(shard)); }
double Sum(std::vector<double> v) { return std::accumulate(v.begin(), v.end(), 0.0); }
HALO_REMOTE(Load, Sum);

int main(int argc, char** argv) {
  halo::Init(argc, argv);
  std::vector<halo::ObjectRef<double>> sums;
  for (int s = 0; s < 100; ++s) {
    auto part = halo::Task(Load).SetResources({{"CPU", 1}}).Remote(s);
    sums.push_back(halo::Task(Sum).SetMaxRetries(5).Remote(part));
  }
  auto [ready, pending] = halo::Wait(sums, 10, std::chrono::seconds(5));
  std::printf("%zu of %zu ready after the first wait\n", ready.size(), sums.size());
  double total = 0;
  for (auto& r : sums) total += *halo::Get(r);
  std::printf("total: %.0f (expected %.0f)\n", total, 1000.0 * 99 * 100 / 2);
  halo::Shutdown();
  return total == 1000.0 * 99 * 100 / 2 ? 0 : 1;
}
