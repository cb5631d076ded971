#include "metrics/grpc_server_metrics.h"

#include <chrono>
#include <grpcpp/support/interceptor.h>

#include "absl/strings/str_cat.h"

namespace halo::metrics {
namespace {

const char* CodeName(int code) {
  static const char* const kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                       "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
                                       "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code < static_cast<int>(std::size(kNames)) ? kNames[code] : "UNKNOWN";
}

// Durations of control-plane calls: from a tenth of a millisecond to a minute (held polls wait that long).
prometheus::Histogram::BucketBoundaries Buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

class TimingInterceptor : public grpc::experimental::Interceptor {
 public:
  TimingInterceptor(GrpcServerMetrics& metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      metrics_.Record(method_, status.error_code(), seconds);
    }
    methods->Proceed();
  }

 private:
  GrpcServerMetrics& metrics_;
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
};

class TimingInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit TimingInterceptorFactory(GrpcServerMetrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new TimingInterceptor(metrics_, ShortMethodName(info->method()));
  }

 private:
  GrpcServerMetrics& metrics_;
};

}  // namespace

std::string ShortMethodName(const char* full_method) {
  std::string name = full_method == nullptr ? "" : full_method;
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  if (name.rfind("halo.rpc.", 0) == 0) name.erase(0, sizeof("halo.rpc.") - 1);
  return name.empty() ? "unknown" : name;
}

GrpcServerMetrics::GrpcServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      calls_(prometheus::BuildCounter()
                 .Name("halo_rpc_server_calls_total")
                 .Help("gRPC calls this process answered, by method and status code")
                 .Register(*registry_)),
      durations_(prometheus::BuildHistogram()
                     .Name("halo_rpc_server_duration_seconds")
                     .Help("time from a gRPC call's arrival to its status being sent, by method (held polls "
                           "included)")
                     .Register(*registry_)) {}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
GrpcServerMetrics::InterceptorCreators() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<TimingInterceptorFactory>(*this));
  return creators;
}

void GrpcServerMetrics::Record(const std::string& method, int code, double seconds) {
  calls_.Add({{"method", method}, {"code", CodeName(code)}}).Increment();
  prometheus::Histogram* histogram = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = histograms_.find(method);
    if (it == histograms_.end()) {
      it = histograms_.emplace(method, &durations_.Add({{"method", method}}, Buckets())).first;
    }
    histogram = it->second;
  }
  histogram->Observe(seconds);
}

}  // namespace halo::metrics
