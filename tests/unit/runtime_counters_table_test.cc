// The GCS's sum of drivers' and workers' task counters: repeats count once, totals never go down.
#include <gtest/gtest.h>

#include "gcs/runtime_counters_table.h"

namespace halo::gcs {
namespace {

rpc::RuntimeCounters Counters(int64_t submitted, int64_t retried = 0) {
  rpc::RuntimeCounters counters;
  counters.set_tasks_submitted(submitted);
  counters.set_tasks_retried(retried);
  return counters;
}

TEST(RuntimeCountersTableTest, ALaterReportReplacesTheEarlierOneOfItsReporter) {
  RuntimeCountersTable table(10);
  table.Report("driver", Counters(5), 1);
  table.Report("driver", Counters(8, 1), 2);
  table.Report("worker", Counters(3), 3);
  EXPECT_EQ(table.Totals().tasks_submitted(), 11);
  EXPECT_EQ(table.Totals().tasks_retried(), 1);
  EXPECT_EQ(table.reporters(), 2u);
}

TEST(RuntimeCountersTableTest, TotalsNeverGoDown) {
  RuntimeCountersTable table(2);
  table.Report("a", Counters(5), 1);
  table.Report("a", Counters(2), 2);  // a new process under the same name: the old counts are kept
  EXPECT_EQ(table.Totals().tasks_submitted(), 7);
  table.Report("b", Counters(1), 3);
  table.Report("c", Counters(1), 4);  // past the bound: "a", heard from longest ago, is folded in
  EXPECT_EQ(table.reporters(), 2u);
  EXPECT_EQ(table.Totals().tasks_submitted(), 9);
  table.Report("b", Counters(4), 5);
  EXPECT_EQ(table.Totals().tasks_submitted(), 12);
}

}  // namespace
}  // namespace halo::gcs
