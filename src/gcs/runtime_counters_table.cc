#include "gcs/runtime_counters_table.h"

#include "common/check.h"

namespace halo::gcs {
namespace {

void Add(rpc::RuntimeCounters& sum, const rpc::RuntimeCounters& more) {
  sum.set_tasks_submitted(sum.tasks_submitted() + more.tasks_submitted());
  sum.set_task_failures(sum.task_failures() + more.task_failures());
  sum.set_tasks_retried(sum.tasks_retried() + more.tasks_retried());
  sum.set_objects_rebuilt(sum.objects_rebuilt() + more.objects_rebuilt());
  sum.set_objects_lost(sum.objects_lost() + more.objects_lost());
  sum.set_rebuilds_completed(sum.rebuilds_completed() + more.rebuilds_completed());
  sum.set_rebuild_ms_total(sum.rebuild_ms_total() + more.rebuild_ms_total());
}

bool AnyLower(const rpc::RuntimeCounters& now, const rpc::RuntimeCounters& before) {
  return now.tasks_submitted() < before.tasks_submitted() || now.task_failures() < before.task_failures() ||
         now.tasks_retried() < before.tasks_retried() || now.objects_rebuilt() < before.objects_rebuilt() ||
         now.objects_lost() < before.objects_lost() || now.rebuilds_completed() < before.rebuilds_completed() ||
         now.rebuild_ms_total() < before.rebuild_ms_total();
}

}  // namespace

RuntimeCountersTable::RuntimeCountersTable(int64_t reporters_max) : reporters_max_(reporters_max) {
  HALO_CHECK(reporters_max_ >= 1) << "the runtime counters table keeps at least one reporter";
}

void RuntimeCountersTable::Fold(const rpc::RuntimeCounters& counters) { Add(retained_, counters); }

void RuntimeCountersTable::Report(const std::string& reporter, const rpc::RuntimeCounters& counters, int64_t now_ms) {
  auto it = latest_.find(reporter);
  if (it != latest_.end() && AnyLower(counters, it->second.counters)) Fold(it->second.counters);
  if (it == latest_.end() && static_cast<int64_t>(latest_.size()) >= reporters_max_) {
    auto oldest = latest_.begin();
    for (auto candidate = latest_.begin(); candidate != latest_.end(); ++candidate) {
      if (candidate->second.reported_ms < oldest->second.reported_ms) oldest = candidate;
    }
    Fold(oldest->second.counters);
    latest_.erase(oldest);
  }
  latest_[reporter] = Entry{counters, now_ms};
}

rpc::RuntimeCounters RuntimeCountersTable::Totals() const {
  rpc::RuntimeCounters total = retained_;
  for (const auto& [reporter, entry] : latest_) Add(total, entry.counters);
  return total;
}

}  // namespace halo::gcs
