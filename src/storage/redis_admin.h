// Administrative Redis operations run from the CLI, outside any GCS.
#pragma once

#include "storage/redis_connection.h"

namespace halo {

// Removes every key of one namespace ("HALO<namespace>@*") with incremental SCAN and UNLINK (never KEYS),
// touching no other namespace. Idempotent. Yields how many keys it removed. Blocks the calling thread.
StatusOr<int64_t> CleanupRedisNamespace(const RedisOptions& options, const std::string& name_space);

}  // namespace halo
