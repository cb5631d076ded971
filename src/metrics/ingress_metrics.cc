#include "metrics/ingress_metrics.h"

namespace halo::metrics {

IngressMetrics::IngressMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("halo_serve_requests_total")
                    .Help("HTTP answers this node's service ingress sent, by deployment and status code.")
                    .Register(*registry_)),
      durations_(prometheus::BuildHistogram()
                     .Name("halo_serve_request_duration_seconds")
                     .Help("From a request read by this node's ingress to its answer sent, by deployment, seconds.")
                     .Register(*registry_)) {}

void IngressMetrics::Record(const std::string& deployment, int status, double seconds) {
  requests_.Add({{"deployment", deployment}, {"code", std::to_string(status)}}).Increment();
  prometheus::Histogram* histogram = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = histograms_.find(deployment);
    if (it == histograms_.end()) {
      it = histograms_
               .emplace(deployment, &durations_.Add({{"deployment", deployment}},
                                                    prometheus::Histogram::BucketBoundaries{
                                                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                        0.5, 1, 2.5, 5, 10, 30, 60}))
               .first;
    }
    histogram = it->second;
  }
  histogram->Observe(seconds);
}

}  // namespace halo::metrics
