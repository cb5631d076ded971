// The one asynchronous storage interface the GCS persists through. A store maps (table, key) to bytes.
//
// Promises, for every backend (checked by tests/storage/conformance_test.cc):
// - Every callback runs on the Executor (or io_context) the store was built with, never inline in the call.
// - Operations on one key complete in the order they were issued; a read issued after a write sees it.
// - A write's callback reports success only once the write is as durable as the backend can make it
//   (embedded: synced write-ahead log; redis: accepted by the server; memory: not durable).
// - Reads of a table that was never written see it empty.
// Thread-safety: call only from the thread of the executor the store was built with.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace halo {

using KeyValueMap = std::map<std::string, std::string>;

// A write refused because a newer leader fenced the store (Fence): FailedPrecondition, told apart from other
// refusals by its payload, never by its message.
inline constexpr char kFencedPayload[] = "type.halo.dev/fenced";
inline Status FencedError(const std::string& message) {
  Status status = FailedPreconditionError(message);
  status.SetPayload(kFencedPayload, absl::Cord("1"));
  return status;
}
inline bool IsFenced(const Status& status) { return status.GetPayload(kFencedPayload).has_value(); }

class StoreClient {
 public:
  virtual ~StoreClient() = default;

  // Writes key=value. With overwrite=false an existing key is left unchanged. Yields true if the key did
  // not exist before (so with overwrite=false: true exactly when the value was written).
  virtual void AsyncPut(const std::string& table, const std::string& key, std::string value, bool overwrite,
                        std::function<void(StatusOr<bool>)> done) = 0;
  virtual void AsyncGet(const std::string& table, const std::string& key,
                        std::function<void(StatusOr<std::optional<std::string>>)> done) = 0;
  // Yields only the keys that exist.
  virtual void AsyncMultiGet(const std::string& table, const std::vector<std::string>& keys,
                             std::function<void(StatusOr<KeyValueMap>)> done) = 0;
  virtual void AsyncGetAll(const std::string& table, std::function<void(StatusOr<KeyValueMap>)> done) = 0;
  // Yields true if the key existed.
  virtual void AsyncDelete(const std::string& table, const std::string& key,
                           std::function<void(StatusOr<bool>)> done) = 0;
  // Yields how many of the keys existed.
  virtual void AsyncBatchDelete(const std::string& table, const std::vector<std::string>& keys,
                                std::function<void(StatusOr<int64_t>)> done) = 0;
  // Every key starting with prefix, sorted.
  virtual void AsyncGetKeys(const std::string& table, const std::string& prefix,
                            std::function<void(StatusOr<std::vector<std::string>>)> done) = 0;
  virtual void AsyncExists(const std::string& table, const std::string& key,
                           std::function<void(StatusOr<bool>)> done) = 0;

  // Called at most once, on the store's executor, when the store fails for good (for example Redis stayed
  // unreachable past its bound). The owner is expected to stop serving.
  virtual void SetFatalHandler(std::function<void(Status)> handler) { (void)handler; }
  // From now on writes are applied only while epoch is still the current leader epoch in storage (head
  // high availability). Unimplemented where storage keeps no epoch (embedded, memory).
  virtual Status Fence(int64_t epoch) {
    (void)epoch;
    return UnimplementedError("this storage does not fence writes");
  }
  // Finishes or fails every operation still pending, now, and refuses new ones (for a stopping owner whose
  // callers wait on them). Default: nothing pending outlives a short wait, so nothing to do.
  virtual void Shutdown() {}
  // Hears, on the store's executor, of each connection to a storage server made again after one was lost: the
  // error that ended it and how long the server was out of reach. Never called for in-process kinds.
  virtual void SetReconnectHandler(std::function<void(const std::string& error, int64_t outage_ms)> handler) {
    (void)handler;
  }
  // Connections to a storage server made again after one was lost, so far (any thread; 0 for in-process kinds).
  virtual int64_t Reconnects() const { return 0; }
  // "embedded", "memory", "redis" or "rediss".
  virtual std::string Kind() const = 0;
  // Where the data lives, without credentials (a path, host:port, or "process memory").
  virtual std::string Location() const = 0;
};

}  // namespace halo
