#include "core/pending_task_limit.h"

#include "common/check.h"

namespace halo::core {

bool PendingTaskLimit::TryTake(const std::string& shape_key) {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t& count = unfinished_[shape_key];
  if (count >= per_shape_max_) return false;
  count += 1;
  return true;
}

void PendingTaskLimit::Give(const std::string& shape_key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = unfinished_.find(shape_key);
  HALO_CHECK(it != unfinished_.end() && it->second > 0) << "a task place given back that was never taken: "
                                                         << shape_key;
  if (--it->second == 0) unfinished_.erase(it);
}

int64_t PendingTaskLimit::unfinished(const std::string& shape_key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = unfinished_.find(shape_key);
  return it == unfinished_.end() ? 0 : it->second;
}

}  // namespace halo::core
