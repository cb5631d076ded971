#include "storage/rocksdb_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/process.h"
#include "rocksdb/db.h"
#include "rocksdb/utilities/write_batch_with_index.h"

namespace halo {
namespace {

constexpr char kOwnerFile[] = "HALO_OWNER";

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return OkStatus();
  return InternalError(absl::StrCat("RocksDB ", what, ": ", s.ToString()));
}

// Takes an exclusive advisory lock on <path>/HALO_OWNER and records our pid in it. The lock dies with the
// process, so a kill -9 never leaves the store locked.
StatusOr<int> LockStorePath(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return InvalidArgumentError(absl::StrCat("cannot create storage path ", path, ": ", ec.message()));
  const std::string owner = path + "/" + kOwnerFile;
  int fd = open(owner.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return InvalidArgumentError(absl::StrCat("cannot open ", owner, ": ", strerror(errno)));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    std::string pid = ReadTrimmedFile(owner);
    if (pid.empty()) pid = "unknown";
    std::string command = pid != "unknown" ? ProcessCommandLine(std::atoi(pid.c_str())) : "";
    return FailedPreconditionError(absl::StrCat("storage path ", path, " is in use by another process (pid ", pid,
                                                command.empty() ? "" : ": " + command, ")"));
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    close(fd);
    return InternalError(absl::StrCat("cannot write ", owner, ": ", strerror(errno)));
  }
  return fd;
}

}  // namespace

StatusOr<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const std::string& path, Executor& callbacks,
                                                           int64_t write_batch_max) {
  auto lock_fd = LockStorePath(path);
  if (!lock_fd.ok()) return lock_fd.status();
  std::unique_ptr<RocksDbStore> store(new RocksDbStore(path, callbacks, write_batch_max, *lock_fd));
  HALO_RETURN_IF_ERROR(store->OpenDatabase());
  store->thread_ = std::thread([raw = store.get()] { raw->StorageThreadLoop(); });
  return store;
}

RocksDbStore::RocksDbStore(std::string path, Executor& callbacks, int64_t write_batch_max, int lock_fd)
    : path_(std::move(path)), callbacks_(callbacks), write_batch_max_(write_batch_max), lock_fd_(lock_fd) {}

Status RocksDbStore::OpenDatabase() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  std::vector<std::string> names;
  rocksdb::Status list = rocksdb::DB::ListColumnFamilies(options, path_, &names);
  if (!list.ok() || names.empty()) names = {rocksdb::kDefaultColumnFamilyName};
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  HALO_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, path_, descriptors, &handles, &db_),
                                 "open " + path_));
  for (auto* handle : handles) tables_[handle->GetName()] = handle;
  return OkStatus();
}

RocksDbStore::~RocksDbStore() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& [name, handle] : tables_) db_->DestroyColumnFamilyHandle(handle);
  delete db_;
  close(lock_fd_);
}

rocksdb::ColumnFamilyHandle* RocksDbStore::Table(const std::string& name, bool create, Status* error) {
  auto it = tables_.find(name);
  if (it != tables_.end()) return it->second;
  if (!create) return nullptr;
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  *error = FromRocks(db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), name, &handle), "create table " + name);
  if (!error->ok()) return nullptr;
  tables_[name] = handle;
  return handle;
}

void RocksDbStore::Enqueue(Operation op) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(op));
  }
  wake_.notify_one();
}

