// Metrics across hosts: a real Prometheus on the driver host scrapes the GCS on the head host and the node
// agent of every host at its host's address, across the bridge. Then one node host is cut off from every
// other host: the GCS declares it dead and Prometheus, still scraping the head, sees halo_node_deaths_total
// rise and HaloNodeDied fire, while the cut-off host's own endpoint goes unreachable (up == 0). Runs in the
// multihost_tests binary (its main runs each test in a process of its own).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "multihost/multihost_cluster.h"
#include "support/prometheus_server.h"

namespace halo::testing {
namespace {

TEST(MultiHostMetrics, PrometheusOnAnotherHostScrapesEveryDaemonAndSeesAPartitionedNodeDie) {
  MultiHostCluster::Options options;
  options.node_hosts = 2;
  options.metrics = true;
  MultiHostCluster cluster(options);
  cluster.Start();
  cluster.EnterDriverHost();  // before any thread: Prometheus and the HTTP clients run in the driver host
  auto address = [&](const std::string& host, int port) { return cluster.net().Address(host) + ":" + std::to_string(port); };
  std::vector<std::string> nodes = {address(MultiHostCluster::kHead, MultiHostCluster::kNodeMetricsPort)};
  for (const auto& host : cluster.node_hosts()) nodes.push_back(address(host, MultiHostCluster::kNodeMetricsPort));
  PrometheusServer prometheus({{"halo-gcs", {address(MultiHostCluster::kHead, MultiHostCluster::kGcsMetricsPort)}},
                               {"halo-node", nodes}});
  ASSERT_TRUE(WaitUntil([&] { return prometheus.Value("count(up == 1)") == 4.0; }, std::chrono::seconds(60)))
      << "not every daemon was scraped across the bridge: " << prometheus.Query("up").dump() << "\n"
      << prometheus.Log();
  ASSERT_TRUE(WaitUntil([&] { return prometheus.Value("halo_nodes{state=\"ALIVE\"}") == 3.0; },
                        std::chrono::seconds(30)));
  EXPECT_FALSE(prometheus.AlertState("HaloNodeDied").has_value());

  const std::string cut = cluster.node_hosts().front();
  cluster.net().Isolate(cut);
  EXPECT_TRUE(WaitUntil(
      [&] { return prometheus.Value("halo_node_deaths_total{reason=\"UNEXPECTED_TERMINATION\"}") == 1.0; },
      std::chrono::seconds(60)))
      << cluster.GcsLog();
  EXPECT_TRUE(WaitUntil([&] { return prometheus.AlertState("HaloNodeDied") == std::string("firing"); },
                        std::chrono::seconds(60)))
      << prometheus.Log();
  const std::string cut_target = address(cut, MultiHostCluster::kNodeMetricsPort);
  EXPECT_TRUE(WaitUntil([&] { return prometheus.Value("up{instance=\"" + cut_target + "\"}") == 0.0; },
                        std::chrono::seconds(30)))
      << "the cut-off host's metrics were still scraped";
  cluster.net().HealAll();
}

}  // namespace
}  // namespace halo::testing
