// A node's object store: the large objects made on (or pulled to) this node. Holds up to a memory capacity;
// past it, the least recently used objects are written to local disk (spilled) and read back when asked for
// (restored). An object larger than the whole capacity goes straight to disk. Thread-safe.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/status.h"

namespace halo::node {

class SpillStorage {
 public:
  virtual ~SpillStorage() = default;
  virtual Status Write(const std::string& id, const std::string& data) = 0;
  virtual StatusOr<std::string> Read(const std::string& id) = 0;
  virtual void Remove(const std::string& id) = 0;
};

// One file per object under a directory (made on first use).
class FileSpillStorage : public SpillStorage {
 public:
  explicit FileSpillStorage(std::string dir) : dir_(std::move(dir)) {}
  Status Write(const std::string& id, const std::string& data) override;
  StatusOr<std::string> Read(const std::string& id) override;
  void Remove(const std::string& id) override;

 private:
  std::string Path(const std::string& id) const;
  std::string dir_;
};

struct ObjectStoreStats {
  uint64_t objects = 0;
  uint64_t memory_bytes = 0;
  uint64_t spilled_objects = 0;
  uint64_t spills = 0;
  uint64_t restores = 0;
  uint64_t pulls = 0;
};

class ObjectStore {
 public:
  ObjectStore(uint64_t memory_capacity_bytes, std::unique_ptr<SpillStorage> spill)
      : capacity_(memory_capacity_bytes), spill_(std::move(spill)) {}

  // Storing an object that is already here is a no-op (a retried task made the same value).
  Status Put(const std::string& id, std::shared_ptr<const std::string> data, uint32_t job_id = 0);
  // NotFound if it is not here.
  StatusOr<std::shared_ptr<const std::string>> Get(const std::string& id);
  void Free(const std::string& id);
  // Frees every object of a job that ended; returns how many.
  size_t FreeJob(uint32_t job_id);
  void CountPull();
  ObjectStoreStats stats() const;

 private:
  struct Entry {
    std::shared_ptr<const std::string> data;  // null while spilled
    uint64_t size = 0;
    uint32_t job_id = 0;
    std::list<std::string>::iterator lru;     // valid while in memory
  };
  // Spills least recently used objects until `incoming` more bytes fit.
  Status MakeRoomLocked(uint64_t incoming);
  void FreeLocked(std::unordered_map<std::string, Entry>::iterator it);
  void TouchLocked(const std::string& id, Entry& entry);

  uint64_t capacity_;
  std::unique_ptr<SpillStorage> spill_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // front: most recently used; only objects in memory
  uint64_t memory_bytes_ = 0;
  ObjectStoreStats counters_;
};

}  // namespace halo::node
