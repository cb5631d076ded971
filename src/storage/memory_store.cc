#include "storage/memory_store.h"

namespace halo {

void MemoryStore::AsyncPut(const std::string& table, const std::string& key, std::string value, bool overwrite,
                           std::function<void(StatusOr<bool>)> done) {
  auto& rows = tables_[table];
  auto it = rows.find(key);
  bool is_new = it == rows.end();
  if (is_new) {
    rows.emplace(key, std::move(value));
  } else if (overwrite) {
    it->second = std::move(value);
  }
  Reply<StatusOr<bool>>(std::move(done), is_new);
}

void MemoryStore::AsyncGet(const std::string& table, const std::string& key,
                           std::function<void(StatusOr<std::optional<std::string>>)> done) {
  std::optional<std::string> result;
  auto t = tables_.find(table);
  if (t != tables_.end()) {
    auto it = t->second.find(key);
    if (it != t->second.end()) result = it->second;
  }
  Reply<StatusOr<std::optional<std::string>>>(std::move(done), std::move(result));
}

void MemoryStore::AsyncMultiGet(const std::string& table, const std::vector<std::string>& keys,
                                std::function<void(StatusOr<KeyValueMap>)> done) {
  KeyValueMap result;
  auto t = tables_.find(table);
  if (t != tables_.end()) {
    for (const auto& key : keys) {
      auto it = t->second.find(key);
      if (it != t->second.end()) result[key] = it->second;
    }
  }
  Reply<StatusOr<KeyValueMap>>(std::move(done), std::move(result));
}

void MemoryStore::AsyncGetAll(const std::string& table, std::function<void(StatusOr<KeyValueMap>)> done) {
  auto t = tables_.find(table);
  Reply<StatusOr<KeyValueMap>>(std::move(done), t == tables_.end() ? KeyValueMap{} : t->second);
}

void MemoryStore::AsyncDelete(const std::string& table, const std::string& key,
                              std::function<void(StatusOr<bool>)> done) {
  auto t = tables_.find(table);
  bool existed = t != tables_.end() && t->second.erase(key) > 0;
  Reply<StatusOr<bool>>(std::move(done), existed);
}

void MemoryStore::AsyncBatchDelete(const std::string& table, const std::vector<std::string>& keys,
                                   std::function<void(StatusOr<int64_t>)> done) {
  int64_t count = 0;
  auto t = tables_.find(table);
  if (t != tables_.end()) {
    for (const auto& key : keys) count += static_cast<int64_t>(t->second.erase(key));
  }
  Reply<StatusOr<int64_t>>(std::move(done), count);
}

void MemoryStore::AsyncGetKeys(const std::string& table, const std::string& prefix,
                               std::function<void(StatusOr<std::vector<std::string>>)> done) {
  std::vector<std::string> keys;
  auto t = tables_.find(table);
  if (t != tables_.end()) {
    for (auto it = t->second.lower_bound(prefix); it != t->second.end() && it->first.starts_with(prefix); ++it) {
      keys.push_back(it->first);
    }
  }
  Reply<StatusOr<std::vector<std::string>>>(std::move(done), std::move(keys));
}

void MemoryStore::AsyncExists(const std::string& table, const std::string& key,
                              std::function<void(StatusOr<bool>)> done) {
  auto t = tables_.find(table);
  bool exists = t != tables_.end() && t->second.count(key) > 0;
  Reply<StatusOr<bool>>(std::move(done), exists);
}

}  // namespace halo
