// A daemon's Prometheus endpoint: GET /metrics on host:port in the text exposition format, served by
// prometheus-cpp's Exposer (civetweb threads of its own). Every daemon also exposes the standard process
// metrics (process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_start_time_seconds), read from /proc/self at each scrape.
// Collectables registered here must outlive the server, or be removed first.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "prometheus/collectable.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}

namespace halo::metrics {

class MetricsServer {
 public:
  // port 0 picks a free one. Errors name host:port (in use, not a local address).
  static StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& host, int port);
  ~MetricsServer();

  int port() const { return port_; }
  // The registry for counters, gauges and histograms built with prometheus-cpp's builders; served.
  prometheus::Registry& registry() { return *registry_; }
  // The same, shared: metrics built in it stay valid after the server is gone (callers that outlive it).
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }
  // Also served (metrics computed at scrape time).
  void Add(std::shared_ptr<prometheus::Collectable> collectable);

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  int port_ = 0;
};

// The standard process metrics of this process (above), for a registry of its own.
std::shared_ptr<prometheus::Collectable> MakeProcessCollector();

// A gauge or counter sample for a family a Collectable builds at scrape time.
prometheus::ClientMetric Sample(double value, prometheus::MetricType type,
                                std::vector<prometheus::ClientMetric::Label> labels = {});

}  // namespace halo::metrics
