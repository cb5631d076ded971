// Tasks and objects on a real cluster: a head and two node agents on loopback, this test process as the
// driver. Workers are this same executable, started by the node agents in worker mode (see main below).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/process.h"
#include "halo/halo.h"
#include "integration/head_fixture.h"
#include "integration/node_fixture.h"
#include "integration/driver_cluster.h"
#include "integration/driver_helpers.h"

namespace {

int Square(int x) { return x * x; }
int Add(int a, int b) { return a + b; }
int64_t SumAll(std::vector<int> values) { return std::accumulate(values.begin(), values.end(), int64_t{0}); }
int Increment(int x) { return x + 1; }
std::string Greet(std::string name) { return "hello " + name; }

struct Point {
  double x = 0;
  double y = 0;
  MSGPACK_DEFINE(x, y);
};
Point Scale(Point p, double factor) { return Point{p.x * factor, p.y * factor}; }

// Submits tasks from inside a task: the worker owns them.
int SumOfSquares(int n) {
  std::vector<halo::ObjectRef<int>> refs;
  for (int i = 1; i <= n; ++i) refs.push_back(halo::Task(Square).Remote(i));
  int total = 0;
  for (const auto& value : halo::Get(refs)) total += *value;
  return total;
}

// Appends a line to path on every run, then throws.
int AlwaysThrows(std::string path) {
  std::ofstream(path, std::ios::app) << "run\n";
  throw std::out_of_range("index 7 is past the end");
}

// Records its pid in path, then waits to be killed (at most 60 s).
int WaitToBeKilled(std::string path, int value) {
  const std::string marker = path + ".done";
  if (access(marker.c_str(), F_OK) == 0) return value;  // a retry after the kill
  std::ofstream(marker) << "";
  (void)halo::WriteFileAtomically(path, std::to_string(getpid()) + "\n");
  std::this_thread::sleep_for(std::chrono::seconds(60));
  return -1;
}

int SleepMs(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

// The pid of the node agent that started this worker.
int SleepThenNodePid(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return getppid();
}

// Returns a reference to an object this worker owns: the caller borrows it.
halo::ObjectRef<int> SquareLater(int x) { return halo::Task(Square).Remote(x); }

// Returns a reference to a long task it owns, and its own pid (so the test can kill the owner).
struct OwnedRef {
  halo::ObjectRef<int> ref;
  int owner_pid = 0;
  MSGPACK_DEFINE(ref, owner_pid);
};
OwnedRef LongTaskOwnedHere(int ms) { return OwnedRef{halo::Task(SleepMs).Remote(ms), getpid()}; }

HALO_REMOTE(SquareLater, LongTaskOwnedHere);

HALO_REMOTE(Square, Add, SumAll, Increment, Greet, Scale, SumOfSquares, AlwaysThrows, WaitToBeKilled, SleepMs, SleepThenNodePid);

std::string ReadFileToStringOrEmpty(const std::string& path) {
  auto text = halo::ReadFileToString(path);
  return text.ok() ? *text : "";
}

using halo::testing::Head;
using halo::testing::Node;

// One cluster for the whole suite: a head and two more node agents, two CPUs each.
class TasksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A task no node fits waits this long for one to join before it is unschedulable.
    cluster_ = new halo::testing::DriverCluster({"--num-cpus", "2", "--task-unschedulable-timeout-ms", "2000"}, 2,
                                                {"--num-cpus", "2", "--task-unschedulable-timeout-ms", "2000"});
    cluster_->Start();
    head_ = &cluster_->head();
    nodes_[0] = &cluster_->node(0);
    nodes_[1] = &cluster_->node(1);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static halo::testing::DriverCluster* cluster_;
  static Head* head_;
  static Node* nodes_[2];
  halo::testing::TempDir dir_;
};
halo::testing::DriverCluster* TasksTest::cluster_ = nullptr;
Head* TasksTest::head_ = nullptr;
Node* TasksTest::nodes_[2] = {nullptr, nullptr};

TEST_F(TasksTest, OneTaskReturnsItsResult) {
  EXPECT_EQ(*halo::Get(halo::Task(Square).Remote(7)), 49);
  EXPECT_EQ(*halo::Get(halo::Task(Greet).Remote(std::string("halo"))), "hello halo");
  Point scaled = *halo::Get(halo::Task(Scale).Remote(Point{1.5, -2}, 2.0));
  EXPECT_DOUBLE_EQ(scaled.x, 3.0);
  EXPECT_DOUBLE_EQ(scaled.y, -4.0);
}

TEST_F(TasksTest, FanOutThenFanIn) {
  std::vector<halo::ObjectRef<int>> squares;
  for (int i = 0; i < 100; ++i) squares.push_back(halo::Task(Square).Remote(i));
  // Fan in by pairs through refs passed as arguments.
  while (squares.size() > 1) {
    std::vector<halo::ObjectRef<int>> next;
    for (size_t i = 0; i + 1 < squares.size(); i += 2) next.push_back(halo::Task(Add).Remote(squares[i], squares[i + 1]));
    if (squares.size() % 2 == 1) next.push_back(squares.back());
    squares = std::move(next);
  }
  EXPECT_EQ(*halo::Get(squares[0]), 328350);  // sum of i^2 for i < 100
}

TEST_F(TasksTest, ChainOfTwentyDependentTasks) {
  halo::ObjectRef<int> value = halo::Task(Increment).Remote(0);
  for (int i = 1; i < 20; ++i) value = halo::Task(Increment).Remote(value);
  EXPECT_EQ(*halo::Get(value), 20);
}

TEST_F(TasksTest, TasksSubmitTasks) {
  EXPECT_EQ(*halo::Get(halo::Task(SumOfSquares).Remote(10)), 385);
}

TEST_F(TasksTest, WaitingTasksLendTheirCpusToTheTasksTheyWaitFor) {
  // More waiting parents than the cluster's 6 CPUs: each parent's CPU is lent out while it waits in Get, so the
  // children it submitted can run and nothing deadlocks.
  std::vector<halo::ObjectRef<int>> parents;
  for (int i = 0; i < 10; ++i) parents.push_back(halo::Task(SumOfSquares).Remote(3));
  for (const auto& value : halo::Get(parents, std::chrono::seconds(120))) EXPECT_EQ(*value, 14);
}

TEST_F(TasksTest, TenThousandSmallTasks) {
  std::vector<halo::ObjectRef<int>> refs;
  refs.reserve(10000);
  for (int i = 0; i < 10000; ++i) refs.push_back(halo::Task(Add).Remote(i, 1));
  int64_t total = 0;
  for (const auto& value : halo::Get(refs)) total += *value;
  EXPECT_EQ(total, int64_t{10000} * 10001 / 2);
}

TEST_F(TasksTest, OverflowSpillsToOtherNodes) {
  // More long tasks than the head node's two CPUs: the overflow is leased on the other nodes.
  std::vector<halo::ObjectRef<int>> nodes;
  for (int i = 0; i < 12; ++i) nodes.push_back(halo::Task(SleepThenNodePid).Remote(300));
  std::set<int> distinct;
  for (const auto& pid : halo::Get(nodes)) distinct.insert(*pid);
  EXPECT_GE(distinct.size(), 2u) << "every task ran under one node agent";
}

TEST_F(TasksTest, ReferencesReturnedByTasksAreBorrowed) {
  halo::ObjectRef<int> inner = *halo::Get(halo::Task(SquareLater).Remote(9));
  EXPECT_EQ(*halo::Get(inner), 81);
  // A borrowed reference works as an argument too.
  EXPECT_EQ(*halo::Get(halo::Task(Add).Remote(inner, 1)), 82);
}

TEST_F(TasksTest, BorrowedObjectWhoseOwnerDiedIsOwnerDied) {
  OwnedRef owned = *halo::Get(halo::Task(LongTaskOwnedHere).Remote(20000));
  ASSERT_EQ(kill(owned.owner_pid, SIGKILL), 0);
  try {
    halo::Get(owned.ref, std::chrono::seconds(60));
    FAIL() << "expected OwnerDied";
  } catch (const halo::OwnerDied& error) {
    EXPECT_NE(std::string(error.what()).find("owner"), std::string::npos) << error.what();
  }
}

TEST_F(TasksTest, PutValuesAreArguments) {
  halo::ObjectRef<std::vector<int>> values = halo::Put(std::vector<int>{1, 2, 3, 4});
  EXPECT_EQ(*halo::Get(halo::Task(SumAll).Remote(values)), 10);
  EXPECT_EQ(halo::Get(values)->size(), 4u);
}

TEST_F(TasksTest, ExceptionReachesCallerAndIsNotRetried) {
  const std::string runs = dir_.path() + "/runs";
  auto ref = halo::Task(AlwaysThrows).SetMaxRetries(3).Remote(runs);
  try {
    halo::Get(ref);
    FAIL() << "expected TaskException";
  } catch (const halo::TaskException& error) {
    EXPECT_EQ(error.type_name(), "std::out_of_range");
    EXPECT_EQ(error.remote_message(), "index 7 is past the end");
    EXPECT_NE(error.where().find("worker"), std::string::npos) << error.where();
  }
  EXPECT_EQ(ReadFileToStringOrEmpty(runs), "run\n");
}

TEST_F(TasksTest, ExceptionRetriedWhenAsked) {
  const std::string runs = dir_.path() + "/runs";
  auto ref = halo::Task(AlwaysThrows).SetMaxRetries(2).SetRetryExceptions(true).Remote(runs);
  EXPECT_THROW(halo::Get(ref), halo::TaskException);
  EXPECT_EQ(ReadFileToStringOrEmpty(runs), "run\nrun\nrun\n");
}

TEST_F(TasksTest, KilledWorkerIsRetried) {
  const std::string pid_file = dir_.path() + "/pid";
  auto ref = halo::Task(WaitToBeKilled).Remote(pid_file, 42);
  ASSERT_TRUE(halo::testing::WaitUntil([&] { return !halo::ReadTrimmedFile(pid_file).empty(); },
                                       std::chrono::seconds(30)));
  ASSERT_EQ(kill(std::stoi(halo::ReadTrimmedFile(pid_file)), SIGKILL), 0);
  EXPECT_EQ(*halo::Get(ref, std::chrono::seconds(60)), 42);
}

TEST_F(TasksTest, KilledWorkerWithoutRetriesIsWorkerCrashed) {
  const std::string pid_file = dir_.path() + "/pid";
  auto ref = halo::Task(WaitToBeKilled).SetMaxRetries(0).Remote(pid_file, 42);
  ASSERT_TRUE(halo::testing::WaitUntil([&] { return !halo::ReadTrimmedFile(pid_file).empty(); },
                                       std::chrono::seconds(30)));
  ASSERT_EQ(kill(std::stoi(halo::ReadTrimmedFile(pid_file)), SIGKILL), 0);
  try {
    halo::Get(ref, std::chrono::seconds(60));
    FAIL() << "expected WorkerCrashed";
  } catch (const halo::WorkerCrashed& error) {
    EXPECT_NE(std::string(error.what()).find("signal 9"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("max_retries=0"), std::string::npos) << error.what();
  }
}

TEST_F(TasksTest, WaitAndTimeouts) {
  // fast is submitted first: were both pushed to one leased worker (a second lease can be slow to come on a
  // loaded machine), fast must not queue behind slow.
  auto fast = halo::Task(SleepMs).Remote(1);
  auto slow = halo::Task(SleepMs).Remote(1500);
  auto [ready, pending] = halo::Wait(std::vector<halo::ObjectRef<int>>{slow, fast}, 1, std::chrono::seconds(30));
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0], fast);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0], slow);
  EXPECT_THROW(halo::Get(slow, std::chrono::milliseconds(10)), halo::GetTimeout);
  EXPECT_EQ(*halo::Get(slow, std::chrono::seconds(30)), 1500);
}

