// Halo's metrics scraped by a real Prometheus server (Debian's prometheus) on loopback, with the shipped alert
// rules (deploy/prometheus/halo_alerts.yml) loaded: a head (GCS and node agent) and one more node agent serve
// /metrics; the node agent is SIGKILLed, and through Prometheus's HTTP API halo_node_deaths_total rises and
// HaloNodeDied fires (it did not before). On Redis storage, the GCS's storage and Redis memory metrics follow
// Redis down and back.
#include <gtest/gtest.h>
#include <signal.h>

#include <optional>
#include <string>

#include "common/process.h"
#include "integration/head_fixture.h"
#include "integration/node_fixture.h"
#include "support/prometheus_server.h"
#include "support/test_env.h"

namespace halo::testing {
namespace {

TEST(PrometheusTest, ANodeAgentKilledRaisesNodeDeathsAndFiresTheNodeAlert) {
  Head head({"--num-cpus", "1", "--gcs-metrics-port", "-1", "--node-metrics-port", "-1"});
  auto started = head.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  Node node;
  auto joined = node.Start(head.address(), {"--num-cpus", "1", "--node-metrics-port", "-1"});
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  const int gcs_port = std::atoi(ReadTrimmedFile(head.session_dir() + "/gcs.metrics_port").c_str());
  const int head_node_port = std::atoi(ReadTrimmedFile(head.session_dir() + "/node.metrics_port").c_str());
  const int node_port = std::atoi(ReadTrimmedFile(node.session_dir() + "/node.metrics_port").c_str());
  ASSERT_GT(gcs_port, 0);
  ASSERT_GT(node_port, 0);
  // Each daemon serves the text format itself.
  auto served = Fetch("127.0.0.1", gcs_port, "/metrics");
  ASSERT_TRUE(served.has_value());
  EXPECT_NE(served->find("# HELP halo_node_deaths_total"), std::string::npos) << *served;
  EXPECT_NE(served->find("process_resident_memory_bytes"), std::string::npos) << *served;

  PrometheusServer prometheus({{"halo-gcs", {"127.0.0.1:" + std::to_string(gcs_port)}},
                               {"halo-head-node", {"127.0.0.1:" + std::to_string(head_node_port)}},
                               {"halo-node", {"127.0.0.1:" + std::to_string(node_port)}}});
  // Scraped, with both nodes alive, no death counted and no alert.
  ASSERT_TRUE(WaitUntil([&] { return prometheus.Value("count(up == 1)") == 3.0; }, std::chrono::seconds(60)))
      << prometheus.Log();
  ASSERT_TRUE(WaitUntil([&] { return prometheus.Value("halo_nodes{state=\"ALIVE\"}") == 2.0; },
                        std::chrono::seconds(30)));
  EXPECT_EQ(prometheus.Value("halo_node_deaths_total{reason=\"UNEXPECTED_TERMINATION\"}"), 0.0);
  EXPECT_TRUE(prometheus.Value("halo_object_store_memory_bytes{job=\"halo-node\"}").has_value());
  // Every gRPC call is counted and timed by method, on both kinds of daemon (the GCS answers registrations and
  // lease renewals; node agents answer the GCS's health probes), and the GCS's storage calls too.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return prometheus.Value("sum(halo_rpc_server_calls_total{job=\"halo-gcs\",code=\"OK\"})").value_or(0) > 0 &&
               prometheus.Value("sum(halo_rpc_server_calls_total{job=\"halo-node\",code=\"OK\"})").value_or(0) > 0;
      },
      std::chrono::seconds(30)))
      << prometheus.Log();
  EXPECT_GT(prometheus.Value("sum(halo_rpc_server_duration_seconds_count{job=\"halo-gcs\"})").value_or(0), 0);
  EXPECT_GT(prometheus.Value("sum(halo_storage_operations_total{op=\"put\",outcome=\"ok\"})").value_or(0), 0);
  EXPECT_EQ(prometheus.Value("sum(halo_storage_operations_total{outcome=\"error\"})"), 0.0);
  EXPECT_GE(prometheus.Value("halo_cluster_events_total{kind=\"node_added\"}").value_or(0), 2.0);
  EXPECT_FALSE(prometheus.AlertState("HaloNodeDied").has_value()) << "the node alert fired with no node dead";

  ASSERT_EQ(kill(node.pid(), SIGKILL), 0);
  EXPECT_TRUE(WaitUntil(
      [&] { return prometheus.Value("halo_node_deaths_total{reason=\"UNEXPECTED_TERMINATION\"}") == 1.0; },
      std::chrono::seconds(60)))
      << prometheus.Log();
  EXPECT_TRUE(WaitUntil([&] { return prometheus.AlertState("HaloNodeDied") == std::string("firing"); },
                        std::chrono::seconds(60)))
      << "HaloNodeDied never fired; " << prometheus.Log();
  EXPECT_EQ(prometheus.Value("halo_nodes{state=\"DEAD\"}"), 1.0);
  // Counted once, however often the dead node's row is published again.
  EXPECT_EQ(prometheus.Value("halo_node_deaths_total{reason=\"UNEXPECTED_TERMINATION\"}"), 1.0);
  EXPECT_GE(prometheus.Value("halo_health_probes_failed_total").value_or(0), 1.0);
  EXPECT_EQ(prometheus.Value("halo_cluster_events_total{kind=\"node_dead\"}"), 1.0);
}

