// ActorSubmitter on a fake executor with fake workers and a fake GCS directory: sequence order, restarts,
// calls that never left versus calls lost with their instance, death, the pending-call bound, and a failed
// argument.
#include <gtest/gtest.h>

#include "core/actor_submitter.h"
#include "rpc/async_call.h"
#include "support/fake_core_rpc_clients.h"
#include "support/fake_executor.h"

namespace halo::core {
namespace {

using Kind = internal::ErrorInfo::Kind;

class ActorSubmitterTest : public ::testing::Test {
 protected:
  ActorSubmitterTest() {
    settings_.caller_id = "caller";
    settings_.gcs_address = "gcs:1";
    settings_.verdict_wait_ms = 1000;
    submitter_ = std::make_unique<ActorSubmitter>(executor_, objects_, clients_, settings_);
  }
  // A known ALIVE actor at worker w1 (instance 0).
  void AddActor(int32_t max_task_retries, int32_t max_pending_calls = -1) {
    rpc::ActorHandleInfo info;
    info.set_actor_id("a1");
    info.set_state(rpc::ACTOR_ALIVE);
    info.set_address("w1:1");
    info.set_max_task_retries(max_task_retries);
    info.set_max_pending_calls(max_pending_calls);
    submitter_->AddActor(info);
    executor_.RunUntilIdle();
  }
  // Reserves and submits one call; its return object is id.
  void Call(const std::string& id, std::vector<std::string> ref_args = {}) {
    std::string dead;
    ASSERT_EQ(submitter_->TryReserveCall("a1", &dead), ActorSubmitter::Reservation::kReserved);
    objects_.AddPending(id);
    rpc::TaskSpec spec;
    spec.set_task_id(id);
    spec.set_actor_id("a1");
    spec.set_function_name("Counter::Add");
    for (const auto& ref : ref_args) {
      objects_.AddReference(ref);
      spec.add_args()->mutable_ref()->set_object_id(ref);
    }
    submitter_->Submit(std::move(spec));
    executor_.RunUntilIdle();
  }
  // Answers the oldest actor push with one value per call; returns what was pushed.
  rpc::PushActorTasksRequest Answer(const std::string& value) {
    auto call = std::move(clients_.actor_pushes.front());
    clients_.actor_pushes.erase(clients_.actor_pushes.begin());
    rpc::PushActorTasksReply reply;
    for (const auto& task : call.request.calls()) {
      rpc::TaskResult* result = reply.add_results();
      result->set_task_id(task.task_id());
      result->set_value(value);
    }
    call.done(reply);
    executor_.RunUntilIdle();
    return call.request;
  }
  rpc::PushActorTasksRequest FailPush(Status error) {
    auto call = std::move(clients_.actor_pushes.front());
    clients_.actor_pushes.erase(clients_.actor_pushes.begin());
    call.done(std::move(error));
    executor_.RunUntilIdle();
    return call.request;
  }
  // The GCS answers the held poll: the actor is now in state, instance num_restarts, at address.
  void News(rpc::ActorState state, int32_t num_restarts, const std::string& address, const std::string& why = "") {
    ASSERT_FALSE(clients_.polls.empty());
    auto poll = std::move(clients_.polls.front());
    clients_.polls.erase(clients_.polls.begin());
    rpc::WaitActorReply reply;
    reply.mutable_actor()->set_actor_id("a1");
    reply.mutable_actor()->set_state(state);
    reply.mutable_actor()->set_num_restarts(num_restarts);
    reply.mutable_actor()->set_address(address);
    reply.mutable_actor()->set_death_message(why);
    poll.done(reply);
    executor_.RunUntilIdle();
  }
  ObjectLookup Lookup(const std::string& id) { return objects_.Get({id}, 0)[0]; }

