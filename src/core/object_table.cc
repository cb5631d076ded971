#include "core/object_table.h"

#include <chrono>

namespace halo::core {

void ObjectTable::AddPending(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_[id].references += 1;
}

void ObjectTable::AddReady(const std::string& id, std::shared_ptr<const std::string> value) {
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& entry = entries_[id];
  entry.references += 1;
  entry.complete = true;
  entry.result.value = std::move(value);
}

void ObjectTable::Complete(const std::string& id, std::shared_ptr<const std::string> value) {
  ObjectResult result;
  result.value = std::move(value);
  Finish(id, std::move(result));
}

void ObjectTable::Fail(const std::string& id, ErrorInfo error) {
  ObjectResult result;
  result.error = std::move(error);
  Finish(id, std::move(result));
}

void ObjectTable::Finish(const std::string& id, ObjectResult result) {
  std::vector<std::function<void(const ObjectResult&)>> watchers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.complete) return;
    it->second.complete = true;
    it->second.result = result;
    watchers.swap(it->second.watchers);
    if (it->second.references <= 0) entries_.erase(it);
  }
  changed_.notify_all();
  for (auto& watcher : watchers) watcher(result);
}

ObjectResult ObjectTable::Unknown(const std::string& id) {
  ObjectResult result;
  result.error = ErrorInfo{ErrorInfo::Kind::kRuntime, "", "object " + id + " is not known to this process", ""};
  return result;
}

std::vector<ObjectResult> ObjectTable::Get(const std::vector<std::string>& ids, int64_t timeout_ms) {
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
  std::vector<ObjectResult> results;
  results.reserve(ids.size());
  for (const auto& id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      results.push_back(Unknown(id));
    } else if (!it->second.complete) {
      ObjectResult timed_out;
      timed_out.error = ErrorInfo{ErrorInfo::Kind::kGetTimeout, "",
                                  "object " + id + " was not ready within " + std::to_string(timeout_ms) + " ms", ""};
      results.push_back(std::move(timed_out));
    } else {
      results.push_back(it->second.result);
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
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (--it->second.references <= 0 && it->second.complete) entries_.erase(it);
  // A pending object without references is erased when it completes.
}

void ObjectTable::WhenComplete(const std::string& id, std::function<void(const ObjectResult&)> done) {
  ObjectResult result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      result = Unknown(id);
    } else if (!it->second.complete) {
      it->second.watchers.push_back(std::move(done));
      return;
    } else {
      result = it->second.result;
    }
  }
  done(result);
}

void ObjectTable::FailAllPending(const ErrorInfo& error) {
  std::vector<std::string> pending;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, entry] : entries_) {
      if (!entry.complete) pending.push_back(id);
    }
  }
  for (const auto& id : pending) Fail(id, error);
}

size_t ObjectTable::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace halo::core