// The value of one series ("name{labels}" exactly as exposed) in a /metrics page, if it is there.
std::optional<double> SampleIn(const std::string& page, const std::string& series) {
  const std::string prefix = series + " ";
  size_t at = 0;
  while (at < page.size()) {
    size_t end = page.find('\n', at);
    if (end == std::string::npos) end = page.size();
    if (page.compare(at, prefix.size(), prefix) == 0) return std::stod(page.substr(at + prefix.size(), end - at));
    at = end + 1;
  }
  return std::nullopt;
}

// On Redis storage the GCS reports whether Redis answers and its memory against maxmemory (what
// HaloStorageAvailabilityLow and HaloRedisMemoryHigh read), also while Redis is down and once it is back.
TEST(PrometheusTest, RedisStorageAvailabilityAndMemoryAreReported) {
  RedisServer redis;
  redis.Cli({"CONFIG", "SET", "maxmemory", "104857600"});
  Head head({"--num-cpus", "1", "--storage", redis.Uri(), "--gcs-metrics-port", "-1"});
  auto started = head.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  const int port = std::atoi(ReadTrimmedFile(head.session_dir() + "/gcs.metrics_port").c_str());
  ASSERT_GT(port, 0);
  auto sample = [&](const std::string& series) -> std::optional<double> {
    auto page = Fetch("127.0.0.1", port, "/metrics");
    return page ? SampleIn(*page, series) : std::nullopt;
  };
  EXPECT_EQ(sample("halo_storage_up{kind=\"redis\"}"), 1.0);
  EXPECT_EQ(sample("halo_redis_maxmemory_bytes"), 104857600.0);
  EXPECT_GT(sample("halo_redis_used_memory_bytes").value_or(0), 0.0);
  redis.Kill();
  EXPECT_TRUE(WaitUntil([&] { return sample("halo_storage_up{kind=\"redis\"}") == 0.0; }, std::chrono::seconds(20)))
      << "Redis is down but the GCS reports its storage up";
  EXPECT_FALSE(sample("halo_redis_used_memory_bytes").has_value()) << "memory reported for a Redis that is down";
  EXPECT_EQ(sample("halo_storage_reconnects_total"), 0.0);
  redis.Start();
  EXPECT_TRUE(WaitUntil([&] { return sample("halo_storage_up{kind=\"redis\"}") == 1.0; }, std::chrono::seconds(20)));
  // The GCS's own connection comes back (by the time a write goes through it), and is counted.
  ASSERT_TRUE(head.Client()->KvPut("ns", "after-restart", "v").ok());
  EXPECT_TRUE(WaitUntil([&] { return sample("halo_storage_reconnects_total").value_or(0) >= 1.0; },
                        std::chrono::seconds(20)));
  EXPECT_GT(sample("halo_storage_operations_total{op=\"put\",outcome=\"ok\"}").value_or(0), 0.0);
}

}  // namespace
}  // namespace halo::testing
