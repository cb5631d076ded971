#include "core/object_table.h"

#include <algorithm>
#include <chrono>
#include <tuple>

namespace halo::core {

using Freed = std::vector<std::tuple<std::string, std::vector<rpc::ObjectLocation>, std::optional<rpc::TaskSpec>>>;

void ObjectTable::AddPending(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_[id].references += 1;
}

void ObjectTable::AddReady(const std::string& id, std::shared_ptr<const std::string> value) {
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& entry = entries_[id];
  entry.references += 1;
  entry.complete = true;
  entry.made_by_put = true;
  entry.lookup.result.value = std::move(value);
}

bool ObjectTable::AddBorrowed(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, added] = entries_.try_emplace(id);
  it->second.references += 1;
  if (added) it->second.borrowed = true;
  return added;
}

void ObjectTable::AddStored(const std::string& id, rpc::ObjectLocation location) {
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& entry = entries_[id];
  entry.references += 1;
  entry.complete = true;
  entry.made_by_put = true;
  entry.lookup.locations.push_back(std::move(location));
}

void ObjectTable::Complete(const std::string& id, std::shared_ptr<const std::string> value) {
  ObjectLookup lookup;
  lookup.result.value = std::move(value);
  Finish(id, std::move(lookup), std::nullopt, nullptr);
}

bool ObjectTable::CompleteStored(const std::string& id, rpc::ObjectLocation location, rpc::TaskSpec lineage) {
  ObjectLookup lookup;
  lookup.locations.push_back(std::move(location));
  bool kept = false;
  Finish(id, std::move(lookup), std::move(lineage), &kept);
  return kept;
}

void ObjectTable::CompleteStoredByActor(const std::string& id, rpc::ObjectLocation location) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.complete) return;
    it->second.made_by_actor = true;
  }
  ObjectLookup lookup;
  lookup.locations.push_back(std::move(location));
  Finish(id, std::move(lookup), std::nullopt, nullptr);
}

void ObjectTable::CompleteWithCopies(const std::string& id, std::vector<rpc::ObjectLocation> copies) {
  ObjectLookup lookup;
  lookup.locations = std::move(copies);
  Finish(id, std::move(lookup), std::nullopt, nullptr);
}

void ObjectTable::Fail(const std::string& id, ErrorInfo error) {
  ObjectLookup lookup;
  lookup.result.error = std::move(error);
  Finish(id, std::move(lookup), std::nullopt, nullptr);
}

void ObjectTable::FailIncomplete(const ErrorInfo& error) {
  std::vector<std::string> incomplete;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, entry] : entries_) {
      if (!entry.complete) incomplete.push_back(id);
    }
  }
  for (const auto& id : incomplete) Fail(id, error);
}

void ObjectTable::Finish(const std::string& id, ObjectLookup lookup, std::optional<rpc::TaskSpec> lineage,
                         bool* kept) {
  std::map<uint64_t, std::function<void(const ObjectLookup&)>> watchers;
  Freed freed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.complete) return;
    it->second.complete = true;
    it->second.lookup = lookup;
    it->second.lineage = std::move(lineage);
    if (kept != nullptr) *kept = true;
    watchers.swap(it->second.watchers);
    if (it->second.references <= 0) EraseLocked(it, &freed);
  }
  changed_.notify_all();
  for (auto& [token, watcher] : watchers) watcher(lookup);
  NotifyFreed(freed);
}

void ObjectTable::CacheValue(const std::string& id, std::shared_ptr<const std::string> value) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.complete || !it->second.lookup.stored()) return;
  it->second.lookup.result.value = std::move(value);
}

std::optional<rpc::TaskSpec> ObjectTable::ResetForRebuild(const std::string& id, std::string* not_rebuildable) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  not_rebuildable->clear();
  if (it == entries_.end()) return std::nullopt;
  Entry& entry = it->second;
  if (entry.made_by_put) *not_rebuildable = "it was made by Put";
  if (entry.borrowed) *not_rebuildable = "it is owned by another process";
  if (entry.made_by_actor) *not_rebuildable = "it was returned by an actor call";
  if (!entry.complete || !entry.lookup.stored() || !entry.lineage) return std::nullopt;
  entry.complete = false;
  entry.lookup = ObjectLookup{};
  std::optional<rpc::TaskSpec> lineage = std::move(entry.lineage);
  entry.lineage.reset();
  return lineage;
}

