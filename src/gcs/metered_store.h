// A StoreClient that forwards every call to another and measures it, for the GCS's metrics:
//   halo_storage_operations_total{op, outcome}   op: put, get, multi_get, get_all, delete, batch_delete,
//                                                get_keys, exists; outcome: ok | error
//   halo_storage_operation_seconds{op}           from the call to its answer
//   halo_storage_reconnects_total                connections the store made again after losing one
// Answers reach the caller unchanged, on the thread the inner store gives them.
#pragma once

#include <memory>
#include <string>

#include "metrics/metrics_server.h"
#include "storage/store_client.h"

namespace halo::gcs {

// The metrics are served by server, which must stop (be destroyed) before the returned store is: its scrapes
// read the store's reconnect count.
std::unique_ptr<StoreClient> MeterStore(std::unique_ptr<StoreClient> inner, metrics::MetricsServer& server);

}  // namespace halo::gcs
