// TaskExecutor::Execute on a fake object access: arguments inline and by reference, results inline and
// stored, and every failure named (the task's exception, a lost argument, an unregistered function, a
// result the node's store refused), and the lease gate passed before work runs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "core/task_executor.h"
#include "halo/halo.h"

namespace halo::core {
namespace {

int Halve(int x) { return x / 2; }
int RejectOdd(int x) {
  if (x % 2 != 0) throw std::domain_error("odd: " + std::to_string(x));
  return x;
}
std::string Repeat(std::string s, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += s;
  return out;
}
HALO_REMOTE(Halve, RejectOdd, Repeat);

class FakeObjects : public ObjectAccess {
 public:
  StatusOr<std::string> Fetch(const rpc::ObjectRefInfo& ref) override {
    fetched.push_back(ref.object_id());
    auto it = values.find(ref.object_id());
    if (it == values.end()) return UnavailableError("no copy reachable");
    return it->second;
  }
  StatusOr<rpc::ObjectLocation> Store(const std::string& id, const std::string& value) override {
    if (store_full) return ResourceExhaustedError("store full");
    stored[id] = value;
    rpc::ObjectLocation location;
    location.set_node_id("n1");
    return location;
  }
  size_t inline_max_bytes() const override { return 64; }

  std::map<std::string, std::string> values;
  std::map<std::string, std::string> stored;
  std::vector<std::string> fetched;
  bool store_full = false;
};

rpc::TaskSpec Spec(const std::string& function) {
  rpc::TaskSpec spec;
  spec.set_task_id("t1");
  spec.set_function_name(function);
  return spec;
}

TEST(TaskExecutorTest, InlineAndReferencedArgumentsReachTheFunction) {
  FakeObjects objects;
  objects.values["big"] = internal::Pack(std::string("ab"));
  rpc::TaskSpec spec = Spec("Repeat");
  spec.add_args()->mutable_ref()->set_object_id("big");
  spec.add_args()->set_value(internal::Pack(3));
  rpc::TaskResult result = TaskExecutor::Execute(spec, "node n1", &objects);
  ASSERT_FALSE(result.failed()) << result.error().message();
  EXPECT_EQ(internal::Unpack<std::string>(result.value()), "ababab");
  EXPECT_EQ(objects.fetched, std::vector<std::string>{"big"});
}

TEST(TaskExecutorTest, LargeResultGoesToTheNodesStoreAndARefusedOneIsNamed) {
  FakeObjects objects;
  rpc::TaskSpec spec = Spec("Repeat");
  spec.add_args()->set_value(internal::Pack(std::string("x")));
  spec.add_args()->set_value(internal::Pack(100));  // past the fake's 64-byte inline bound
  rpc::TaskResult result = TaskExecutor::Execute(spec, "node n1", &objects);
  ASSERT_FALSE(result.failed()) << result.error().message();
  EXPECT_TRUE(result.stored());
  EXPECT_EQ(result.location().node_id(), "n1");
  EXPECT_EQ(internal::Unpack<std::string>(objects.stored.at("t1")), std::string(100, 'x'));

  objects.store_full = true;
  rpc::TaskResult refused = TaskExecutor::Execute(spec, "node n1", &objects);
  ASSERT_TRUE(refused.failed());
  EXPECT_EQ(refused.error().kind(), rpc::WORKER_CRASHED);
  EXPECT_NE(refused.error().message().find("store full"), std::string::npos) << refused.error().message();
}

TEST(TaskExecutorTest, TheTasksExceptionIsNamedWithItsTypeAndWhereItRan) {
  rpc::TaskSpec spec = Spec("RejectOdd");
  spec.add_args()->set_value(internal::Pack(7));
  rpc::TaskResult result = TaskExecutor::Execute(spec, "node n1, worker w1", nullptr);
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.error().kind(), rpc::TASK_EXCEPTION);
  EXPECT_EQ(result.error().type_name(), "std::domain_error");
  EXPECT_EQ(result.error().message(), "odd: 7");
  EXPECT_EQ(result.error().where(), "node n1, worker w1");
}

TEST(TaskExecutorTest, UnfetchableArgumentIsObjectLostNamingTheObject) {
  FakeObjects objects;
  rpc::TaskSpec spec = Spec("Halve");
  spec.add_args()->mutable_ref()->set_object_id("gone");
  rpc::TaskResult result = TaskExecutor::Execute(spec, "node n1", &objects);
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.error().kind(), rpc::OBJECT_LOST);
  EXPECT_EQ(result.error().lost_object_id(), "gone");
  EXPECT_NE(result.error().message().find("no copy reachable"), std::string::npos) << result.error().message();
}

TEST(TaskExecutorTest, UnregisteredFunctionAndBadArgumentsAreNamedNotCrashes) {
  rpc::TaskResult unknown = TaskExecutor::Execute(Spec("NoSuchFunction"), "node n1", nullptr);
  ASSERT_TRUE(unknown.failed());
  EXPECT_EQ(unknown.error().kind(), rpc::TASK_UNSCHEDULABLE);
  EXPECT_NE(unknown.error().message().find("NoSuchFunction"), std::string::npos);
  rpc::TaskResult wrong = TaskExecutor::Execute(Spec("Halve"), "node n1", nullptr);  // no argument
  ASSERT_TRUE(wrong.failed());
  EXPECT_EQ(wrong.error().kind(), rpc::TASK_EXCEPTION);
}

TEST(TaskExecutorTest, QueuedWorkPassesTheLeaseGateFirst) {
  // Run() never returns (a worker ends with its process): it runs on a thread of its own, so what it touches
  // lives as long as the test binary.
  struct Shared {
    TaskExecutor executor{"node n1", nullptr};
    std::atomic<int> gates{0};
    std::atomic<bool> done{false};
    rpc::PushTasksRequest request;
    rpc::PushTasksReply reply;
  };
  auto* shared = new Shared;
  shared->executor.SetGate([shared] { shared->gates += 1; });
  rpc::TaskSpec spec = Spec("Halve");
  spec.add_args()->set_value(internal::Pack(10));
  *shared->request.add_tasks() = spec;
  shared->executor.Enqueue(&shared->request, &shared->reply, [shared] { shared->done = true; });
  EXPECT_FALSE(shared->done) << "ran on the enqueuing thread";
  std::thread([shared] { shared->executor.Run(); }).detach();
  for (int i = 0; i < 2000 && !shared->done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(shared->done);
  ASSERT_EQ(shared->reply.results_size(), 1);
  EXPECT_EQ(internal::Unpack<int>(shared->reply.results(0).value()), 5);
  EXPECT_GE(shared->gates.load(), 2) << "work ran, or its reply left, without the lease check";
}

}  // namespace
}  // namespace halo::core
