// RouteFollower on a fake executor and a fake GCS: routes replace the table when they change, a GCS that is
// down leaves the table serving as it was (with backoff between polls), and a new incarnation resyncs.
#include <gtest/gtest.h>

#include <deque>

#include "serve/route_follower.h"
#include "support/fake_executor.h"

namespace halo::serve {
namespace {

class FakeSource : public RoutesSource {
 public:
  void Poll(const rpc::GetRoutesRequest& request, std::function<void(StatusOr<rpc::GetRoutesReply>)> done) override {
    polls.push_back({request, std::move(done)});
  }
  void Answer(StatusOr<rpc::GetRoutesReply> reply) {
    ASSERT_FALSE(polls.empty());
    auto poll = std::move(polls.front());
    polls.pop_front();
    poll.second(std::move(reply));
  }
  std::deque<std::pair<rpc::GetRoutesRequest, std::function<void(StatusOr<rpc::GetRoutesReply>)>>> polls;
};

rpc::GetRoutesReply Routes(const std::string& incarnation, uint64_t version, std::vector<std::string> replicas) {
  rpc::GetRoutesReply reply;
  reply.set_incarnation(incarnation);
  reply.set_version(version);
  rpc::DeploymentRouteInfo* route = reply.add_routes();
  route->set_service("greeter");
  route->set_deployment("Greeter");
  route->set_route_prefix("/hello");
  route->set_max_ongoing_requests(10);
  route->set_handler("&Greeter::Handle");
  for (const auto& id : replicas) {
    rpc::ReplicaRoute* replica = route->add_replicas();
    replica->set_actor_id(id);
    replica->set_address(id + ":1");
    replica->set_instance(2);
    replica->set_healthy(true);
  }
  return reply;
}

class RouteFollowerTest : public ::testing::Test {
 protected:
  RouteFollowerTest() : follower_(executor_, source_, table_, RouteFollowerSettings{10000, 100, 800}) {}

  testing::FakeExecutor executor_;
  FakeSource source_;
  SeededRandom random_{2};
  RouteTable table_{random_};
  RouteFollower follower_;
};

TEST_F(RouteFollowerTest, NewRoutesReplaceTheTableAndThePollCarriesWhatItKnows) {
  follower_.Start();
  ASSERT_EQ(source_.polls.size(), 1u);
  EXPECT_EQ(source_.polls[0].first.wait_ms(), 10000);
  source_.Answer(Routes("gcs-1", 3, {"r1"}));
  RouteTable::Pick pick = table_.Choose("/hello/x");
  ASSERT_EQ(pick.outcome, RouteTable::Outcome::kPicked);
  EXPECT_EQ(pick.replica.handler, "&Greeter::Handle");
  EXPECT_EQ(pick.replica.instance, 2);
  ASSERT_EQ(source_.polls.size(), 1u) << "the next poll goes out at once after a change";
  EXPECT_EQ(source_.polls[0].first.incarnation(), "gcs-1");
  EXPECT_EQ(source_.polls[0].first.known_version(), 3u);
}

TEST_F(RouteFollowerTest, GcsDownKeepsTheTableAndBacksOffThenANewIncarnationResyncs) {
  follower_.Start();
  source_.Answer(Routes("gcs-1", 3, {"r1", "r2"}));
  for (int i = 0; i < 5; ++i) {
    source_.Answer(UnavailableError("connection refused"));
    EXPECT_TRUE(source_.polls.empty()) << "retried without a pause";
    executor_.AdvanceMs(800);
    ASSERT_EQ(source_.polls.size(), 1u);
    EXPECT_EQ(table_.Choose("/hello").outcome, RouteTable::Outcome::kPicked) << "the table was dropped";
  }
  EXPECT_EQ(follower_.failed_polls(), 5);
  // The GCS came back as another incarnation with version 1 (lower): still a change.
  source_.Answer(Routes("gcs-2", 1, {"r3"}));
  EXPECT_EQ(follower_.incarnation(), "gcs-2");
  EXPECT_EQ(table_.Choose("/hello").replica.replica_id, "r3");
}

TEST_F(RouteFollowerTest, UnchangedAnswersArePacedNotABusyLoop) {
  follower_.Start();
  source_.Answer(Routes("gcs-1", 3, {"r1"}));
  source_.Answer(Routes("gcs-1", 3, {"r1"}));
  EXPECT_TRUE(source_.polls.empty());
  executor_.AdvanceMs(100);
  EXPECT_EQ(source_.polls.size(), 1u);
  follower_.Stop();
  source_.Answer(Routes("gcs-1", 4, {"r2"}));
  EXPECT_EQ(table_.Choose("/hello").replica.replica_id, "r1") << "a stopped follower changed the table";
}

}  // namespace
}  // namespace halo::serve
