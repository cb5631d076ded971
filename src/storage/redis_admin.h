// Administrative Redis operations run outside the GCS's own connection: from the CLI, and the GCS's metrics.
#pragma once

#include <optional>
#include <string>

#include "storage/redis_connection.h"

namespace halo {

// Removes every key of one namespace ("HALO<namespace>@*") with incremental SCAN and UNLINK (never KEYS),
// touching no other namespace. Idempotent. Yields how many keys it removed. Blocks the calling thread.
StatusOr<int64_t> CleanupRedisNamespace(const RedisOptions& options, const std::string& name_space);

// What Redis's INFO memory says of its memory.
struct RedisMemory {
  int64_t used_bytes = 0;  // used_memory
  int64_t max_bytes = 0;   // maxmemory; 0: no limit
};
// Reads INFO memory over a connection of its own, giving up after timeout_ms (connecting included): an error
// when Redis cannot be reached or answers nothing usable. Blocks the calling thread.
StatusOr<RedisMemory> ReadRedisMemory(RedisOptions options, int64_t timeout_ms);
// "key:value" lines of an INFO reply; the value of key, if present.
std::optional<std::string> RedisInfoField(const std::string& info, const std::string& key);

}  // namespace halo
