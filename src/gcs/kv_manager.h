// The GCS' internal key-value store: namespaced keys with put (with or without overwrite), get, delete (one
// key or by prefix), list by prefix and exists. Every row is written to storage before the write is
// acknowledged; reads are served from an in-memory copy loaded at start-up and updated on each acknowledged
// write. Event-driven on the GCS executor; no gRPC types.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/store_client.h"

namespace halo::gcs {

struct KvLimits {
  int64_t value_max_bytes = 4000000;
  int64_t list_max_keys = 100000;
};

class KvManager {
 public:
  KvManager(StoreClient& store, KvLimits limits) : store_(store), limits_(limits) {}

  // rows: the loaded KV table.
  void Initialize(KeyValueMap rows) { rows_ = std::move(rows); }

  void HandlePut(const std::string& name_space, const std::string& key, std::string value, bool overwrite,
                 std::function<void(StatusOr<bool>)> done);
  void HandleGet(const std::string& name_space, const std::string& key,
                 std::function<void(StatusOr<std::optional<std::string>>)> done);
  // Deletes key, or every key starting with it when by_prefix. Yields how many were deleted.
  void HandleDel(const std::string& name_space, const std::string& key, bool by_prefix,
                 std::function<void(StatusOr<int64_t>)> done);
  void HandleKeys(const std::string& name_space, const std::string& prefix,
                  std::function<void(StatusOr<std::vector<std::string>>)> done);
  void HandleExists(const std::string& name_space, const std::string& key, std::function<void(StatusOr<bool>)> done);

  size_t size() const { return rows_.size(); }

  // "<length of namespace>:<namespace><key>": unambiguous for any namespace, and a key prefix within one
  // namespace is a prefix of the stored key.
  static std::string StoredKey(const std::string& name_space, const std::string& key);

 private:
  std::vector<std::string> StoredKeysWithPrefix(const std::string& stored_prefix, size_t limit) const;

  StoreClient& store_;
  KvLimits limits_;
  std::map<std::string, std::string> rows_;  // stored key -> value, as acknowledged
};

}  // namespace halo::gcs