TEST_F(TasksTest, ImpossibleResourcesAreUnschedulable) {
  auto ref = halo::Task(Square).SetResources({{"GPU", 1}}).Remote(2);
  try {
    halo::Get(ref, std::chrono::seconds(30));
    FAIL() << "expected TaskUnschedulable";
  } catch (const halo::TaskUnschedulable& error) {
    EXPECT_NE(std::string(error.what()).find("GPU"), std::string::npos) << error.what();
  }
}

TEST_F(TasksTest, BadOptionsAreRefusedAtOnce) {
  EXPECT_THROW(halo::Task(Square).SetMaxRetries(-2).Remote(1), halo::RuntimeError);
  EXPECT_THROW(halo::Task(Square).SetResources({{"CPU", -1}}).Remote(1), halo::RuntimeError);
}

TEST_F(TasksTest, ShutdownFinishesTheJob) {
  const std::string tag = "--tag=" + std::to_string(getpid()) + "-shutdown";
  auto result = halo::testing::RunCommand(
      {halo::testing::BinDir() + "/../tests/test_driver", "--address", head_->address(), tag, "--shutdown"},
      std::chrono::seconds(60));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto jobs = head_->Client()->GetAllJobs();
  ASSERT_TRUE(jobs.ok());
  int found = 0;
  for (const auto& job : *jobs) {
    if (job.entrypoint().find(tag) == std::string::npos) continue;
    ++found;
    EXPECT_TRUE(job.is_finished());
    EXPECT_EQ(job.end_reason(), "the driver called Shutdown");
  }
  EXPECT_EQ(found, 1);
}

