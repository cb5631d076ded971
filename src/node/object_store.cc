#include "node/object_store.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace halo::node {

std::string FileSpillStorage::Path(const std::string& id) const {
  return absl::StrCat(dir_, "/", absl::BytesToHexString(id));
}

Status FileSpillStorage::Write(const std::string& id, const std::string& data) {
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  std::ofstream out(Path(id), std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.flush();
  if (!out) return InternalError(absl::StrCat("cannot spill an object to ", Path(id), " (disk full?)"));
  return OkStatus();
}

StatusOr<std::string> FileSpillStorage::Read(const std::string& id) {
  std::ifstream in(Path(id), std::ios::binary);
  if (!in) return NotFoundError(absl::StrCat("spilled object file ", Path(id), " is missing"));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return data;
}

void FileSpillStorage::Remove(const std::string& id) {
  std::error_code error;
  std::filesystem::remove(Path(id), error);
}

Status ObjectStore::Put(const std::string& id, std::shared_ptr<const std::string> data, uint32_t job_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.count(id) > 0) return OkStatus();
  const uint64_t size = data->size();
  if (size > capacity_) {
    HALO_RETURN_IF_ERROR(spill_->Write(id, *data));
    Entry& entry = entries_[id];
    entry.size = size;
    entry.job_id = job_id;
    counters_.spills += 1;
    return OkStatus();
  }
  HALO_RETURN_IF_ERROR(MakeRoomLocked(size));
  Entry& entry = entries_[id];
  entry.data = std::move(data);
  entry.size = size;
  entry.job_id = job_id;
  lru_.push_front(id);
  entry.lru = lru_.begin();
  memory_bytes_ += size;
  return OkStatus();
}

Status ObjectStore::MakeRoomLocked(uint64_t incoming) {
  while (memory_bytes_ + incoming > capacity_ && !lru_.empty()) {
    const std::string victim = lru_.back();
    Entry& entry = entries_[victim];
    HALO_RETURN_IF_ERROR(spill_->Write(victim, *entry.data));
    memory_bytes_ -= entry.size;
    entry.data.reset();
    lru_.pop_back();
    counters_.spills += 1;
  }
  return OkStatus();
}

void ObjectStore::TouchLocked(const std::string& id, Entry& entry) {
  lru_.erase(entry.lru);
  lru_.push_front(id);
  entry.lru = lru_.begin();
}

StatusOr<std::shared_ptr<const std::string>> ObjectStore::Get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return NotFoundError("not in this node's object store");
  Entry& entry = it->second;
  if (entry.data) {
    TouchLocked(id, entry);
    return entry.data;
  }
  auto data = spill_->Read(id);
  if (!data.ok()) return data.status();
  counters_.restores += 1;
  auto shared = std::make_shared<const std::string>(std::move(*data));
  if (entry.size <= capacity_) {
    HALO_RETURN_IF_ERROR(MakeRoomLocked(entry.size));
    spill_->Remove(id);
    entry.data = shared;
    lru_.push_front(id);
    entry.lru = lru_.begin();
    memory_bytes_ += entry.size;
  }
  return shared;
}

void ObjectStore::Free(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it != entries_.end()) FreeLocked(it);
}

size_t ObjectStore::FreeJob(uint32_t job_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t freed = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto next = std::next(it);
    if (it->second.job_id == job_id) {
      FreeLocked(it);
      ++freed;
    }
    it = next;
  }
  return freed;
}

void ObjectStore::FreeLocked(std::unordered_map<std::string, Entry>::iterator it) {
  if (it->second.data) {
    memory_bytes_ -= it->second.size;
    lru_.erase(it->second.lru);
  } else {
    spill_->Remove(it->first);
  }
  entries_.erase(it);
}

void ObjectStore::CountPull() {
  std::lock_guard<std::mutex> lock(mutex_);
  counters_.pulls += 1;
}

ObjectStoreStats ObjectStore::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  ObjectStoreStats out = counters_;
  out.objects = entries_.size();
  out.memory_bytes = memory_bytes_;
  out.spilled_objects = entries_.size() - lru_.size();
  return out;
}

}  // namespace halo::node
