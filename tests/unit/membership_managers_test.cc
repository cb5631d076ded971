// Membership managers on a fake executor with captured callbacks, fired in the orders that hurt: replies
// after removal, after re-adding, after a newer poll.
#include <gtest/gtest.h>

#include <deque>

#include "health/health_check_manager.h"
#include "gcs/node_event_publisher.h"
#include "gcs/node_manager.h"
#include "node/node_agent.h"
#include "storage/memory_store.h"
#include "support/fake_executor.h"

namespace halo {
namespace {

using health::HealthCheckManager;
using testing::FakeExecutor;

class CapturingProber : public health::HealthProber {
 public:
  void Probe(const std::string& node_id, const std::string&, int64_t, std::function<void(bool)> done) override {
    probes.push_back({node_id, std::move(done)});
  }
  void Answer(bool healthy) {
    if (probes.empty()) throw std::runtime_error("no probe to answer");
    auto probe = std::move(probes.front());
    probes.pop_front();
    probe.second(healthy);
  }
  std::deque<std::pair<std::string, std::function<void(bool)>>> probes;
};

class RecordingListener : public health::HealthCheckListener {
 public:
  void OnNodeSuspected(const std::string& id) override { log.push_back("suspected " + id); }
  void OnNodeRecovered(const std::string& id) override { log.push_back("recovered " + id); }
  void OnNodeFailed(const std::string& id) override { log.push_back("failed " + id); }
  std::vector<std::string> log;
};

class HealthCheckManagerTest : public ::testing::Test {
 protected:
  FakeExecutor executor_;
  CapturingProber prober_;
  RecordingListener listener_;
  health::HealthCheckManager health_{executor_, prober_, listener_, health::HealthCheckSettings{100, 300, 700, 3}};
};

TEST_F(HealthCheckManagerTest, SuspectsOnFirstFailureRecoversOnSuccessFailsAtThreshold) {
  health_.AddNode("a", "addr");
  executor_.AdvanceMs(99);
  EXPECT_TRUE(prober_.probes.empty());  // initial delay
  executor_.AdvanceMs(1);
  ASSERT_EQ(prober_.probes.size(), 1u);
  prober_.Answer(false);
  EXPECT_EQ(listener_.log, (std::vector<std::string>{"suspected a"}));
  executor_.AdvanceMs(300);
  prober_.Answer(true);
  EXPECT_EQ(listener_.log.back(), "recovered a");
  for (int i = 0; i < 3; ++i) {
    executor_.AdvanceMs(300);
    ASSERT_EQ(prober_.probes.size(), 1u) << "one probe in flight at a time";
    prober_.Answer(false);
  }
  EXPECT_EQ(listener_.log.back(), "failed a");
  EXPECT_FALSE(health_.IsChecked("a"));
  executor_.AdvanceMs(5000);
  EXPECT_TRUE(prober_.probes.empty());  // a failed node is no longer probed
}

TEST_F(HealthCheckManagerTest, NoNewProbeWhileOneIsInFlight) {
  health_.AddNode("a", "addr");
  executor_.AdvanceMs(100);
  executor_.AdvanceMs(5000);  // the probe is still unanswered: nothing else is sent
  EXPECT_EQ(prober_.probes.size(), 1u);
}

TEST_F(HealthCheckManagerTest, ResultArrivingAfterRemovalOrReAddIsIgnored) {
  health_.AddNode("a", "addr");
  executor_.AdvanceMs(100);
  health_.RemoveNode("a");
  health_.AddNode("a", "addr");
  prober_.Answer(false);  // the old probe's answer, for the removed incarnation
  EXPECT_TRUE(listener_.log.empty());
  EXPECT_EQ(health_.ConsecutiveFailures("a"), 0);
}

TEST_F(HealthCheckManagerTest, ConnectionLossProbesAtOnce) {
  health_.AddNode("a", "addr");
  executor_.AdvanceMs(100);
  prober_.Answer(true);
  health_.OnConnectionLost("a");
  EXPECT_EQ(prober_.probes.size(), 1u);  // without waiting for the period
  health_.OnConnectionLost("a");
  EXPECT_EQ(prober_.probes.size(), 1u);  // not twice
}

// ---- publisher ----

class PublisherTest : public ::testing::Test {
 protected:
  rpc::PollNodeEventsRequest Request(const std::string& incarnation, uint64_t after, int64_t wait_ms = 1000) {
    rpc::PollNodeEventsRequest r;
    r.set_subscriber_id("sub");
    r.set_incarnation(incarnation);
    r.set_after_sequence(after);
    r.set_wait_ms(wait_ms);
    return r;
  }
  static rpc::NodeInfo Node(const std::string& id, rpc::NodeState state) {
    rpc::NodeInfo n;
    n.set_node_id(id);
    n.set_state(state);
    return n;
  }
  FakeExecutor executor_;
  gcs::NodeEventPublisher publisher_{executor_, "inc1", "cluster", gcs::PublisherSettings{3, 10, 5000}};
};

TEST_F(PublisherTest, NewSubscriberGetsASnapshotThenEventsInOrder) {
  publisher_.SetInitialView({Node("a", rpc::ALIVE)});
  std::optional<rpc::PollNodeEventsReply> reply;
  publisher_.HandlePoll(Request("", 0), [&](auto r) { reply = *r; });
  ASSERT_TRUE(reply && reply->snapshot());
  EXPECT_EQ(reply->nodes_size(), 1);
  reply.reset();
  publisher_.HandlePoll(Request("inc1", 0), [&](auto r) { reply = *r; });
  EXPECT_FALSE(reply) << "held: nothing new";
  publisher_.Publish(rpc::NodeEvent::STATE_CHANGED, Node("a", rpc::SUSPECTED));
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->events_size(), 1);
  EXPECT_EQ(reply->events(0).sequence(), 1u);
  EXPECT_EQ(reply->last_sequence(), 1u);
}

TEST_F(PublisherTest, HeldPollEndsEmptyAtItsWait) {
  std::optional<rpc::PollNodeEventsReply> reply;
  publisher_.HandlePoll(Request("inc1", 0, 700), [&](auto r) { reply = *r; });
  executor_.AdvanceMs(699);
  EXPECT_FALSE(reply);
  executor_.AdvanceMs(1);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->events_size(), 0);
  EXPECT_FALSE(reply->snapshot());
}

