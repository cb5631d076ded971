// TaskSubmitter on a fake executor with fake node agents and workers: retries, failures named, spillback,
// lineage rebuilds, and an unreachable node.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/task_submitter.h"
#include "support/fake_core_rpc_clients.h"
#include "support/fake_executor.h"

namespace halo::core {
namespace {

using testing::FakeClients;

class TaskSubmitterTest : public ::testing::Test {
 protected:
  TaskSubmitterTest() {
    settings_.local_node_address = "local";
    settings_.lease_idle_ms = 50;
    settings_.node_unreachable_timeout_ms = 1000;
    submitter_ = std::make_unique<TaskSubmitter>(executor_, executor_, objects_, clients_, settings_);
  }
  rpc::TaskSpec Spec(const std::string& id, int max_retries = 3) {
    rpc::TaskSpec spec;
    spec.set_task_id(id);
    spec.set_function_name("F");
    spec.set_max_retries(max_retries);
    (*spec.mutable_resources())["CPU"] = 1;
    objects_.AddPending(id);
    return spec;
  }
  ObjectLookup Lookup(const std::string& id) { return objects_.Get({id}, 0)[0]; }
  static rpc::ObjectLocation On(const std::string& node) {
    rpc::ObjectLocation location;
    location.set_node_id(node);
    location.set_node_address(node + ":1");
    return location;
  }

