// A node agent's Prometheus metrics on node_metrics_port, besides the process metrics every daemon serves:
//   halo_node_workers, halo_node_leases, halo_node_lease_requests_waiting (read on the node's executor, waited
//   for at most metrics_snapshot_timeout_ms); halo_object_store_objects, halo_object_store_memory_bytes,
//   halo_object_store_spilled_objects, halo_object_store_spills_total, halo_object_store_restores_total,
//   halo_object_store_pulls_total (the store is thread-safe). Every sample is labelled with the node's id.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "node/object_store.h"
#include "prometheus/collectable.h"

namespace halo::node {

struct NodeWorkSnapshot {
  int64_t workers = 0;
  int64_t leases = 0;
  int64_t waiting = 0;
};

// work: runs on a scrape thread and may give up (nullopt). store must outlive the collector's use.
std::shared_ptr<prometheus::Collectable> MakeNodeCollector(std::string node_id, const ObjectStore& store,
                                                           std::function<std::optional<NodeWorkSnapshot>()> work);

}  // namespace halo::node