void ObjectTable::MarkLost(const std::string& id, ErrorInfo error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end() || !it->second.complete || !it->second.lookup.stored()) return;
    it->second.lookup.locations.clear();
    it->second.lookup.result.error = std::move(error);
  }
  changed_.notify_all();
}

void ObjectTable::ForgetCopies(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it != entries_.end()) it->second.lookup.locations.clear();
}

std::vector<std::string> ObjectTable::DropLocations(const std::string& node_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> lost;
  for (auto& [id, entry] : entries_) {
    auto& locations = entry.lookup.locations;
    const size_t before = locations.size();
    locations.erase(std::remove_if(locations.begin(), locations.end(),
                                   [&](const rpc::ObjectLocation& l) { return l.node_id() == node_id; }),
                    locations.end());
    if (before != locations.size() && locations.empty() && entry.complete && entry.lookup.stored()) {
      lost.push_back(id);
    }
  }
  return lost;
}

ObjectLookup ObjectTable::Unknown(const std::string& id) {
  ObjectLookup lookup;
  lookup.result.error = ErrorInfo{ErrorInfo::Kind::kRuntime, "", "object " + id + " is not known to this process", ""};
  return lookup;
}

std::vector<ObjectLookup> ObjectTable::Get(const std::vector<std::string>& ids, int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> lock(mutex_);
  auto all_complete = [&] {
    for (const auto& id : ids) {
      auto it = entries_.find(id);
      if (it != entries_.end() && !it->second.complete) return false;
    }
    return true;
  };
  if (timeout_ms < 0) {
    changed_.wait(lock, all_complete);
  } else {
    changed_.wait_until(lock, deadline, all_complete);
  }
  std::vector<ObjectLookup> results;
  results.reserve(ids.size());
  for (const auto& id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      results.push_back(Unknown(id));
    } else if (!it->second.complete) {
      ObjectLookup timed_out;
      timed_out.result.error = ErrorInfo{
          ErrorInfo::Kind::kGetTimeout, "",
          "object " + id + " was not ready within " + std::to_string(timeout_ms) + " ms", ""};
      results.push_back(std::move(timed_out));
    } else {
      results.push_back(it->second.lookup);
    }
  }
  return results;
}

std::vector<bool> ObjectTable::Wait(const std::vector<std::string>& ids, size_t num_ready, int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> lock(mutex_);
  std::vector<bool> ready(ids.size(), false);
  auto enough = [&] {
    size_t count = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto it = entries_.find(ids[i]);
      ready[i] = it == entries_.end() || it->second.complete;  // unknown: Get reports it at once
      count += ready[i] ? 1 : 0;
    }
    return count >= num_ready;
  };
  if (timeout_ms < 0) {
    changed_.wait(lock, enough);
  } else {
    changed_.wait_until(lock, deadline, enough);
  }
  enough();
  return ready;
}

void ObjectTable::AddReference(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it != entries_.end()) it->second.references += 1;
}

void ObjectTable::RemoveReference(const std::string& id) {
  Freed freed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    // A pending object without references is erased when it completes.
    if (--it->second.references <= 0 && it->second.complete) EraseLocked(it, &freed);
  }
  NotifyFreed(freed);
}

void ObjectTable::EraseLocked(std::unordered_map<std::string, Entry>::iterator it, Freed* freed) {
  Entry& entry = it->second;
  // A borrowed object's copies are its owner's to free.
  if (!entry.borrowed && (!entry.lookup.locations.empty() || entry.lineage)) {
    freed->emplace_back(it->first, std::move(entry.lookup.locations), std::move(entry.lineage));
  }
  entries_.erase(it);
}

void ObjectTable::NotifyFreed(Freed& freed) {
  if (!on_free_) return;
  for (auto& [id, copies, lineage] : freed) on_free_(id, copies, lineage);
}

uint64_t ObjectTable::WhenComplete(const std::string& id, std::function<void(const ObjectLookup&)> done) {
  ObjectLookup lookup;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      lookup = Unknown(id);
    } else if (!it->second.complete) {
      const uint64_t token = next_watch_token_++;
      it->second.watchers.emplace(token, std::move(done));
      return token;
    } else {
      lookup = it->second.lookup;
    }
  }
  done(lookup);
  return 0;
}

void ObjectTable::StopWatching(const std::string& id, uint64_t token) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it != entries_.end()) it->second.watchers.erase(token);
}

bool ObjectTable::AllComplete(const std::vector<std::string>& ids) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& id : ids) {
    auto it = entries_.find(id);
    if (it != entries_.end() && !it->second.complete) return false;
  }
  return true;
}

size_t ObjectTable::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace halo::core
