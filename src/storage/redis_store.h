// StoreClient on Redis: table T of namespace N is the hash "HALO<N>@<T>". Runs on one RedisConnection, so
// operations keep their issue order. Does not block: every call is a queued command.
#pragma once

#include <memory>

#include "storage/redis_connection.h"
#include "storage/store_client.h"

namespace halo {

// "HALO<namespace>@<table>". The namespace never contains '@' (settings refuse it), so one namespace's
// keys never match another's pattern.
std::string RedisTableKey(const std::string& name_space, const std::string& table);
// Escapes glob characters so a literal prefix can be used in SCAN/HSCAN MATCH.
std::string EscapeRedisGlob(const std::string& literal);

class RedisStore : public StoreClient {
 public:
  RedisStore(std::shared_ptr<RedisConnection> connection, std::string name_space);
  ~RedisStore() override;

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
  void SetFatalHandler(std::function<void(Status)> handler) override;
  // From now on every write (put, delete) is applied only while the value of epoch_key is still epoch,
  // checked atomically on the server; otherwise it fails with FailedPrecondition naming both epochs.
  // Reads are not fenced. Call on the connection's thread, before the writes it should cover.
  void SetFence(std::string epoch_key, int64_t epoch);
  // SetFence with this namespace's epoch key (RedisEpochKey).
  Status Fence(int64_t epoch) override;
  void Shutdown() override { connection_->Close(); }
  int64_t Reconnects() const override { return connection_->reconnects(); }
  void SetReconnectHandler(std::function<void(const std::string& error, int64_t outage_ms)> handler) override {
    connection_->SetReconnectHandler(std::move(handler));
  }
  std::string Kind() const override;
  std::string Location() const override;

 private:
  void ScanKeys(std::string hash, std::string pattern, std::string cursor,
                std::shared_ptr<std::vector<std::string>> keys,
                std::function<void(StatusOr<std::vector<std::string>>)> done);

  // Sends a write command {verb, hash, args...}, through the fence script when a fence is set.
  void Write(std::vector<std::string> command, RedisConnection::ReplyCallback done);

  std::shared_ptr<RedisConnection> connection_;
  std::string namespace_;
  const bool sentinel_;
  const std::string master_name_;
  const std::string sentinels_;
  std::string fence_key_;  // empty: writes are not fenced
  std::string fence_epoch_;
};

}  // namespace halo
