#include "gcs/metered_store.h"

#include <chrono>
#include <map>

#include "common/check.h"
#include "metrics/metrics_server.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"

namespace halo::gcs {
namespace {

constexpr const char* kOps[] = {"put", "get", "multi_get", "get_all", "delete", "batch_delete", "get_keys", "exists"};

// Storage round trips: from a tenth of a millisecond (embedded) to the bound a store gives up at.
prometheus::Histogram::BucketBoundaries Buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

struct Meter {
  prometheus::Counter* ok = nullptr;
  prometheus::Counter* error = nullptr;
  prometheus::Histogram* seconds = nullptr;
};

// The reconnects the inner store counts, read at each scrape.
class ReconnectCollector : public prometheus::Collectable {
 public:
  explicit ReconnectCollector(const StoreClient& store) : store_(store) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily family{"halo_storage_reconnects_total",
                                    "Connections the GCS's storage client made again after losing one.",
                                    prometheus::MetricType::Counter, {}};
    family.metric.push_back(
        metrics::Sample(static_cast<double>(store_.Reconnects()), prometheus::MetricType::Counter));
    return {family};
  }

 private:
  const StoreClient& store_;
};

class MeteredStore : public StoreClient {
 public:
  MeteredStore(std::unique_ptr<StoreClient> inner, metrics::MetricsServer& server)
      : inner_(std::move(inner)), registry_(server.shared_registry()) {
    auto& operations = prometheus::BuildCounter()
                           .Name("halo_storage_operations_total")
                           .Help("Operations the GCS sent to its storage, by operation and outcome (ok, error).")
                           .Register(*registry_);
    auto& seconds = prometheus::BuildHistogram()
                        .Name("halo_storage_operation_seconds")
                        .Help("From an operation sent to the GCS's storage to its answer, by operation, seconds.")
                        .Register(*registry_);
    for (const char* op : kOps) {
      meters_[op] = Meter{&operations.Add({{"op", op}, {"outcome", "ok"}}),
                          &operations.Add({{"op", op}, {"outcome", "error"}}),
                          &seconds.Add({{"op", op}}, Buckets())};
    }
    server.Add(std::make_shared<ReconnectCollector>(*inner_));
  }

  void AsyncPut(const std::string& table, const std::string& key, std::string value, bool overwrite,
                std::function<void(StatusOr<bool>)> done) override {
    inner_->AsyncPut(table, key, std::move(value), overwrite, Timed("put", std::move(done)));
  }
  void AsyncGet(const std::string& table, const std::string& key,
                std::function<void(StatusOr<std::optional<std::string>>)> done) override {
    inner_->AsyncGet(table, key, Timed("get", std::move(done)));
  }
  void AsyncMultiGet(const std::string& table, const std::vector<std::string>& keys,
                     std::function<void(StatusOr<KeyValueMap>)> done) override {
    inner_->AsyncMultiGet(table, keys, Timed("multi_get", std::move(done)));
  }
  void AsyncGetAll(const std::string& table, std::function<void(StatusOr<KeyValueMap>)> done) override {
    inner_->AsyncGetAll(table, Timed("get_all", std::move(done)));
  }
  void AsyncDelete(const std::string& table, const std::string& key, std::function<void(StatusOr<bool>)> done) override {
    inner_->AsyncDelete(table, key, Timed("delete", std::move(done)));
  }
  void AsyncBatchDelete(const std::string& table, const std::vector<std::string>& keys,
                        std::function<void(StatusOr<int64_t>)> done) override {
    inner_->AsyncBatchDelete(table, keys, Timed("batch_delete", std::move(done)));
  }
  void AsyncGetKeys(const std::string& table, const std::string& prefix,
                    std::function<void(StatusOr<std::vector<std::string>>)> done) override {
    inner_->AsyncGetKeys(table, prefix, Timed("get_keys", std::move(done)));
  }
  void AsyncExists(const std::string& table, const std::string& key, std::function<void(StatusOr<bool>)> done) override {
    inner_->AsyncExists(table, key, Timed("exists", std::move(done)));
  }
  void SetFatalHandler(std::function<void(Status)> handler) override { inner_->SetFatalHandler(std::move(handler)); }
  Status Fence(int64_t epoch) override { return inner_->Fence(epoch); }
  void Shutdown() override { inner_->Shutdown(); }
  int64_t Reconnects() const override { return inner_->Reconnects(); }
  void SetReconnectHandler(std::function<void(const std::string& error, int64_t outage_ms)> handler) override {
    inner_->SetReconnectHandler(std::move(handler));
  }
  std::string Kind() const override { return inner_->Kind(); }
  std::string Location() const override { return inner_->Location(); }

 private:
  template <typename T>
  std::function<void(StatusOr<T>)> Timed(const char* op, std::function<void(StatusOr<T>)> done) {
    auto it = meters_.find(op);
    HALO_CHECK(it != meters_.end()) << "no meter for storage operation " << op;
    const Meter meter = it->second;
    return [meter, start = std::chrono::steady_clock::now(), done = std::move(done)](StatusOr<T> result) {
      meter.seconds->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      (result.ok() ? meter.ok : meter.error)->Increment();
      if (done) done(std::move(result));
    };
  }

  std::unique_ptr<StoreClient> inner_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::map<std::string, Meter> meters_;
};

}  // namespace

std::unique_ptr<StoreClient> MeterStore(std::unique_ptr<StoreClient> inner, metrics::MetricsServer& server) {
  return std::make_unique<MeteredStore>(std::move(inner), server);
}

}  // namespace halo::gcs
