// The cluster's executable store: programs uploaded in chunks (a service's executable, which has no driver to
// serve it) and kept in the EXECUTABLES table by SHA-256. A program becomes visible only when Commit has read
// every chunk back and found the hash it is named by, so a reader never sees half an upload or a corrupt
// one; uploading the same program again is harmless. Nothing is held in memory: the table is not loaded at
// recovery, and each chunk is read from storage when asked. Event-driven on the GCS executor.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "proto/executable.pb.h"
#include "storage/store_client.h"

namespace halo::gcs {

struct ExecutableLimits {
  int64_t chunk_bytes = 1024 * 1024;  // every chunk but the last has exactly this size
  int64_t max_bytes = 4LL * 1024 * 1024 * 1024;
};

class ExecutableManager {
 public:
  ExecutableManager(StoreClient& store, ExecutableLimits limits) : store_(store), limits_(limits) {}

  // InvalidArgument for a malformed hash, an index past max_bytes, or a chunk longer than chunk_bytes.
  void HandlePutChunk(const std::string& sha256, uint32_t index, std::string data, std::function<void(Status)> done);
  // DataLoss when the chunks do not hash to sha256 (or one is missing, or a size is wrong): nothing is recorded.
  void HandleCommit(const std::string& sha256, uint32_t chunks, uint64_t total_bytes, std::function<void(Status)> done);
  void HandleInfo(const std::string& sha256, std::function<void(StatusOr<rpc::GetExecutableInfoReply>)> done);
  // NotFound unless the executable is committed and has that chunk.
  void HandleGetChunk(const std::string& sha256, uint32_t index, std::function<void(StatusOr<std::string>)> done);

  static std::string ChunkKey(const std::string& sha256, uint32_t index);

 private:
  StoreClient& store_;
  ExecutableLimits limits_;
};

}  // namespace halo::gcs
