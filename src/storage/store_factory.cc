#include "storage/store_factory.h"

#include "absl/strings/str_cat.h"
#include "storage/redis_leader_lease.h"

#include <future>

#include "storage/memory_store.h"
#include "storage/redis_store.h"
#include "storage/rocksdb_store.h"
#include "storage/storage_uri.h"

namespace halo {

RedisOptions RedisOptionsFromSettings(const Settings& settings, const StorageUri& uri) {
  RedisOptions options;
  options.uri = uri;
  options.ca_cert_path = settings.redis_ca_cert;
  options.client_cert_path = settings.redis_client_cert;
  options.client_key_path = settings.redis_client_key;
  options.server_name = settings.redis_server_name;
  options.connect_timeout_ms = settings.storage_connect_timeout_ms;
  options.unavailable_timeout_ms = settings.storage_unavailable_timeout_ms;
  options.reply_timeout_ms = settings.storage_reply_timeout_ms;
  options.retry_initial_ms = settings.storage_retry_initial_ms;
  options.retry_max_ms = settings.storage_retry_max_ms;
  options.pending_max = settings.storage_pending_ops_max;
  options.replicas_ack = settings.storage_replicas_ack;
  options.replicas_ack_timeout_ms = settings.storage_replicas_ack_timeout_ms;
  return options;
}

namespace {

// A started connection to the Redis the settings name (uri), or why there is none.
StatusOr<std::shared_ptr<RedisConnection>> StartRedis(const Settings& settings, const StorageUri& uri,
                                                      AsioExecutor& executor) {
  auto connection = RedisConnection::Create(executor.io_context(), RedisOptionsFromSettings(settings, uri));
  std::promise<Status> started;
  executor.Post([&] { connection->Start([&](Status s) { started.set_value(s); }); });
  Status status = started.get_future().get();
  if (status.ok()) return connection;
  std::promise<void> closed;
  executor.Post([&] {
    connection->Close();
    closed.set_value();
  });
  closed.get_future().wait();
  return status;
}

}  // namespace

StatusOr<std::unique_ptr<LeaderLease>> OpenLeaderLease(const Settings& settings, AsioExecutor& executor) {
  auto uri = ParseStorageUri(settings.storage);
  if (!uri.ok()) return uri.status();
  if (uri->kind != StorageUri::Kind::kRedis) {
    return FailedPreconditionError(absl::StrCat("head_mode 'ha' needs Redis storage (redis:// or rediss://), not '",
                                                settings.storage, "'"));
  }
  auto connection = StartRedis(settings, *uri, executor);
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<LeaderLease>(std::make_unique<RedisLeaderLease>(*connection, settings.storage_namespace));
}

StatusOr<std::unique_ptr<StoreClient>> OpenStore(const Settings& settings, const std::string& storage_path,
                                                 AsioExecutor& executor) {
  auto uri = ParseStorageUri(settings.storage);
  if (!uri.ok()) return uri.status();
  switch (uri->kind) {
    case StorageUri::Kind::kMemory:
      return std::unique_ptr<StoreClient>(std::make_unique<MemoryStore>(executor));
    case StorageUri::Kind::kEmbedded: {
      auto store = RocksDbStore::Open(storage_path, executor, settings.rocksdb_write_batch_max);
      if (!store.ok()) return store.status();
      return std::unique_ptr<StoreClient>(std::move(*store));
    }
    case StorageUri::Kind::kRedis: {
      auto connection = StartRedis(settings, *uri, executor);
      if (!connection.ok()) return connection.status();
      return std::unique_ptr<StoreClient>(std::make_unique<RedisStore>(*connection, settings.storage_namespace));
    }
  }
  return InternalError("unknown storage kind");
}

}  // namespace halo