TEST_F(PublisherTest, AnotherIncarnationOrFallingBehindGivesASnapshotOfPublishedStateOnly) {
  for (int i = 0; i < 5; ++i) publisher_.Publish(rpc::NodeEvent::ADDED, Node("n" + std::to_string(i), rpc::ALIVE));
  std::optional<rpc::PollNodeEventsReply> reply;
  publisher_.HandlePoll(Request("inc1", 1), [&](auto r) { reply = *r; });  // buffer holds 3..5 only
  ASSERT_TRUE(reply && reply->snapshot());
  EXPECT_EQ(reply->nodes_size(), 5);
  EXPECT_EQ(reply->last_sequence(), 5u);
  reply.reset();
  publisher_.HandlePoll(Request("old-incarnation", 5), [&](auto r) { reply = *r; });
  ASSERT_TRUE(reply && reply->snapshot());
}

TEST_F(PublisherTest, ANewPollFromTheSameSubscriberReleasesTheHeldOne) {
  int completed = 0;
  publisher_.HandlePoll(Request("inc1", 0), [&](auto) { ++completed; });
  publisher_.HandlePoll(Request("inc1", 0), [&](auto) { ++completed; });
  EXPECT_EQ(completed, 1);
  EXPECT_EQ(publisher_.waiting_subscribers(), 1u);
  publisher_.OnSubscriberGone("sub");
  EXPECT_EQ(completed, 2);
}

TEST_F(PublisherTest, AfterReleaseAllPollsAreAnsweredAtOnceSoAStoppingServerCanDrain) {
  int completed = 0;
  publisher_.HandlePoll(Request("inc1", 0), [&](auto) { ++completed; });
  publisher_.ReleaseAll();
  EXPECT_EQ(completed, 1);
  // A poll arriving while the server stops is not held (a held one would keep the server from stopping).
  publisher_.HandlePoll(Request("inc1", 0), [&](auto) { ++completed; });
  EXPECT_EQ(completed, 2);
  EXPECT_EQ(publisher_.waiting_subscribers(), 0u);
}

// ---- node manager ----

class NodeManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nodes_.SetCollaborators(&health_, &publisher_);
    ASSERT_TRUE(nodes_.Initialize({}).ok());
    nodes_.Start();
  }
  Status Register(const std::string& id, const std::string& cluster = "") {
    rpc::NodeInfo n;
    n.set_node_id(id);
    n.set_address("addr-" + id);
    Status result = InternalError("no answer");
    nodes_.HandleRegister(n, cluster, [&](Status s) { result = s; });
    executor_.RunUntilIdle();
    return result;
  }
  FakeExecutor executor_;
  MemoryStore store_{executor_};
  CapturingProber prober_;
  gcs::NodeManager nodes_{store_, executor_, executor_, "cluster-1", /*dead_nodes_max=*/2};
  gcs::NodeEventPublisher publisher_{executor_, "inc", "cluster-1", gcs::PublisherSettings{}};
  health::HealthCheckManager health_{executor_, prober_, nodes_, health::HealthCheckSettings{100, 300, 700, 3}};
};

