// Builds the StoreClient the `storage` setting names. The only place that knows every backend.
#pragma once

#include <memory>

#include "common/asio_executor.h"
#include "common/settings.h"
#include "storage/redis_connection.h"
#include "storage/leader_lease.h"
#include "storage/store_client.h"

namespace halo {

RedisOptions RedisOptionsFromSettings(const Settings& settings, const StorageUri& uri);

// Opens the store and waits until it is usable (Redis: connected and checked). `executor` must already be
// running its thread; callbacks of the store run there. Blocks the calling thread, which must not be the
// executor's. `storage_path` is the resolved RocksDB directory for embedded storage.
StatusOr<std::unique_ptr<StoreClient>> OpenStore(const Settings& settings, const std::string& storage_path,
                                                 AsioExecutor& executor);

// The leader lease kept in the Redis the settings name (its own connection), for head_mode 'ha'.
// FailedPrecondition for any other storage.
StatusOr<std::unique_ptr<LeaderLease>> OpenLeaderLease(const Settings& settings, AsioExecutor& executor);

}  // namespace halo
