// Bounds the unfinished tasks one process has submitted per resource shape. SubmitTask takes a place before
// anything is queued and gives it back when the task's return object first completes (a value or an error;
// a later rebuild of the same object does not take a place). Past the bound, Remote() throws
// PendingTasksLimitExceeded and nothing is submitted: the submitter's queues cannot grow without limit.
// Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace halo::core {

class PendingTaskLimit {
 public:
  explicit PendingTaskLimit(int64_t per_shape_max) : per_shape_max_(per_shape_max) {}
  // False (and nothing taken) when shape_key already has per_shape_max unfinished tasks.
  bool TryTake(const std::string& shape_key);
  void Give(const std::string& shape_key);
  int64_t unfinished(const std::string& shape_key) const;
  int64_t per_shape_max() const { return per_shape_max_; }

 private:
  const int64_t per_shape_max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int64_t> unfinished_;
};

}  // namespace halo::core
