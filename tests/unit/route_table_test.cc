// RouteTable: longest prefix on whole path segments, the power of two choices, max_ongoing_requests, replicas
// marked unhealthy or already tried, and ongoing counts kept across a resync.
#include <gtest/gtest.h>

#include <map>

#include "serve/route_table.h"

namespace halo::serve {
namespace {

DeploymentRoute Route(const std::string& prefix, const std::string& deployment, std::vector<std::string> replicas,
                      int64_t max_ongoing = 100) {
  DeploymentRoute route;
  route.route_prefix = prefix;
  route.deployment = deployment;
  route.max_ongoing_requests = max_ongoing;
  for (const auto& id : replicas) route.replicas.push_back(ReplicaInfo{id, id + ":1", true});
  return route;
}

class RouteTableTest : public ::testing::Test {
 protected:
  SeededRandom random_{3};
  RouteTable table_{random_};
};

TEST_F(RouteTableTest, LongestPrefixOnWholeSegments) {
  table_.Replace({Route("/", "Root", {"r"}), Route("/hello", "Hello", {"h"}), Route("/hello/deep", "Deep", {"d"})});
  EXPECT_EQ(table_.Choose("/hello").deployment, "Hello");
  EXPECT_EQ(table_.Choose("/hello/x").deployment, "Hello");
  EXPECT_EQ(table_.Choose("/hello/deep/er").deployment, "Deep");
  EXPECT_EQ(table_.Choose("/helloworld").deployment, "Root") << "a prefix must end at a segment boundary";
  EXPECT_EQ(table_.Choose("/other").deployment, "Root");
  table_.Replace({Route("/hello", "Hello", {"h"})});
  EXPECT_EQ(table_.Choose("/other").outcome, RouteTable::Outcome::kNoRoute);
}

TEST_F(RouteTableTest, LessLoadedOfTwoChoicesAndTheOngoingBound) {
  table_.Replace({Route("/a", "A", {"r1", "r2", "r3"}, /*max_ongoing=*/2)});
  std::map<std::string, int> picked;
  for (int i = 0; i < 6; ++i) {
    RouteTable::Pick pick = table_.Choose("/a");
    ASSERT_EQ(pick.outcome, RouteTable::Outcome::kPicked) << i;
    picked[pick.replica.replica_id] += 1;
  }
  EXPECT_EQ(picked, (std::map<std::string, int>{{"r1", 2}, {"r2", 2}, {"r3", 2}}));
  EXPECT_EQ(table_.Choose("/a").outcome, RouteTable::Outcome::kAllBusy);
  table_.Done("r2");
  RouteTable::Pick freed = table_.Choose("/a");
  ASSERT_EQ(freed.outcome, RouteTable::Outcome::kPicked);
  EXPECT_EQ(freed.replica.replica_id, "r2");
}

TEST_F(RouteTableTest, PowerOfTwoChoicesPrefersTheIdleReplica) {
  table_.Replace({Route("/a", "A", {"busy", "idle"})});
  for (int i = 0; i < 50; ++i) (void)table_.Choose("/a", {"idle"});  // load "busy" only
  int idle = 0;
  for (int i = 0; i < 20; ++i) {
    RouteTable::Pick pick = table_.Choose("/a");
    if (pick.replica.replica_id == "idle") idle += 1;
    table_.Done(pick.replica.replica_id);
  }
  EXPECT_GE(idle, 15) << "the loaded replica kept getting work";
}

TEST_F(RouteTableTest, UnhealthyAndTriedReplicasAreSkippedUntilAResyncSaysOtherwise) {
  table_.Replace({Route("/a", "A", {"r1", "r2"})});
  table_.MarkUnhealthy("r1");
  for (int i = 0; i < 10; ++i) EXPECT_EQ(table_.Choose("/a").replica.replica_id, "r2");
  EXPECT_EQ(table_.Choose("/a", {"r2"}).outcome, RouteTable::Outcome::kNoHealthyReplica);
  EXPECT_EQ(table_.ongoing("r2"), 10);
  table_.Replace({Route("/a", "A", {"r1", "r2"})});
  EXPECT_EQ(table_.ongoing("r2"), 10) << "a resync forgot requests still running";
  EXPECT_EQ(table_.Choose("/a", {"r2"}).replica.replica_id, "r1");
}

}  // namespace
}  // namespace halo::serve
