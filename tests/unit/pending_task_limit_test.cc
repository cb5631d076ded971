// PendingTaskLimit: places per resource shape, given back when a task's return object first completes.
#include <gtest/gtest.h>

#include "core/object_table.h"
#include "core/pending_task_limit.h"

namespace halo::core {
namespace {

TEST(PendingTaskLimitTest, EachShapeHasItsOwnBound) {
  PendingTaskLimit limit(2);
  EXPECT_TRUE(limit.TryTake("CPU=1"));
  EXPECT_TRUE(limit.TryTake("CPU=1"));
  EXPECT_FALSE(limit.TryTake("CPU=1"));
  EXPECT_EQ(limit.unfinished("CPU=1"), 2);
  EXPECT_TRUE(limit.TryTake("GPU=1"));  // another shape is not held back
  limit.Give("CPU=1");
  EXPECT_TRUE(limit.TryTake("CPU=1"));
}

TEST(PendingTaskLimitTest, PlaceComesBackOnceWhenTheResultCompletesNotOnItsRebuild) {
  PendingTaskLimit limit(1);
  ObjectTable objects;
  ASSERT_TRUE(limit.TryTake("CPU=1"));
  objects.AddPending("t1");
  objects.WhenComplete("t1", [&](const ObjectLookup&) { limit.Give("CPU=1"); });
  EXPECT_FALSE(limit.TryTake("CPU=1"));
  rpc::TaskSpec lineage;
  lineage.set_task_id("t1");
  rpc::ObjectLocation copy;
  copy.set_node_id("n1");
  ASSERT_TRUE(objects.CompleteStored("t1", copy, lineage));
  EXPECT_EQ(limit.unfinished("CPU=1"), 0);
  // Its copy is lost and it is rebuilt: pending again, but the place it held was already given back.
  objects.DropLocations("n1");
  std::string why;
  ASSERT_TRUE(objects.ResetForRebuild("t1", &why).has_value()) << why;
  objects.Complete("t1", std::make_shared<const std::string>("v"));
  EXPECT_EQ(limit.unfinished("CPU=1"), 0);
  EXPECT_TRUE(limit.TryTake("CPU=1"));
}

TEST(PendingTaskLimitDeathTest, GivingBackAPlaceNeverTakenIsAnInvariantViolation) {
  PendingTaskLimit limit(1);
  EXPECT_DEATH(limit.Give("CPU=1"), "never taken");
}

}  // namespace
}  // namespace halo::core
