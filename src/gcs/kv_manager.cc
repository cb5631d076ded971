#include "gcs/kv_manager.h"

#include "absl/strings/str_cat.h"
#include "gcs/table_names.h"

namespace halo::gcs {

std::string KvManager::StoredKey(const std::string& name_space, const std::string& key) {
  return absl::StrCat(name_space.size(), ":", name_space, key);
}

std::vector<std::string> KvManager::StoredKeysWithPrefix(const std::string& stored_prefix, size_t limit) const {
  std::vector<std::string> keys;
  for (auto it = rows_.lower_bound(stored_prefix); it != rows_.end() && it->first.starts_with(stored_prefix);
       ++it) {
    if (keys.size() >= limit) break;
    keys.push_back(it->first);
  }
  return keys;
}

void KvManager::HandlePut(const std::string& name_space, const std::string& key, std::string value, bool overwrite,
                          std::function<void(StatusOr<bool>)> done) {
  if (key.empty()) return done(InvalidArgumentError("KV key must not be empty"));
  if (static_cast<int64_t>(value.size()) > limits_.value_max_bytes) {
    return done(InvalidArgumentError(absl::StrCat("KV value of ", value.size(), " bytes exceeds kv_value_max_bytes (",
                                                  limits_.value_max_bytes, ")")));
  }
  std::string stored_key = StoredKey(name_space, key);
  store_.AsyncPut(kKvTable, stored_key, value, overwrite,
                  [this, stored_key, value, overwrite, done = std::move(done)](StatusOr<bool> added) mutable {
                    if (!added.ok()) return done(added);
                    // This GCS is the only writer: a key storage has but our copy lacks was written by this
                    // very call, sent twice across a reconnect (the replay found the first one's write).
                    if (!*added && !overwrite && !rows_.count(stored_key)) added = true;
                    if (*added || overwrite) rows_[stored_key] = std::move(value);
                    done(added);
                  });
}

void KvManager::HandleGet(const std::string& name_space, const std::string& key,
                          std::function<void(StatusOr<std::optional<std::string>>)> done) {
  auto it = rows_.find(StoredKey(name_space, key));
  if (it == rows_.end()) return done(std::optional<std::string>());
  done(std::optional<std::string>(it->second));
}

void KvManager::HandleDel(const std::string& name_space, const std::string& key, bool by_prefix,
                          std::function<void(StatusOr<int64_t>)> done) {
  std::string stored_key = StoredKey(name_space, key);
  std::vector<std::string> keys;
  if (by_prefix) {
    keys = StoredKeysWithPrefix(stored_key, rows_.size());
  } else if (rows_.count(stored_key)) {
    keys.push_back(stored_key);
  }
  store_.AsyncBatchDelete(kKvTable, keys, [this, keys, done = std::move(done)](StatusOr<int64_t> deleted) {
    if (!deleted.ok()) return done(deleted.status());
    // Count what our copy held, not what storage reports: a delete re-sent across a reconnect finds the
    // keys already gone.
    int64_t count = 0;
    for (const auto& k : keys) count += static_cast<int64_t>(rows_.erase(k));
    done(count);
  });
}

void KvManager::HandleKeys(const std::string& name_space, const std::string& prefix,
                           std::function<void(StatusOr<std::vector<std::string>>)> done) {
  const std::string stored_prefix = StoredKey(name_space, prefix);
  const size_t strip = StoredKey(name_space, "").size();
  auto stored = StoredKeysWithPrefix(stored_prefix, static_cast<size_t>(limits_.list_max_keys) + 1);
  if (static_cast<int64_t>(stored.size()) > limits_.list_max_keys) {
    return done(ResourceExhaustedError(
        absl::StrCat("more than kv_list_max_keys (", limits_.list_max_keys, ") keys match; use a longer prefix")));
  }
  std::vector<std::string> keys;
  keys.reserve(stored.size());
  for (auto& k : stored) keys.push_back(k.substr(strip));
  done(std::move(keys));
}

void KvManager::HandleExists(const std::string& name_space, const std::string& key,
                             std::function<void(StatusOr<bool>)> done) {
  done(rows_.count(StoredKey(name_space, key)) > 0);
}

}  // namespace halo::gcs