TEST_F(NodeManagerTest, RegisterThenFailedChecksMakeItDeadAndItCannotRejoin) {
  ASSERT_TRUE(Register("a").ok());
  EXPECT_EQ(nodes_.Find("a")->state(), rpc::ALIVE);
  EXPECT_TRUE(health_.IsChecked("a"));
  executor_.AdvanceMs(100);
  for (int i = 0; i < 3; ++i) {
    prober_.Answer(false);
    executor_.AdvanceMs(300);
  }
  EXPECT_EQ(nodes_.Find("a")->state(), rpc::DEAD);
  EXPECT_EQ(nodes_.Find("a")->death_reason(), rpc::UNEXPECTED_TERMINATION);
  Status again = Register("a");
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.message().find("cannot rejoin under its old id"), std::string::npos);
}

TEST_F(NodeManagerTest, RegistrationFromAnotherClusterIsRefused) {
  Status status = Register("a", "some-other-cluster");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(nodes_.Find("a"), nullptr);
}

TEST_F(NodeManagerTest, DrainValidatesAndTheDeadlineEndsIt) {
  ASSERT_TRUE(Register("a").ok());
  Status status;
  nodes_.HandleDrain("a", "idle", -5, [&](Status s) { status = s; });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  nodes_.HandleDrain("nope", "idle", 0, [&](Status s) { status = s; });
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  nodes_.HandleDrain("a", "preemption", 1000, [&](Status s) { status = s; });
  executor_.RunUntilIdle();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(nodes_.Find("a")->state(), rpc::DRAINING);
  executor_.AdvanceMs(100);
  prober_.Answer(true);  // still healthy: the deadline, not a failure, ends it
  executor_.AdvanceMs(1000);
  EXPECT_EQ(nodes_.Find("a")->state(), rpc::DEAD);
  EXPECT_EQ(nodes_.Find("a")->death_reason(), rpc::DRAINED);
}

TEST_F(NodeManagerTest, DeadNodesAreBoundedOldestForgottenFirst) {
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(Register(id).ok());
    Status status;
    nodes_.HandleUnregister(id, rpc::EXPECTED_TERMINATION, "", [&](Status s) { status = s; });
    executor_.RunUntilIdle();
    ASSERT_TRUE(status.ok());
    executor_.AdvanceMs(10);
  }
  EXPECT_EQ(nodes_.Find("a"), nullptr);
  ASSERT_NE(nodes_.Find("c"), nullptr);
  EXPECT_EQ(nodes_.Find("c")->death_reason(), rpc::EXPECTED_TERMINATION);
  EXPECT_EQ(nodes_.AllNodes().size(), 2u);
}

TEST_F(NodeManagerTest, EventsAreAcknowledgedStateOnly) {
  std::optional<rpc::PollNodeEventsReply> reply;
  rpc::PollNodeEventsRequest request;
  request.set_subscriber_id("s");
  request.set_incarnation("inc");
  request.set_wait_ms(1000);
  publisher_.HandlePoll(request, [&](auto r) { reply = *r; });
  rpc::NodeInfo n;
  n.set_node_id("a");
  n.set_address("x");
  nodes_.HandleRegister(n, "", [](Status) {});
  EXPECT_FALSE(reply) << "published before storage acknowledged";
  executor_.RunUntilIdle();
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->events_size(), 1);
  EXPECT_EQ(reply->events(0).kind(), rpc::NodeEvent::ADDED);
}

// ---- node agent ----

class ScriptedGcs : public GcsNodeClient {
 public:
  void AsyncRegister(const rpc::NodeInfo&, const std::string&, int64_t,
                     std::function<void(StatusOr<std::string>)> done) override {
    registers.push_back(std::move(done));
  }
  void AsyncUnregister(const std::string&, rpc::DeathReason reason, const std::string&, int64_t,
                       std::function<void(Status)> done) override {
    unregister_reasons.push_back(reason);
    done(OkStatus());
  }
  void AsyncPoll(const rpc::PollNodeEventsRequest&, int64_t,
                 std::function<void(StatusOr<rpc::PollNodeEventsReply>)> done) override {
    polls.push_back(std::move(done));
  }
  void AsyncRenewLease(const rpc::RenewNodeLeaseRequest& request, int64_t,
                       std::function<void(StatusOr<rpc::RenewNodeLeaseReply>)> done) override {
    renewals.push_back({request, std::move(done)});
  }
  struct Renewal {
    rpc::RenewNodeLeaseRequest request;
    std::function<void(StatusOr<rpc::RenewNodeLeaseReply>)> done;
  };
  std::deque<Renewal> renewals;
  std::deque<std::function<void(StatusOr<std::string>)>> registers;
  std::deque<std::function<void(StatusOr<rpc::PollNodeEventsReply>)>> polls;
  std::vector<rpc::DeathReason> unregister_reasons;
};

