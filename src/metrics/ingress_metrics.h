// A service ingress's answers, for Prometheus (served by the node agent's MetricsServer: Add(registry())):
//   halo_serve_requests_total{deployment, code}     answers sent, by deployment ("" when unrouted) and status
//   halo_serve_request_duration_seconds{deployment} from a whole request read to its answer
// Record is thread-safe (the ingress's io threads call it).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace halo::metrics {

class IngressMetrics {
 public:
  IngressMetrics();
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  void Record(const std::string& deployment, int status, double seconds);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  std::mutex mutex_;
  std::unordered_map<std::string, prometheus::Histogram*> histograms_;  // by deployment
};

}  // namespace halo::metrics
