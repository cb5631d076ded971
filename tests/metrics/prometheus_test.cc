// Halo's metrics scraped by a real Prometheus server (Debian's prometheus) on loopback, with the shipped alert
// rules (deploy/prometheus/halo_alerts.yml) loaded: a head (GCS and node agent) and one more node agent serve
// /metrics; the node agent is SIGKILLed, and through Prometheus's HTTP API halo_node_deaths_total rises and
// HaloNodeDied fires (it did not before).
#include <gtest/gtest.h>
#include <signal.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/process.h"
#include "integration/head_fixture.h"
#include "integration/node_fixture.h"
#include "serve/http_load.h"
#include "support/test_env.h"

namespace halo::testing {
namespace {

// One GET to 127.0.0.1:port; the body of a 200, or nullopt (another status, or nothing within 5 s).
std::optional<std::string> Fetch(int port, const std::string& target) {
  HttpAnswer answer = HttpGet(HttpEndpoint{"127.0.0.1", port}, target, 5);
  if (answer.status != 200) return std::nullopt;
  return answer.body;
}

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// A prometheus server on a free loopback port, scraping the given targets every second.
class PrometheusServer {
 public:
  PrometheusServer(const std::vector<std::pair<std::string, int>>& jobs_and_ports) : port_(FreePort()) {
    const std::string config = dir_.path() + "/prometheus.yml";
    std::ofstream out(config);
    out << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "rule_files:\n  - " << HALO_SOURCE_DIR << "/deploy/prometheus/halo_alerts.yml\n"
        << "scrape_configs:\n";
    for (const auto& [job, port] : jobs_and_ports) {
      out << "  - job_name: " << job << "\n    static_configs:\n      - targets: ['127.0.0.1:" << port << "']\n";
    }
    out.close();
    SpawnOptions spawn;
    spawn.argv = {"/usr/bin/prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir_.path() + "/data",
                  "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"};
    spawn.output_path = dir_.path() + "/prometheus.log";
    spawn.die_with_parent = true;
    auto pid = Spawn(spawn);
    EXPECT_TRUE(pid.ok()) << pid.status();
    pid_ = pid.ok() ? *pid : -1;
  }
  ~PrometheusServer() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      WaitForProcessExit(pid_, 5000);
    }
  }
  // The result vector of an instant query (empty when the query failed or matched nothing).
  nlohmann::json Query(const std::string& promql) const {
    auto body = Fetch(port_, "/api/v1/query?query=" + UrlEncode(promql));
    if (!body) return nlohmann::json::array();
    auto parsed = nlohmann::json::parse(*body, nullptr, false);
    if (parsed.is_discarded() || parsed.value("status", "") != "success") return nlohmann::json::array();
    return parsed["data"]["result"];
  }
  // The value of the first sample of a query, if any.
  std::optional<double> Value(const std::string& promql) const {
    auto result = Query(promql);
    if (!result.is_array() || result.empty()) return std::nullopt;
    return std::stod(result[0]["value"][1].get<std::string>());
  }
  // The state ("pending", "firing") of an alert, if Prometheus lists it.
  std::optional<std::string> AlertState(const std::string& name) const {
    auto body = Fetch(port_, "/api/v1/alerts");
    if (!body) return std::nullopt;
    auto parsed = nlohmann::json::parse(*body, nullptr, false);
    if (parsed.is_discarded()) return std::nullopt;
    for (const auto& alert : parsed["data"]["alerts"]) {
      if (alert["labels"].value("alertname", "") == name) return alert.value("state", "");
    }
    return std::nullopt;
  }
  std::string Log() const {
    auto text = ReadFileToString(dir_.path() + "/prometheus.log");
    return text.ok() ? *text : "";
  }

 private:
  TempDir dir_;
  int port_;
  pid_t pid_ = -1;
};

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
  auto served = Fetch(gcs_port, "/metrics");
  ASSERT_TRUE(served.has_value());
  EXPECT_NE(served->find("# HELP halo_node_deaths_total"), std::string::npos) << *served;
  EXPECT_NE(served->find("process_resident_memory_bytes"), std::string::npos) << *served;

  PrometheusServer prometheus({{"halo-gcs", gcs_port}, {"halo-head-node", head_node_port}, {"halo-node", node_port}});
  // Scraped, with both nodes alive, no death counted and no alert.
  ASSERT_TRUE(WaitUntil([&] { return prometheus.Value("count(up == 1)") == 3.0; }, std::chrono::seconds(60)))
      << prometheus.Log();
  ASSERT_TRUE(WaitUntil([&] { return prometheus.Value("halo_nodes{state=\"ALIVE\"}") == 2.0; },
                        std::chrono::seconds(30)));
  EXPECT_EQ(prometheus.Value("halo_node_deaths_total{reason=\"UNEXPECTED_TERMINATION\"}"), 0.0);
  EXPECT_TRUE(prometheus.Value("halo_object_store_memory_bytes{job=\"halo-node\"}").has_value());
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
}

}  // namespace
}  // namespace halo::testing