// Bad input to the API is one clear exception, not a crash or a hang.
TEST(ApiMisuseTest, InitWithNoClusterAtTheAddressThrowsNamingIt) {
  const std::string address = "127.0.0.1:" + std::to_string(halo::testing::FreePort());
  try {
    halo::testing::InitDriver(address);
    FAIL() << "expected RuntimeError";
  } catch (const halo::RuntimeError& error) {
    EXPECT_NE(std::string(error.what()).find(address), std::string::npos) << error.what();
  }
  EXPECT_FALSE(halo::IsInitialized());
  EXPECT_THROW(halo::Get(halo::ObjectRef<int>()), halo::RuntimeError);  // used before Init
}

// A cluster whose head offers no CPUs, so tasks run on the two node agents, one of which the test kills.
class NodeFailureTest : public ::testing::Test {
 protected:
  void SetUp() override { cluster_.Start(); }

  // Waits for the task to record its worker's pid, then SIGKILLs that worker's node agent.
  void KillNodeRunning(const std::string& pid_file) {
    ASSERT_TRUE(halo::testing::WaitUntil([&] { return !halo::ReadTrimmedFile(pid_file).empty(); },
                                         std::chrono::seconds(30)));
    const int worker = std::stoi(halo::ReadTrimmedFile(pid_file));
    auto stat = halo::ReadFileToString("/proc/" + std::to_string(worker) + "/stat");
    ASSERT_TRUE(stat.ok());
    // /proc/PID/stat: "pid (comm) state ppid ..."
    const std::string after_comm = stat->substr(stat->rfind(')') + 2);
    const int node_pid = std::stoi(after_comm.substr(after_comm.find(' ') + 1));
    ASSERT_TRUE(node_pid == cluster_.node(0).pid() || node_pid == cluster_.node(1).pid()) << node_pid;
    ASSERT_EQ(kill(node_pid, SIGKILL), 0);
  }