  testing::FakeExecutor executor_;
  ObjectTable objects_;
  FakeClients clients_;
  SubmitterSettings settings_;
  std::unique_ptr<TaskSubmitter> submitter_;
};

TEST_F(TaskSubmitterTest, LeasesPushesAndReturnsTheIdleLease) {
  submitter_->Submit(Spec("t1"));
  ASSERT_EQ(clients_.leases.size(), 1u);
  EXPECT_EQ(clients_.leases[0].node, "local");
  clients_.Grant("w1");
  ASSERT_EQ(clients_.pushes.size(), 1u);
  clients_.AnswerPush("v1");
  EXPECT_EQ(*Lookup("t1").result.value, "v1");
  EXPECT_TRUE(clients_.returned.empty());  // kept for lease_idle_ms in case more work comes
  EXPECT_EQ(submitter_->leases(), 1u);
  submitter_->Submit(Spec("t2"));  // reuses the lease: no new request
  EXPECT_TRUE(clients_.leases.empty());
  clients_.AnswerPush("v2");
  EXPECT_EQ(*Lookup("t2").result.value, "v2");
  executor_.AdvanceMs(60);
  EXPECT_EQ(clients_.returned, std::vector<std::string>{"lease-w1"});
  EXPECT_EQ(submitter_->leases(), 0u);
}

TEST_F(TaskSubmitterTest, WorkerDeathIsRetriedThenNamedWhenRetriesRunOut) {
  submitter_->Submit(Spec("t1", /*max_retries=*/1));
  clients_.Grant("w1");
  clients_.AnswerPush("", UnavailableError("socket closed"));
  executor_.RunUntilIdle();
  EXPECT_EQ(submitter_->retries(), 1);
  ASSERT_EQ(clients_.leases.size(), 1u);  // a new worker for the rerun
  clients_.Grant("w2");
  clients_.AnswerPush("", UnavailableError("socket closed"));
  executor_.RunUntilIdle();
  auto lookup = Lookup("t1");
  ASSERT_TRUE(lookup.result.error.has_value());
  EXPECT_EQ(lookup.result.error->kind, internal::ErrorInfo::Kind::kWorkerCrashed);
  EXPECT_NE(lookup.result.error->message.find("signal 9"), std::string::npos) << lookup.result.error->message;
  EXPECT_NE(lookup.result.error->message.find("ran 2 time(s)"), std::string::npos) << lookup.result.error->message;
  EXPECT_EQ(clients_.returned, (std::vector<std::string>{"lease-w1:failed", "lease-w2:failed"}));
}

TEST_F(TaskSubmitterTest, UnreachableNodeOfTheWorkerIsNodeDied) {
  submitter_->Submit(Spec("t1", /*max_retries=*/0));
  clients_.Grant("w1");
  clients_.node_reachable = false;
  clients_.AnswerPush("", UnavailableError("socket closed"));
  executor_.RunUntilIdle();
  auto lookup = Lookup("t1");
  ASSERT_TRUE(lookup.result.error.has_value());
  EXPECT_EQ(lookup.result.error->kind, internal::ErrorInfo::Kind::kNodeDied);
}

TEST_F(TaskSubmitterTest, OneNodeDeathCostsEachTaskAtMostOneRetry) {
  for (const char* id : {"t1", "t2", "t3"}) submitter_->Submit(Spec(id, /*max_retries=*/1));
  ASSERT_EQ(clients_.leases.size(), 3u);
  for (const char* worker : {"w1", "w2", "w3"}) clients_.Grant(worker);  // all on node-local
  ASSERT_EQ(clients_.pushes.size(), 3u);
  clients_.AnswerPush("v1");  // t1 done: w1 stays leased, idle, on the node about to die
  EXPECT_EQ(*Lookup("t1").result.value, "v1");
  clients_.node_reachable = false;
  clients_.AnswerPush("", UnavailableError("connection refused"));  // t2's worker, and its node, are gone
  executor_.RunUntilIdle();
  EXPECT_EQ(submitter_->retries(), 1);
  EXPECT_TRUE(clients_.pushes.size() == 1u && clients_.pushes[0].worker == "w3:1")
      << "the retry went to another worker of the node that just failed";
  EXPECT_NE(std::find(clients_.returned.begin(), clients_.returned.end(), "lease-w1"), clients_.returned.end())
      << "the idle lease on the failed node was kept";
  // A stale spillback grants the retry a worker on the same dead node: its second failure there is free.
  ASSERT_FALSE(clients_.leases.empty());
  clients_.Grant("w4", "node-local");
  ASSERT_EQ(clients_.pushes.back().worker, "w4:1");
  auto stale = std::move(clients_.pushes.back());
  clients_.pushes.pop_back();
  stale.done(UnavailableError("connection refused"));
  executor_.RunUntilIdle();
  EXPECT_EQ(submitter_->retries(), 1) << "one node death was charged twice";
  ASSERT_FALSE(clients_.leases.empty());
  clients_.node_reachable = true;
  clients_.Grant("w5", "node-b");
  ASSERT_EQ(clients_.pushes.back().worker, "w5:1");
  auto good = std::move(clients_.pushes.back());
  clients_.pushes.pop_back();
  rpc::PushTasksReply reply;
  reply.add_results()->set_value("v2");
  good.done(reply);
  EXPECT_EQ(*Lookup("t2").result.value, "v2");
  // t3, on the dead node all along, spends its one retry there too.
  clients_.node_reachable = false;
  clients_.AnswerPush("", UnavailableError("connection refused"));
  executor_.RunUntilIdle();
  EXPECT_EQ(submitter_->retries(), 2);
}

TEST_F(TaskSubmitterTest, SpillbackIsFollowedOnce) {
  submitter_->Submit(Spec("t1"));
  auto call = std::move(clients_.leases.front());
  clients_.leases.clear();
  rpc::RequestWorkerLeaseReply redirect;
  redirect.set_spillback_address("other");
  call.done(redirect);
  ASSERT_EQ(clients_.leases.size(), 1u);
  EXPECT_EQ(clients_.leases[0].node, "other");
  EXPECT_TRUE(clients_.leases[0].request.spilled());
}

TEST_F(TaskSubmitterTest, LocalNodeUnreachableFailsQueuedTasksAfterTheBound) {
  submitter_->Submit(Spec("t1"));
  auto still_pending = [&] {
    auto lookup = Lookup("t1");
    return lookup.result.error && lookup.result.error->kind == internal::ErrorInfo::Kind::kGetTimeout;
  };
  for (int i = 0; i < 50 && still_pending(); ++i) {
    while (!clients_.leases.empty()) {
      auto call = std::move(clients_.leases.front());
      clients_.leases.erase(clients_.leases.begin());
      call.done(UnavailableError("connection refused"));
    }
    executor_.AdvanceMs(200);
  }
  auto lookup = Lookup("t1");
  ASSERT_TRUE(lookup.result.error.has_value());
  EXPECT_EQ(lookup.result.error->kind, internal::ErrorInfo::Kind::kNodeDied);
  EXPECT_GE(executor_.MonotonicMs(), settings_.node_unreachable_timeout_ms);
}

TEST_F(TaskSubmitterTest, LostArgumentIsRebuiltFromLineageThenTheTaskReruns) {
  // "a" was made by a task and its only copy is on a node that is gone.
  rpc::TaskSpec made_a = Spec("a");
  ASSERT_TRUE(objects_.CompleteStored("a", On("dead"), made_a));
  rpc::TaskSpec uses_a = Spec("b");
  uses_a.add_args()->mutable_ref()->set_object_id("a");
  objects_.AddReference("a");  // the submitter's reference for the argument
  submitter_->Submit(uses_a);
  executor_.RunUntilIdle();
  clients_.Grant("w1");
  ASSERT_EQ(clients_.pushes.size(), 1u);
  ASSERT_EQ(clients_.pushes[0].request.tasks(0).args(0).ref().locations(0).node_id(), "dead");
  // The worker could not fetch "a".
  clients_.AnswerPushWith([](rpc::TaskResult* result) {
    result->set_failed(true);
    result->mutable_error()->set_kind(rpc::OBJECT_LOST);
    result->mutable_error()->set_lost_object_id("a");
  });
  executor_.RunUntilIdle();
  EXPECT_EQ(submitter_->rebuilds(), 1);
  // "a" reruns first; then "b" runs with its value.
  ASSERT_EQ(clients_.pushes.size(), 1u);
  EXPECT_EQ(clients_.pushes[0].request.tasks(0).task_id(), "a");
  EXPECT_EQ(clients_.pushes[0].request.tasks(0).attempt(), 1);
  clients_.AnswerPush("value-of-a");
  executor_.RunUntilIdle();
  ASSERT_EQ(clients_.pushes.size(), 1u);
  EXPECT_EQ(clients_.pushes[0].request.tasks(0).task_id(), "b");
  EXPECT_EQ(clients_.pushes[0].request.tasks(0).args(0).value(), "value-of-a");
  clients_.AnswerPush("value-of-b");
  EXPECT_EQ(*Lookup("b").result.value, "value-of-b");
}

TEST_F(TaskSubmitterTest, ChainLostWithItsNodeIsRebuiltInOrder) {
  // x = f(), y = g(x): both copies on node "dead". y's rerun must wait for x's, not see x lost.
  rpc::TaskSpec make_x = Spec("x");
  ASSERT_TRUE(objects_.CompleteStored("x", On("dead"), make_x));
  rpc::TaskSpec make_y = Spec("y");
  make_y.add_args()->mutable_ref()->set_object_id("x");
  objects_.AddReference("x");  // y's lineage holds x
  ASSERT_TRUE(objects_.CompleteStored("y", On("dead"), make_y));
  submitter_->OnNodeDead("dead");
  executor_.RunUntilIdle();
  EXPECT_EQ(submitter_->rebuilds(), 2);
  clients_.Grant("w1");
  ASSERT_EQ(clients_.pushes.size(), 1u);
  EXPECT_EQ(clients_.pushes[0].request.tasks(0).task_id(), "x");
  clients_.AnswerPush("x-value");
  executor_.RunUntilIdle();
  ASSERT_EQ(clients_.pushes.size(), 1u);
  EXPECT_EQ(clients_.pushes[0].request.tasks(0).task_id(), "y");
  EXPECT_EQ(clients_.pushes[0].request.tasks(0).args(0).value(), "x-value");
  clients_.AnswerPush("y-value");
  EXPECT_EQ(*Lookup("y").result.value, "y-value");
}

TEST_F(TaskSubmitterTest, LostObjectWithoutRetriesLeftIsReconstructionFailed) {
  rpc::TaskSpec make_x = Spec("x", /*max_retries=*/0);
  ASSERT_TRUE(objects_.CompleteStored("x", On("dead"), make_x));
  submitter_->OnNodeDead("dead");
  executor_.RunUntilIdle();
  auto lookup = Lookup("x");
  ASSERT_TRUE(lookup.result.error.has_value());
  EXPECT_EQ(lookup.result.error->kind, internal::ErrorInfo::Kind::kReconstructionFailed);
  EXPECT_TRUE(clients_.leases.empty());
}

TEST_F(TaskSubmitterTest, InlinedArgumentsAreReleasedWhenTheResultIsStored) {
  objects_.AddReady("small", std::make_shared<const std::string>("s"));
  rpc::TaskSpec spec = Spec("t");
  spec.add_args()->mutable_ref()->set_object_id("small");
  objects_.AddReference("small");  // the submitter's
  submitter_->Submit(spec);
  executor_.RunUntilIdle();
  clients_.Grant("w1");
  rpc::PushTasksRequest pushed = clients_.AnswerPushWith([](rpc::TaskResult* result) {
    result->set_stored(true);
    *result->mutable_location() = On("n1");
  });
  EXPECT_EQ(pushed.tasks(0).args(0).value(), "s");  // inlined
  executor_.RunUntilIdle();
  objects_.RemoveReference("small");  // the user's
  objects_.RemoveReference("t");
  EXPECT_EQ(objects_.size(), 0u);  // nothing kept "small" alive
}

TEST_F(TaskSubmitterTest, ExceptionsAreNotRetriedUnlessAsked) {
  for (bool retry : {false, true}) {
    const std::string id = retry ? "retried" : "plain";
    rpc::TaskSpec spec = Spec(id, 2);
    spec.set_retry_exceptions(retry);
    submitter_->Submit(spec);
    executor_.RunUntilIdle();
    if (!clients_.leases.empty()) clients_.Grant("w-" + id);
    int runs = 0;
    while (!clients_.pushes.empty() && runs < 10) {
      ++runs;
      clients_.AnswerPushWith([](rpc::TaskResult* result) {
        result->set_failed(true);
        result->mutable_error()->set_kind(rpc::TASK_EXCEPTION);
        result->mutable_error()->set_type_name("std::runtime_error");
      });
      executor_.RunUntilIdle();
    }
    EXPECT_EQ(runs, retry ? 3 : 1) << id;
    auto lookup = Lookup(id);
    ASSERT_TRUE(lookup.result.error.has_value());
    EXPECT_EQ(lookup.result.error->kind, internal::ErrorInfo::Kind::kTaskException);
    EXPECT_EQ(lookup.result.error->type_name, "std::runtime_error");
  }
}

}  // namespace
}  // namespace halo::core
