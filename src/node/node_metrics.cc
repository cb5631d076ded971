#include "node/node_metrics.h"

#include "metrics/metrics_server.h"
#include "prometheus/metric_family.h"

namespace halo::node {

namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

class NodeCollector : public prometheus::Collectable {
 public:
  NodeCollector(std::string node_id, const ObjectStore& store, std::function<std::optional<NodeWorkSnapshot>()> work)
      : node_id_(std::move(node_id)), store_(store), work_(std::move(work)) {}

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    auto add = [&](const std::string& name, const std::string& help, MetricType type, double value) {
      MetricFamily family{name, help, type, {}};
      family.metric.push_back(metrics::Sample(value, type, {{"node_id", node_id_}}));
      out.push_back(std::move(family));
    };
    const ObjectStoreStats objects = store_.stats();
    const struct {
      const char* name;
      const char* help;
      MetricType type;
      uint64_t value;
    } store_metrics[] = {
        {"halo_object_store_objects", "Objects in this node's store (in memory or spilled).", MetricType::Gauge,
         objects.objects},
        {"halo_object_store_memory_bytes", "Bytes of objects this node's store holds in memory.", MetricType::Gauge,
         objects.memory_bytes},
        {"halo_object_store_spilled_objects", "Objects this node's store holds spilled to disk.", MetricType::Gauge,
         objects.spilled_objects},
        {"halo_object_store_spills_total", "Objects this node's store spilled to disk.", MetricType::Counter,
         objects.spills},
        {"halo_object_store_restores_total", "Spilled objects read back from disk.", MetricType::Counter,
         objects.restores},
        {"halo_object_store_pulls_total", "Objects pulled from other nodes.", MetricType::Counter, objects.pulls},
    };
    for (const auto& metric : store_metrics) add(metric.name, metric.help, metric.type, static_cast<double>(metric.value));
    if (std::optional<NodeWorkSnapshot> work = work_()) {
      add("halo_node_workers", "Worker processes this node agent runs.", MetricType::Gauge,
          static_cast<double>(work->workers));
      add("halo_node_leases", "Worker leases this node agent has granted and not yet had back.", MetricType::Gauge,
          static_cast<double>(work->leases));
      add("halo_node_lease_requests_waiting", "Worker lease requests waiting for resources here.",
          MetricType::Gauge, static_cast<double>(work->waiting));
    }
    return out;
  }

 private:
  std::string node_id_;
  const ObjectStore& store_;
  std::function<std::optional<NodeWorkSnapshot>()> work_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> MakeNodeCollector(std::string node_id, const ObjectStore& store,
                                                           std::function<std::optional<NodeWorkSnapshot>()> work) {
  return std::make_shared<NodeCollector>(std::move(node_id), store, std::move(work));
}

}  // namespace halo::node
