// ActorHost with a real TaskExecutor thread: building the instance, each caller's calls run in its sequence
// order whatever order they arrive in, refusals for the wrong instance, a throwing constructor, placeholders
// that are not run, and calls a caller gave up.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "core/actor_host.h"
#include "halo/halo.h"
#include "support/fake_executor.h"

namespace halo::core {
namespace {

class Tally {
 public:
  explicit Tally(std::string start) : text_(std::move(start)) {}
  std::string Append(std::string more) { return text_ += more; }

 private:
  std::string text_;
};
Tally* MakeTally(std::string start) { return new Tally(std::move(start)); }
Tally* MakeBrokenTally(int) { throw std::invalid_argument("no tally today"); }
HALO_REMOTE(MakeTally, MakeBrokenTally, &Tally::Append);

// One task thread for the whole binary: TaskExecutor::Run never returns.
TaskExecutor& TaskThread() {
  static TaskExecutor* executor = [] {
    auto* made = new TaskExecutor("node n1, worker w1", nullptr);
    std::thread([made] { made->Run(); }).detach();
    return made;
  }();
  return *executor;
}

class ActorHostTest : public ::testing::Test {
 protected:
  ActorHostTest() : host_(TaskThread(), timers_, nullptr, "node n1, worker w1", ActorHost::Hooks{}) {}

  rpc::CreateActorReply Create(const std::string& factory, const std::string& arg, int32_t instance = 0) {
    rpc::CreateActorRequest request;
    request.mutable_actor()->set_actor_id("a1");
    request.mutable_actor()->set_num_restarts(instance);
    request.mutable_actor()->mutable_creation()->set_function_name(factory);
    request.mutable_actor()->mutable_creation()->add_args()->set_value(arg);
    std::promise<rpc::CreateActorReply> made;
    host_.Create(request, [&made](rpc::CreateActorReply reply) { made.set_value(std::move(reply)); });
    auto future = made.get_future();
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  }
  static const std::string& Append() {
    static const std::string name = *internal::MethodName(&Tally::Append);
    return name;
  }
  struct Pushed {
    rpc::PushActorTasksRequest request;
    rpc::PushActorTasksReply reply;
    std::promise<void> done;
    std::shared_future<void> finished = done.get_future().share();
  };
  // Pushes calls (sequence, argument) for caller "c" to instance; the reply completes later.
  std::unique_ptr<Pushed> Push(std::vector<std::pair<uint64_t, std::string>> calls, uint64_t start_sequence = 0,
                               int32_t instance = 0, bool skipped = false) {
    auto pushed = std::make_unique<Pushed>();
    pushed->request.set_actor_id("a1");
    pushed->request.set_instance(instance);
    pushed->request.set_caller_id("c");
    pushed->request.set_start_sequence(start_sequence);
    for (const auto& [sequence, arg] : calls) {
      rpc::TaskSpec* call = pushed->request.add_calls();
      call->set_task_id("t" + std::to_string(sequence));
      call->set_function_name(Append());
      call->set_sequence(sequence);
      call->set_skipped(skipped);
      call->add_args()->set_value(internal::Pack(arg));
    }
    Pushed* raw = pushed.get();
    host_.Push(raw->request, &raw->reply, [raw] { raw->done.set_value(); });
    return pushed;
  }
  static bool Done(Pushed& pushed, std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    return pushed.finished.wait_for(wait) == std::future_status::ready;
  }

  testing::FakeExecutor timers_;
  ActorHost host_;
};

TEST_F(ActorHostTest, CallsRunInTheCallersSequenceOrderWhateverOrderTheyArrive) {
  ASSERT_FALSE(Create("MakeTally", internal::Pack(std::string(">"))).failed());
  auto later = Push({{1, "b"}, {2, "c"}});
  EXPECT_FALSE(Done(*later, std::chrono::milliseconds(200))) << "ran before the call ahead of it arrived";
  auto first = Push({{0, "a"}});
  ASSERT_TRUE(Done(*first));
  ASSERT_TRUE(Done(*later));
  EXPECT_EQ(internal::Unpack<std::string>(first->reply.results(0).value()), ">a");
  EXPECT_EQ(internal::Unpack<std::string>(later->reply.results(0).value()), ">ab");
  EXPECT_EQ(internal::Unpack<std::string>(later->reply.results(1).value()), ">abc");
}

TEST_F(ActorHostTest, AnotherInstanceOrNoActorIsRefusedNotRun) {
  auto early = Push({{0, "a"}});
  ASSERT_TRUE(Done(*early));
  EXPECT_EQ(early->reply.refused(), "this worker hosts no actor");
  ASSERT_FALSE(Create("MakeTally", internal::Pack(std::string("")), /*instance=*/2).failed());
  auto stale = Push({{0, "a"}}, 0, /*instance=*/1);
  ASSERT_TRUE(Done(*stale));
  EXPECT_NE(stale->reply.refused().find("instance 2"), std::string::npos) << stale->reply.refused();
  EXPECT_EQ(stale->reply.results_size(), 0);
}

TEST_F(ActorHostTest, ThrowingConstructorIsActorDiedWithItsTypeAndMessage) {
  rpc::CreateActorReply reply = Create("MakeBrokenTally", internal::Pack(1));
  ASSERT_TRUE(reply.failed());
  EXPECT_EQ(reply.error().kind(), rpc::ACTOR_DIED);
  EXPECT_EQ(reply.error().type_name(), "std::invalid_argument");
  EXPECT_EQ(reply.error().message(), "no tally today");
  EXPECT_EQ(reply.error().where(), "node n1, worker w1");
  EXPECT_FALSE(Create("NoSuchFactory", internal::Pack(1)).error().message().empty());
}

TEST_F(ActorHostTest, PlaceholderHoldsItsPlaceWithoutRunning) {
  ASSERT_FALSE(Create("MakeTally", internal::Pack(std::string(""))).failed());
  auto skipped = Push({{0, "x"}}, 0, 0, /*skipped=*/true);
  ASSERT_TRUE(Done(*skipped));
  EXPECT_TRUE(skipped->reply.results(0).failed());
  auto next = Push({{1, "y"}});
  ASSERT_TRUE(Done(*next));
  EXPECT_EQ(internal::Unpack<std::string>(next->reply.results(0).value()), "y") << "the placeholder ran";
}

TEST_F(ActorHostTest, CallsTheCallerGaveUpAreAnsweredAndOrderMovesOn) {
  ASSERT_FALSE(Create("MakeTally", internal::Pack(std::string(""))).failed());
  auto stuck = Push({{1, "b"}});  // waits for sequence 0, which never comes
  auto moved_on = Push({{2, "c"}}, /*start_sequence=*/2);
  ASSERT_TRUE(Done(*stuck));
  EXPECT_EQ(stuck->reply.results(0).error().kind(), rpc::ACTOR_UNAVAILABLE);
  ASSERT_TRUE(Done(*moved_on));
  EXPECT_EQ(internal::Unpack<std::string>(moved_on->reply.results(0).value()), "c");
}

}  // namespace
}  // namespace halo::core
