// What drivers and workers report of their task counters (cumulative since each process started), summed for
// the GCS's metrics (halo_tasks_submitted_total, ...). Promises:
// - A report replaces its reporter's earlier one, so a repeated report counts once.
// - Totals never go down while this GCS runs: a report lower than its reporter's last (a new process at the
//   same address) first folds the last one into a retained sum; past reporters_max reporters, the one heard
//   from longest ago is folded the same way. A folded reporter that reports again is taken for a new one (its
//   earlier counts then count twice): keep reporters_max above the number of processes reporting at once.
// Runs on the GCS executor (not thread-safe).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "proto/gcs.pb.h"

namespace halo::gcs {

class RuntimeCountersTable {
 public:
  explicit RuntimeCountersTable(int64_t reporters_max);

  void Report(const std::string& reporter, const rpc::RuntimeCounters& counters, int64_t now_ms);
  rpc::RuntimeCounters Totals() const;
  size_t reporters() const { return latest_.size(); }

 private:
  struct Entry {
    rpc::RuntimeCounters counters;
    int64_t reported_ms = 0;
  };
  void Fold(const rpc::RuntimeCounters& counters);

  const int64_t reporters_max_;
  std::map<std::string, Entry> latest_;
  rpc::RuntimeCounters retained_;
};

}  // namespace halo::gcs
