// Embedded durable store: RocksDB under one directory, one column family per table. Every operation runs
// on one storage thread in the order issued; consecutive operations are grouped into one batch that is
// written with a synced WAL before any of their callbacks run (group commit), so an acknowledged write
// survives kill -9 and power loss. A second process opening the same directory fails at once with a
// message naming the process that holds it.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/executor.h"
#include "storage/store_client.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatchWithIndex;
}  // namespace rocksdb

namespace halo {

class RocksDbStore : public StoreClient {
 public:
  // Opens (creating if needed) the store at path. Callbacks are posted to `callbacks`.
  static StatusOr<std::unique_ptr<RocksDbStore>> Open(const std::string& path, Executor& callbacks,
                                                      int64_t write_batch_max);
  ~RocksDbStore() override;

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
  std::string Kind() const override { return "embedded"; }
  std::string Location() const override { return path_; }

 private:
  // One queued operation. `run` executes on the storage thread against the open batch, sets *failed if it
  // failed (its partial writes are then rolled back), and returns the closure that delivers its result;
  // that closure is posted to the callback executor after the commit. A failed commit replaces every
  // result of the batch, reads included, with the commit error.
  struct Operation {
    bool writes = false;
    std::function<std::function<void()>(rocksdb::WriteBatchWithIndex&, bool* failed)> run;
    std::function<void(Status)> fail;
  };

  RocksDbStore(std::string path, Executor& callbacks, int64_t write_batch_max, int lock_fd);
  Status OpenDatabase();
  void Enqueue(Operation op);
  void StorageThreadLoop();
  // Storage thread only. nullptr when the table does not exist and create is false.
  rocksdb::ColumnFamilyHandle* Table(const std::string& name, bool create, Status* error);

  std::string path_;
  Executor& callbacks_;
  int64_t write_batch_max_;
  int lock_fd_;
  rocksdb::DB* db_ = nullptr;
  std::unordered_map<std::string, rocksdb::ColumnFamilyHandle*> tables_;  // storage thread only

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Operation> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace halo
