// In-process store for tests and throwaway clusters: nothing survives the process.
#pragma once

#include "common/executor.h"
#include "storage/store_client.h"

namespace halo {

class MemoryStore : public StoreClient {
 public:
  explicit MemoryStore(Executor& executor) : executor_(executor) {}

  void AsyncPut(const std::string& table, const std::string& key, std::string value, bool overwrite,
                std::function<void(StatusOr<bool>)> done) override;
  void AsyncGet(const std::string& table, const std::string& key,
                std::function<void(StatusOr<std::optional<std::string>>)> done) override;
  void AsyncMultiGet(const std::string& table, const std::vector<std::string>& keys,
                     std::function<void(StatusOr<KeyValueMap>)> done) override;
  void AsyncGetAll(const std::string& table, std::function<void(StatusOr<KeyValueMap>)> done) override;
  void AsyncDelete(const std::string& table, const std::string& key,
                   std::function<void(StatusOr<bool>)> done) override;
  void AsyncBatchDelete(const std::string& table, const std::vector<std::string>& keys,
                        std::function<void(StatusOr<int64_t>)> done) override;
  void AsyncGetKeys(const std::string& table, const std::string& prefix,
                    std::function<void(StatusOr<std::vector<std::string>>)> done) override;
  void AsyncExists(const std::string& table, const std::string& key,
                   std::function<void(StatusOr<bool>)> done) override;
  std::string Kind() const override { return "memory"; }
  std::string Location() const override { return "process memory"; }

 private:
  template <typename T>
  void Reply(std::function<void(T)> done, T value) {
    executor_.Post([done = std::move(done), value = std::move(value)]() mutable { done(std::move(value)); });
  }

  Executor& executor_;
  std::map<std::string, KeyValueMap> tables_;
};

}  // namespace halo