class NodeAgentTest : public ::testing::Test {
 protected:
  NodeAgentTest() {
    self_.set_node_id("me");
    agent_ = std::make_unique<node::NodeAgent>(executor_, executor_, gcs_, self_,
                                               node::NodeAgentSettings{5000, 100, 1000, 1000, 1000},
                                               [this](int code, const std::string& why) {
                                                 exit_code_ = code;
                                                 exit_why_ = why;
                                               });
  }
  static rpc::PollNodeEventsReply Snapshot(const std::string& incarnation, rpc::NodeState state,
                                           const std::string& cluster = "c1") {
    rpc::PollNodeEventsReply r;
    r.set_incarnation(incarnation);
    r.set_cluster_id(cluster);
    r.set_snapshot(true);
    auto* node = r.add_nodes();
    node->set_node_id("me");
    node->set_state(state);
    node->set_death_message("stopped answering health checks");
    return r;
  }
  void RegisterOk(const std::string& cluster = "c1") {
    auto done = std::move(gcs_.registers.front());
    gcs_.registers.pop_front();
    done(cluster);
  }
  void AnswerPoll(StatusOr<rpc::PollNodeEventsReply> reply) {
    auto done = std::move(gcs_.polls.front());
    gcs_.polls.pop_front();
    done(std::move(reply));
  }
  FakeExecutor executor_;
  ScriptedGcs gcs_;
  rpc::NodeInfo self_;
  std::unique_ptr<node::NodeAgent> agent_;
  std::optional<int> exit_code_;
  std::string exit_why_;
};

TEST_F(NodeAgentTest, ExitsWhenDeclaredDead) {
  agent_->Start(nullptr);
  RegisterOk();
  AnswerPoll(Snapshot("i1", rpc::ALIVE));
  EXPECT_FALSE(exit_code_);
  AnswerPoll(Snapshot("i1", rpc::DEAD));
  ASSERT_TRUE(exit_code_);
  EXPECT_EQ(*exit_code_, 1);
  EXPECT_NE(exit_why_.find("declared this node dead"), std::string::npos);
}

TEST_F(NodeAgentTest, RegistersAgainWhenTheGcsRestartsAndExitsIfTheClusterChanged) {
  agent_->Start(nullptr);
  RegisterOk();
  AnswerPoll(Snapshot("i1", rpc::ALIVE));
  AnswerPoll(UnavailableError("GCS down"));
  executor_.AdvanceMs(100);  // backoff, then poll again
  AnswerPoll(Snapshot("i2", rpc::ALIVE));  // a new incarnation answers
  ASSERT_EQ(gcs_.registers.size(), 1u) << "registers again under the same id";
  RegisterOk("c2");  // but storage was wiped: another cluster
  ASSERT_TRUE(exit_code_);
  EXPECT_NE(exit_why_.find("serves cluster c2"), std::string::npos) << exit_why_;
}

TEST_F(NodeAgentTest, ExitsWhenTheGcsStaysUnreachablePastTheBound) {
  agent_->Start(nullptr);
  RegisterOk();
  AnswerPoll(Snapshot("i1", rpc::ALIVE));
  for (int i = 0; i < 100 && !exit_code_; ++i) {
    ASSERT_EQ(gcs_.polls.size(), 1u);
    AnswerPoll(UnavailableError("connection refused"));
    executor_.AdvanceMs(1000);
  }
  ASSERT_TRUE(exit_code_);
  EXPECT_GE(executor_.MonotonicMs(), 5000);
  EXPECT_LE(executor_.MonotonicMs(), 7000);
  EXPECT_NE(exit_why_.find("gcs_reconnect_timeout_ms"), std::string::npos);
}

TEST_F(NodeAgentTest, DrainingIdleNodeLeavesAsDrained) {
  agent_->Start(nullptr);
  RegisterOk();
  AnswerPoll(Snapshot("i1", rpc::DRAINING));
  ASSERT_EQ(gcs_.unregister_reasons, (std::vector<rpc::DeathReason>{rpc::DRAINED}));
  ASSERT_TRUE(exit_code_);
  EXPECT_EQ(*exit_code_, 0);
}

TEST_F(NodeAgentTest, RefusedRegistrationEndsTheAgent) {
  agent_->Start(nullptr);
  auto done = std::move(gcs_.registers.front());
  gcs_.registers.pop_front();
  done(FailedPreconditionError("node me was declared dead"));
  ASSERT_TRUE(exit_code_);
  EXPECT_EQ(*exit_code_, 1);
}

}  // namespace
}  // namespace halo
