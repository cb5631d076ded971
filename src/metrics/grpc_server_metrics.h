// Every gRPC call a server answers, counted and timed per method, through a server interceptor:
//   halo_rpc_server_calls_total{method, code}      calls finished, by the status code sent
//   halo_rpc_server_duration_seconds{method}        from the call's arrival to its status being sent
// method is the short form "Service/Method" (halo.rpc. dropped). Install with ServerBuilder::
// experimental().SetInterceptorCreators(metrics.InterceptorCreators()), and serve registry() with
// MetricsServer::Add. It must outlive the servers it is installed in.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace halo::metrics {

class GrpcServerMetrics {
 public:
  GrpcServerMetrics();

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // A fresh list of creators for one ServerBuilder (the builder takes ownership).
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> InterceptorCreators();

  // Called by the interceptor: one call of method ended with code after seconds.
  void Record(const std::string& method, int code, double seconds);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Histogram>& durations_;
  std::mutex mutex_;
  std::unordered_map<std::string, prometheus::Histogram*> histograms_;  // by method
};

// "halo.rpc.KvService/Put" from "/halo.rpc.KvService/Put".
std::string ShortMethodName(const char* full_method);

}  // namespace halo::metrics