void RocksDbStore::StorageThreadLoop() {
  while (true) {
    std::deque<Operation> work;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping with nothing left
      while (!queue_.empty() && static_cast<int64_t>(work.size()) < write_batch_max_) {
        work.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    rocksdb::WriteBatchWithIndex batch(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true);
    std::vector<std::function<void()>> deliveries;
    deliveries.reserve(work.size());
    bool any_write = false;
    for (auto& op : work) {
      // An operation that fails part-way leaves nothing of itself in the batch.
      batch.SetSavePoint();
      bool failed = false;
      deliveries.push_back(op.run(batch, &failed));
      if (failed) {
        (void)batch.RollbackToSavePoint();
      } else {
        (void)batch.PopSavePoint();
      }
      any_write |= op.writes;
    }
    Status commit = OkStatus();
    if (any_write && batch.GetWriteBatch()->Count() > 0) {
      rocksdb::WriteOptions sync;
      sync.sync = true;
      commit = FromRocks(db_->Write(sync, batch.GetWriteBatch()), "write");
    }
    for (size_t i = 0; i < work.size(); ++i) {
      // If the commit failed, reads of this batch may have seen its writes: fail them too.
      if (!commit.ok()) {
        callbacks_.Post([fail = std::move(work[i].fail), commit] { fail(commit); });
      } else {
        callbacks_.Post(std::move(deliveries[i]));
      }
    }
  }
}

namespace {

// Reads key through the open batch, so earlier writes of the same batch are visible.
StatusOr<std::optional<std::string>> ReadKey(rocksdb::DB* db, rocksdb::WriteBatchWithIndex& batch,
                                             rocksdb::ColumnFamilyHandle* cf, const std::string& key) {
  if (cf == nullptr) return std::optional<std::string>();
  std::string value;
  rocksdb::Status s = batch.GetFromBatchAndDB(db, rocksdb::ReadOptions(), cf, key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return InternalError("RocksDB get: " + s.ToString());
  return std::optional<std::string>(std::move(value));
}

template <typename T>
std::function<void()> Deliver(std::function<void(T)> done, T value) {
  return [done = std::move(done), value = std::move(value)]() mutable { done(std::move(value)); };
}

template <typename T>
std::function<void(Status)> Fail(std::function<void(T)> done) {
  return [done](Status s) { done(T(std::move(s))); };
}

}  // namespace

void RocksDbStore::AsyncPut(const std::string& table, const std::string& key, std::string value, bool overwrite,
                            std::function<void(StatusOr<bool>)> done) {
  Operation op;
  op.writes = true;
  op.fail = Fail<StatusOr<bool>>(done);
  op.run = [this, table, key, value = std::move(value), overwrite,
            done = std::move(done)](rocksdb::WriteBatchWithIndex& batch, bool* failed) mutable -> std::function<void()> {
    Status error = OkStatus();
    auto* cf = Table(table, /*create=*/true, &error);
    if (cf == nullptr) {
      *failed = true;
      return Deliver<StatusOr<bool>>(std::move(done), error);
    }
    auto existing = ReadKey(db_, batch, cf, key);
    if (!existing.ok()) {
      *failed = true;
      return Deliver<StatusOr<bool>>(std::move(done), existing.status());
    }
    bool is_new = !existing->has_value();
    if (is_new || overwrite) {
      rocksdb::Status s = batch.Put(cf, key, value);
      if (!s.ok()) {
        *failed = true;
        return Deliver<StatusOr<bool>>(std::move(done), FromRocks(s, "put"));
      }
    }
    return Deliver<StatusOr<bool>>(std::move(done), is_new);
  };
  Enqueue(std::move(op));
}

void RocksDbStore::AsyncGet(const std::string& table, const std::string& key,
                            std::function<void(StatusOr<std::optional<std::string>>)> done) {
  Operation op;
  op.fail = Fail<StatusOr<std::optional<std::string>>>(done);
  op.run = [this, table, key, done = std::move(done)](rocksdb::WriteBatchWithIndex& batch, bool* failed) mutable {
    Status error = OkStatus();
    return Deliver<StatusOr<std::optional<std::string>>>(std::move(done),
                                                         ReadKey(db_, batch, Table(table, false, &error), key));
  };
  Enqueue(std::move(op));
}

void RocksDbStore::AsyncMultiGet(const std::string& table, const std::vector<std::string>& keys,
                                 std::function<void(StatusOr<KeyValueMap>)> done) {
  Operation op;
  op.fail = Fail<StatusOr<KeyValueMap>>(done);
  op.run = [this, table, keys, done = std::move(done)](rocksdb::WriteBatchWithIndex& batch, bool* failed) mutable {
    Status error = OkStatus();
    auto* cf = Table(table, false, &error);
    KeyValueMap result;
    for (const auto& key : keys) {
      auto value = ReadKey(db_, batch, cf, key);
      if (!value.ok()) return Deliver<StatusOr<KeyValueMap>>(std::move(done), value.status());
      if (value->has_value()) result[key] = std::move(**value);
    }
    return Deliver<StatusOr<KeyValueMap>>(std::move(done), std::move(result));
  };
  Enqueue(std::move(op));
}

void RocksDbStore::AsyncGetAll(const std::string& table, std::function<void(StatusOr<KeyValueMap>)> done) {
  Operation op;
  op.fail = Fail<StatusOr<KeyValueMap>>(done);
  op.run = [this, table, done = std::move(done)](rocksdb::WriteBatchWithIndex& batch, bool* failed) mutable {
    Status error = OkStatus();
    auto* cf = Table(table, false, &error);
    KeyValueMap result;
    if (cf != nullptr) {
      std::unique_ptr<rocksdb::Iterator> it(batch.NewIteratorWithBase(cf, db_->NewIterator(rocksdb::ReadOptions(), cf)));
      for (it->SeekToFirst(); it->Valid(); it->Next()) result.emplace(it->key().ToString(), it->value().ToString());
      if (!it->status().ok()) return Deliver<StatusOr<KeyValueMap>>(std::move(done), FromRocks(it->status(), "scan"));
    }
    return Deliver<StatusOr<KeyValueMap>>(std::move(done), std::move(result));
  };
  Enqueue(std::move(op));
}

void RocksDbStore::AsyncDelete(const std::string& table, const std::string& key,
                               std::function<void(StatusOr<bool>)> done) {
  AsyncBatchDelete(table, {key}, [done = std::move(done)](StatusOr<int64_t> count) {
    if (!count.ok()) return done(count.status());
    done(*count > 0);
  });
}

void RocksDbStore::AsyncBatchDelete(const std::string& table, const std::vector<std::string>& keys,
                                    std::function<void(StatusOr<int64_t>)> done) {
  Operation op;
  op.writes = true;
  op.fail = Fail<StatusOr<int64_t>>(done);
  op.run = [this, table, keys, done = std::move(done)](rocksdb::WriteBatchWithIndex& batch, bool* failed) mutable {
    Status error = OkStatus();
    auto* cf = Table(table, false, &error);
    int64_t count = 0;
    if (cf != nullptr) {
      for (const auto& key : keys) {
        auto value = ReadKey(db_, batch, cf, key);
        if (!value.ok()) {
          *failed = true;
          return Deliver<StatusOr<int64_t>>(std::move(done), value.status());
        }
        if (!value->has_value()) continue;
        rocksdb::Status s = batch.Delete(cf, key);
        if (!s.ok()) {
          *failed = true;
          return Deliver<StatusOr<int64_t>>(std::move(done), FromRocks(s, "delete"));
        }
        ++count;
      }
    }
    return Deliver<StatusOr<int64_t>>(std::move(done), count);
  };
  Enqueue(std::move(op));
}

void RocksDbStore::AsyncGetKeys(const std::string& table, const std::string& prefix,
                                std::function<void(StatusOr<std::vector<std::string>>)> done) {
  Operation op;
  op.fail = Fail<StatusOr<std::vector<std::string>>>(done);
  op.run = [this, table, prefix, done = std::move(done)](rocksdb::WriteBatchWithIndex& batch, bool* failed) mutable {
    Status error = OkStatus();
    auto* cf = Table(table, false, &error);
    std::vector<std::string> keys;
    if (cf != nullptr) {
      std::unique_ptr<rocksdb::Iterator> it(batch.NewIteratorWithBase(cf, db_->NewIterator(rocksdb::ReadOptions(), cf)));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        keys.push_back(it->key().ToString());
      }
      if (!it->status().ok()) {
        return Deliver<StatusOr<std::vector<std::string>>>(std::move(done), FromRocks(it->status(), "scan"));
      }
    }
    return Deliver<StatusOr<std::vector<std::string>>>(std::move(done), std::move(keys));
  };
  Enqueue(std::move(op));
}

void RocksDbStore::AsyncExists(const std::string& table, const std::string& key,
                               std::function<void(StatusOr<bool>)> done) {
  AsyncGet(table, key, [done = std::move(done)](StatusOr<std::optional<std::string>> value) {
    if (!value.ok()) return done(value.status());
    done(value->has_value());
  });
}

}  // namespace halo
