// A real Prometheus server for tests, and reading it back through its HTTP API.
#pragma once

#include <signal.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/process.h"
#include "serve/http_load.h"
#include "support/test_env.h"

#ifndef HALO_SOURCE_DIR
#error "a test using PrometheusServer defines HALO_SOURCE_DIR (the rules it loads live there)"
#endif

namespace halo::testing {

// One GET to host:port; the body of a 200, or nullopt (another status, or nothing within 5 s).
inline std::optional<std::string> Fetch(const std::string& host, int port, const std::string& target) {
  HttpAnswer answer = HttpGet(HttpEndpoint{host, port}, target, 5);
  if (answer.status != 200) return std::nullopt;
  return answer.body;
}

inline std::string UrlEncode(const std::string& text) {
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

// A prometheus server (Debian's) on a free loopback port of the network namespace it is started in, scraping
// each job's targets ("host:port") every second and evaluating deploy/prometheus/halo_alerts.yml every second.
class PrometheusServer {
 public:
  explicit PrometheusServer(const std::vector<std::pair<std::string, std::vector<std::string>>>& jobs)
      : port_(FreePort()) {
    const std::string config = dir_.path() + "/prometheus.yml";
    std::ofstream out(config);
    out << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "rule_files:\n  - " << HALO_SOURCE_DIR << "/deploy/prometheus/halo_alerts.yml\n"
        << "scrape_configs:\n";
    for (const auto& [job, targets] : jobs) {
      out << "  - job_name: " << job << "\n    static_configs:\n      - targets: [";
      for (size_t i = 0; i < targets.size(); ++i) out << (i ? ", '" : "'") << targets[i] << "'";
      out << "]\n";
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
    auto body = Fetch("127.0.0.1", port_, "/api/v1/query?query=" + UrlEncode(promql));
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
    auto body = Fetch("127.0.0.1", port_, "/api/v1/alerts");
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

}  // namespace halo::testing