  testing::FakeExecutor executor_;
  ObjectTable objects_;
  testing::FakeClients clients_;
  ActorSubmitterSettings settings_;
  std::unique_ptr<ActorSubmitter> submitter_;
};

TEST_F(ActorSubmitterTest, CallsGoToTheInstanceInSequenceOrder) {
  AddActor(0);
  ASSERT_EQ(clients_.polls.size(), 1u);  // it follows the actor's directory entry
  EXPECT_EQ(clients_.polls[0].gcs, "gcs:1");
  Call("c0");
  Call("c1");
  ASSERT_EQ(clients_.actor_pushes.size(), 1u) << "an unmeasured call goes alone, one push at a time";
  rpc::PushActorTasksRequest first = Answer("1");
  EXPECT_EQ(first.calls(0).sequence(), 0u);
  EXPECT_EQ(first.caller_id(), "caller");
  EXPECT_EQ(*Lookup("c0").result.value, "1");
  ASSERT_EQ(clients_.actor_pushes.size(), 1u);
  rpc::PushActorTasksRequest second = Answer("2");
  EXPECT_EQ(second.calls(0).sequence(), 1u);
  EXPECT_EQ(second.start_sequence(), 1u) << "the worker must know every earlier call is finished";
  EXPECT_EQ(*Lookup("c1").result.value, "2");
}

TEST_F(ActorSubmitterTest, CallsThatNeverLeftWaitForTheNextInstanceWhateverTheirRetries) {
  AddActor(/*max_task_retries=*/0);
  Call("c0");
  FailPush(rpc_util::NotDeliveredError("failed to connect to all addresses"));
  EXPECT_TRUE(clients_.actor_pushes.empty()) << "sent again to the instance that could not be reached";
  EXPECT_FALSE(Lookup("c0").result.value);
  EXPECT_EQ(Lookup("c0").result.error->kind, Kind::kGetTimeout) << "failed although it never ran";
  News(rpc::ACTOR_ALIVE, 1, "w2:1");
  ASSERT_EQ(clients_.actor_pushes.size(), 1u);
  EXPECT_EQ(clients_.actor_pushes[0].worker, "w2:1");
  EXPECT_EQ(clients_.actor_pushes[0].request.instance(), 1);
  EXPECT_EQ(Answer("ok").calls(0).attempt(), 0) << "a call that never ran spent a retry";
  EXPECT_EQ(*Lookup("c0").result.value, "ok");
}

TEST_F(ActorSubmitterTest, CallLostWithItsInstanceWithoutRetriesIsActorUnavailableOnceItRestarts) {
  AddActor(/*max_task_retries=*/0);
  Call("c0");
  FailPush(UnavailableError("Socket closed"));
  EXPECT_EQ(Lookup("c0").result.error->kind, Kind::kGetTimeout) << "decided before the GCS said what happened";
  News(rpc::RESTARTING, 1, "");
  auto lookup = Lookup("c0");
  ASSERT_TRUE(lookup.result.error.has_value());
  EXPECT_EQ(lookup.result.error->kind, Kind::kActorUnavailable);
  EXPECT_NE(lookup.result.error->message.find("max_task_retries=0"), std::string::npos) << lookup.result.error->message;
}

TEST_F(ActorSubmitterTest, CallLostWithItsInstanceIsRetriedOnTheNextWhileRetriesAllow) {
  AddActor(/*max_task_retries=*/1);
  Call("c0");
  FailPush(UnavailableError("Socket closed"));
  News(rpc::ACTOR_ALIVE, 1, "w2:1");
  ASSERT_EQ(clients_.actor_pushes.size(), 1u);
  EXPECT_EQ(clients_.actor_pushes[0].worker, "w2:1");
  EXPECT_EQ(Answer("ok").calls(0).attempt(), 1);
  EXPECT_EQ(*Lookup("c0").result.value, "ok");
}

TEST_F(ActorSubmitterTest, DeathFailsEveryCallAndRefusesNewOnes) {
  AddActor(3);
  Call("c0");
  Call("c1");  // queued behind c0
  News(rpc::ACTOR_DEAD, 0, "", "killed by halo::Kill");
  auto queued = Lookup("c1");
  ASSERT_TRUE(queued.result.error.has_value());
  EXPECT_EQ(queued.result.error->kind, Kind::kActorDied);
  EXPECT_NE(queued.result.error->message.find("killed by halo::Kill"), std::string::npos);
  FailPush(UnavailableError("Socket closed"));  // the call in flight fails when its push returns
  EXPECT_EQ(Lookup("c0").result.error->kind, Kind::kActorDied);
  std::string dead;
  EXPECT_EQ(submitter_->TryReserveCall("a1", &dead), ActorSubmitter::Reservation::kDead);
  EXPECT_NE(dead.find("killed by halo::Kill"), std::string::npos) << dead;
}

TEST_F(ActorSubmitterTest, PendingCallsAreBoundedPerHandleAndFreedAsTheyFinish) {
  AddActor(0, /*max_pending_calls=*/1);
  Call("c0");
  std::string dead;
  EXPECT_EQ(submitter_->TryReserveCall("a1", &dead), ActorSubmitter::Reservation::kLimitReached);
  Answer("done");
  EXPECT_EQ(submitter_->TryReserveCall("a1", &dead), ActorSubmitter::Reservation::kReserved);
  EXPECT_EQ(submitter_->TryReserveCall("nobody", &dead), ActorSubmitter::Reservation::kUnknownActor);
}

TEST_F(ActorSubmitterTest, FailedArgumentFailsTheCallButKeepsTheSequenceWithoutAGap) {
  AddActor(0);
  objects_.AddPending("arg");
  Call("c0", {"arg"});
  EXPECT_TRUE(clients_.actor_pushes.empty()) << "sent before its argument was ready";
  objects_.Fail("arg", internal::ErrorInfo{Kind::kTaskException, "std::runtime_error", "boom", ""});
  executor_.RunUntilIdle();
  ASSERT_EQ(clients_.actor_pushes.size(), 1u);
  EXPECT_TRUE(clients_.actor_pushes[0].request.calls(0).skipped()) << "the placeholder must not run";
  Answer("ignored");
  auto lookup = Lookup("c0");
  ASSERT_TRUE(lookup.result.error.has_value());
  EXPECT_EQ(lookup.result.error->kind, Kind::kTaskException);
  EXPECT_EQ(lookup.result.error->message, "boom");
}

}  // namespace
}  // namespace halo::core