  halo::testing::DriverCluster cluster_{{"--num-cpus", "0"}, 2, {"--num-cpus", "2"}};
  halo::testing::TempDir dir_;
};

TEST_F(NodeFailureTest, TaskOnAKilledNodeIsRetriedOnAnother) {
  const std::string pid_file = dir_.path() + "/pid";
  auto ref = halo::Task(WaitToBeKilled).Remote(pid_file, 7);
  KillNodeRunning(pid_file);
  EXPECT_EQ(*halo::Get(ref, std::chrono::seconds(60)), 7);
  // The survivor keeps serving new work.
  EXPECT_EQ(*halo::Get(halo::Task(Square).Remote(12), std::chrono::seconds(60)), 144);
}

TEST_F(NodeFailureTest, TaskOnAKilledNodeWithoutRetriesIsNodeDied) {
  const std::string pid_file = dir_.path() + "/pid";
  auto ref = halo::Task(WaitToBeKilled).SetMaxRetries(0).Remote(pid_file, 7);
  KillNodeRunning(pid_file);
  EXPECT_THROW(halo::Get(ref, std::chrono::seconds(60)), halo::NodeDied);
}

}  // namespace

int main(int argc, char** argv) {
  // A node agent starts this executable as a worker: Init then serves tasks and never returns.
  if (std::getenv("HALO_WORKER_MODE") != nullptr) halo::Init(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
