// Actors on a real cluster: a head and node agents on loopback, this test process as the driver, actor workers
// started from this same executable by the node agents (see main below).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/process.h"
#include "halo/halo.h"
#include "integration/driver_cluster.h"
#include "integration/driver_helpers.h"
#include "integration/head_fixture.h"
#include "integration/node_fixture.h"

namespace {

class Counter {
 public:
  explicit Counter(int start) : n_(start) {}
  int Add(int d) { return n_ += d; }
  int Value() const { return n_; }
  int Pid() const { return getpid(); }
  int NodePid() const { return getppid(); }
  bool Restarted() const { return halo::WasCurrentActorRestarted(); }
  // The seed's actor: the fifth call kills the process.
  int IncrementCrashingAtFive() {
    n_ += 1;
    if (n_ == 5) _exit(1);
    return n_;
  }
  int SleepMs(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
  }
  // As SleepMs, once it has created `started` (so a test knows the call is running).
  int SleepMsAfterNoting(std::string started, int ms) {
    std::ofstream(started) << getpid() << "\n";
    return SleepMs(ms);
  }
  int Leave() { halo::ExitActor(); }

 private:
  int n_;
};
Counter* MakeCounter(int start) { return new Counter(start); }

// Appends every call's argument to a file shared by all its instances, so a test sees what ran, in what order.
class Recorder {
 public:
  explicit Recorder(std::string path) : path_(std::move(path)) {}
  int Record(int i, int ms) {
    std::ofstream(path_, std::ios::app) << i << "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return i;
  }
  int Pid() const { return getpid(); }
  int NodePid() const { return getppid(); }

 private:
  std::string path_;
};
Recorder* MakeRecorder(std::string path) { return new Recorder(std::move(path)); }

// Handles travel into tasks: the task calls the actor itself.
int AddThroughHandle(halo::ActorHandle<Counter> counter, int d) { return *halo::Get(counter.Task(&Counter::Add).Remote(d)); }

struct OwnedActor {
  halo::ActorHandle<Counter> actor;
  int owner_pid = 0;
  MSGPACK_DEFINE(actor, owner_pid);
};
// Creates an actor owned by this worker and hands it back, with this worker's pid.
OwnedActor CreateActorHere(int start) { return OwnedActor{halo::Actor(MakeCounter).Remote(start), getpid()}; }

HALO_REMOTE(MakeCounter, &Counter::Add, &Counter::Value, &Counter::Pid, &Counter::NodePid, &Counter::Restarted,
            &Counter::IncrementCrashingAtFive, &Counter::SleepMs, &Counter::SleepMsAfterNoting, &Counter::Leave);
HALO_REMOTE(MakeRecorder, &Recorder::Record, &Recorder::Pid, &Recorder::NodePid);
int Fails(int) { throw std::runtime_error("this task always fails"); }
int SlowValue(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
int RecorderPid(halo::ActorHandle<Recorder> recorder) { return *halo::Get(recorder.Task(&Recorder::Pid).Remote()); }

HALO_REMOTE(AddThroughHandle, CreateActorHere, Fails, RecorderPid, SlowValue);

using halo::testing::Head;
using halo::testing::Node;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<int> ReadInts(const std::string& path) {
  std::vector<int> values;
  std::ifstream in(path);
  for (int value; in >> value;) values.push_back(value);
  return values;
}

// The actor's directory entry, as `halo list actors` reads it.
halo::rpc::ActorInfo Lookup(const std::string& gcs_address, const std::string& actor_id) {
  halo::GcsClient gcs(gcs_address, 5000);
  auto actors = gcs.ListActors();
  if (actors.ok()) {
    for (const auto& actor : *actors) {
      if (actor.actor_id() == actor_id) return actor;
    }
  }
  return {};
}

bool WaitForState(const std::string& gcs_address, const std::string& actor_id, halo::rpc::ActorState state,
                  milliseconds timeout = milliseconds(20000)) {
  return halo::testing::WaitUntil([&] { return Lookup(gcs_address, actor_id).state() == state; }, timeout);
}

void KillAndWait(pid_t pid) {
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(halo::WaitForProcessExit(pid, 10000));
}

// One cluster for most tests: a head and a node agent, two CPUs each.
class ActorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new halo::testing::DriverCluster({"--num-cpus", "2"}, 1, {"--num-cpus", "2"});
    cluster_->Start();
    head_ = &cluster_->head();
    node_ = &cluster_->node(0);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static halo::testing::DriverCluster* cluster_;
  static Head* head_;
  static Node* node_;
  halo::testing::TempDir dir_;
};
halo::testing::DriverCluster* ActorsTest::cluster_ = nullptr;
Head* ActorsTest::head_ = nullptr;
Node* ActorsTest::node_ = nullptr;

TEST_F(ActorsTest, CallsRunInOrderOnOneInstance) {
  auto counter = halo::Actor(MakeCounter).Remote(10);
  std::vector<halo::ObjectRef<int>> sums;
  for (int i = 1; i <= 200; ++i) sums.push_back(counter.Task(&Counter::Add).Remote(1));
  auto values = halo::Get(sums, seconds(60));
  for (int i = 0; i < 200; ++i) ASSERT_EQ(*values[i], 11 + i);
  EXPECT_EQ(*halo::Get(counter.Task(&Counter::Value).Remote()), 210);
  EXPECT_FALSE(*halo::Get(counter.Task(&Counter::Restarted).Remote()));
  const auto info = Lookup(head_->address(), counter.ID());
  EXPECT_EQ(info.state(), halo::rpc::ACTOR_ALIVE);
  EXPECT_EQ(info.pid(), *halo::Get(counter.Task(&Counter::Pid).Remote()));
  EXPECT_FALSE(info.node_id().empty());
}

TEST_F(ActorsTest, SeedCounterCrashingAtFiveRestartsFromItsConstructor) {
  auto counter = halo::Actor(MakeCounter).SetMaxRestarts(3).Remote(0);
  for (int i = 1; i <= 4; ++i) ASSERT_EQ(*halo::Get(counter.Task(&Counter::IncrementCrashingAtFive).Remote()), i);
  EXPECT_THROW(halo::Get(counter.Task(&Counter::IncrementCrashingAtFive).Remote(), seconds(30)),
               halo::ActorUnavailable);
  // The next call waits for the new instance, whose constructor ran again: the count starts over.
  EXPECT_EQ(*halo::Get(counter.Task(&Counter::IncrementCrashingAtFive).Remote(), seconds(30)), 1);
  EXPECT_TRUE(*halo::Get(counter.Task(&Counter::Restarted).Remote()));
  const auto info = Lookup(head_->address(), counter.ID());
  EXPECT_EQ(info.num_restarts(), 1);
  EXPECT_EQ(info.death_cause(), halo::rpc::CAUSE_WORKER_DIED);
}

TEST_F(ActorsTest, SigkillInTheMiddleOfHundredCallsLosesNothingAndKeepsOrder) {
  const std::string log = dir_.path() + "/calls";
  auto recorder = halo::Actor(MakeRecorder).SetMaxRestarts(-1).SetMaxTaskRetries(-1).Remote(log);
  const int pid = *halo::Get(recorder.Task(&Recorder::Pid).Remote());
  std::vector<halo::ObjectRef<int>> results;
  for (int i = 0; i < 100; ++i) results.push_back(recorder.Task(&Recorder::Record).Remote(i, 10));
  ASSERT_TRUE(halo::testing::WaitUntil([&] { return ReadInts(log).size() >= 40; }, seconds(30)));
  KillAndWait(pid);
  auto values = halo::Get(results, seconds(60));
  for (int i = 0; i < 100; ++i) ASSERT_EQ(*values[i], i);
  // Every call ran, in order; only the one running at the kill ran twice (finished calls were not re-sent).
  std::vector<int> ran = ReadInts(log);
  int repeats = 0;
  for (size_t k = 1; k < ran.size(); ++k) {
    if (ran[k] == ran[k - 1]) {
      repeats += 1;
      continue;
    }
    ASSERT_EQ(ran[k], ran[k - 1] + 1) << "calls ran out of order at position " << k;
  }
  EXPECT_EQ(ran.front(), 0);
  EXPECT_EQ(ran.back(), 99);
  EXPECT_LE(repeats, 1);
  EXPECT_NE(*halo::Get(recorder.Task(&Recorder::Pid).Remote()), pid);
}

TEST_F(ActorsTest, WithoutRetriesPendingCallsFailFastThenCallsSucceedAgain) {
  auto counter = halo::Actor(MakeCounter).SetMaxRestarts(-1).Remote(0);
  const int pid = *halo::Get(counter.Task(&Counter::Pid).Remote());
  const std::string started = dir_.path() + "/started";
  auto slow = counter.Task(&Counter::SleepMsAfterNoting).Remote(started, 20000);
  ASSERT_TRUE(halo::testing::WaitUntil([&] { return !halo::ReadTrimmedFile(started).empty(); }, seconds(30)));
  const auto killed_at = std::chrono::steady_clock::now();
  KillAndWait(pid);
  EXPECT_THROW(halo::Get(slow, seconds(30)), halo::ActorUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, seconds(5)) << "the failure was not fast";
  // Calls made after the failure go to the new instance, whose constructor started the count again.
  EXPECT_EQ(*halo::Get(counter.Task(&Counter::Add).Remote(5), seconds(30)), 5);
  EXPECT_TRUE(*halo::Get(counter.Task(&Counter::Restarted).Remote(), seconds(30)));
}

TEST_F(ActorsTest, MaxPendingCallsRefusesTheCallBeyondIt) {
  auto counter = halo::Actor(MakeCounter).SetMaxPendingCalls(2).Remote(0);
  auto first = counter.Task(&Counter::SleepMs).Remote(500);
  auto second = counter.Task(&Counter::SleepMs).Remote(1);
  EXPECT_THROW(counter.Task(&Counter::Add).Remote(1), halo::PendingCallsLimitExceeded);
  EXPECT_EQ(*halo::Get(first, seconds(30)), 500);
  EXPECT_EQ(*halo::Get(second, seconds(30)), 1);
  EXPECT_EQ(*halo::Get(counter.Task(&Counter::Add).Remote(1), seconds(30)), 1);
}

TEST_F(ActorsTest, ExhaustedRestartsMakeEveryCallActorDied) {
  auto counter = halo::Actor(MakeCounter).SetMaxRestarts(1).Remote(0);
  KillAndWait(*halo::Get(counter.Task(&Counter::Pid).Remote()));
  // Restarted once; the second death is final. (A call made the instant after a death nobody has announced yet
  // may still reach the dead process and, without task retries, fail: wait for the directory first.)
  ASSERT_TRUE(halo::testing::WaitUntil(
      [&] {
        const auto info = Lookup(head_->address(), counter.ID());
        return info.state() == halo::rpc::ACTOR_ALIVE && info.num_restarts() == 1;
      },
      seconds(30)));
  const int second = *halo::Get(counter.Task(&Counter::Pid).Remote(), seconds(30));
  KillAndWait(second);
  ASSERT_TRUE(WaitForState(head_->address(), counter.ID(), halo::rpc::ACTOR_DEAD));
  for (int i = 0; i < 3; ++i) {
    EXPECT_THROW(halo::Get(counter.Task(&Counter::Add).Remote(1), seconds(30)), halo::ActorDied);
  }
  const auto info = Lookup(head_->address(), counter.ID());
  EXPECT_EQ(info.death_cause(), halo::rpc::CAUSE_WORKER_DIED);
  EXPECT_EQ(info.num_restarts(), 1);
}

TEST_F(ActorsTest, NamesAreFoundUniqueAndFreedWhenDead) {
  auto counter = halo::Actor(MakeCounter).SetName("tally").SetNamespace("tests").Remote(5);
  auto same = halo::GetActor<Counter>("tally", "tests");
  EXPECT_EQ(same.ID(), counter.ID());
  EXPECT_EQ(*halo::Get(same.Task(&Counter::Add).Remote(1)), 6);
  EXPECT_THROW(halo::Actor(MakeCounter).SetName("tally").SetNamespace("tests").Remote(0), halo::RuntimeError);
  EXPECT_THROW(halo::GetActor<Counter>("tally", "elsewhere"), halo::ActorNotFound);
  EXPECT_THROW(halo::GetActor<Recorder>("tally", "tests"), halo::RuntimeError);  // not a Recorder
  halo::Kill(counter);
  EXPECT_THROW(halo::Get(counter.Task(&Counter::Add).Remote(1), seconds(30)), halo::ActorDied);
  EXPECT_EQ(Lookup(head_->address(), counter.ID()).death_cause(), halo::rpc::CAUSE_KILLED);
  // The name is free again.
  auto reborn = halo::Actor(MakeCounter).SetName("tally").SetNamespace("tests").Remote(100);
  EXPECT_EQ(*halo::Get(halo::GetActor<Counter>("tally", "tests").Task(&Counter::Add).Remote(1), seconds(30)), 101);
  halo::Kill(reborn);
}

TEST_F(ActorsTest, ExitActorEndsItForGood) {
  auto counter = halo::Actor(MakeCounter).SetMaxRestarts(-1).Remote(0);
  EXPECT_THROW(halo::Get(counter.Task(&Counter::Leave).Remote(), seconds(30)), halo::ActorDied);
  ASSERT_TRUE(WaitForState(head_->address(), counter.ID(), halo::rpc::ACTOR_DEAD));
  EXPECT_EQ(Lookup(head_->address(), counter.ID()).death_cause(), halo::rpc::CAUSE_EXITED);
  EXPECT_THROW(halo::Get(counter.Task(&Counter::Add).Remote(1), seconds(30)), halo::ActorDied);
}

TEST_F(ActorsTest, HandlesTravelIntoTasks) {
  auto counter = halo::Actor(MakeCounter).Remote(0);
  std::vector<halo::ObjectRef<int>> adds;
  for (int i = 0; i < 5; ++i) adds.push_back(halo::Task(AddThroughHandle).Remote(counter, 2));
  for (const auto& value : halo::Get(adds, seconds(60))) EXPECT_GT(*value, 0);
  EXPECT_EQ(*halo::Get(counter.Task(&Counter::Value).Remote()), 10);
}

TEST_F(ActorsTest, ConstructorArgumentsThatAreRefsAreWaitedFor) {
  auto counter = halo::Actor(MakeCounter).Remote(halo::Task(SlowValue).Remote(1500));
  EXPECT_EQ(Lookup(head_->address(), counter.ID()).state(), halo::rpc::DEPENDENCIES_UNREADY);
  EXPECT_EQ(*halo::Get(counter.Task(&Counter::Add).Remote(1), seconds(60)), 1501);
  EXPECT_EQ(Lookup(head_->address(), counter.ID()).state(), halo::rpc::ACTOR_ALIVE);
}

TEST_F(ActorsTest, CallWhoseArgumentFailedFailsAndLaterCallsKeepTheirOrder) {
  auto counter = halo::Actor(MakeCounter).Remote(0);
  ASSERT_EQ(*halo::Get(counter.Task(&Counter::Add).Remote(1)), 1);  // Add is measured fast: calls may overlap
  auto slow = counter.Task(&Counter::SleepMs).Remote(300);
  auto broken = counter.Task(&Counter::Add).Remote(halo::Task(Fails).Remote(0));
  auto after = counter.Task(&Counter::Add).Remote(10);
  EXPECT_EQ(*halo::Get(slow, seconds(30)), 300);
  EXPECT_THROW(halo::Get(broken, seconds(30)), halo::TaskException);
  EXPECT_EQ(*halo::Get(after, seconds(30)), 11) << "the failed call must not run nor hold up the next";
}

TEST_F(ActorsTest, AHandleReadAsAnotherClassIsRefused) {
  auto counter = halo::Actor(MakeCounter).Remote(0);
  // Serialised as a Counter handle, read as a Recorder handle: refused before any call is made.
  std::string bytes = halo::internal::Pack(counter);
  try {
    halo::internal::Unpack<halo::ActorHandle<Recorder>>(bytes);
    FAIL() << "a Counter handle was read as a Recorder handle";
  } catch (const halo::RuntimeError& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("Counter) was read as a handle of"), std::string::npos) << what;
    EXPECT_NE(what.find("Recorder"), std::string::npos) << what;
  }
  EXPECT_EQ(*halo::Get(counter.Task(&Counter::Add).Remote(2)), 2);
}

TEST_F(ActorsTest, ActorDiesWithItsOwner) {
  OwnedActor owned = *halo::Get(halo::Task(CreateActorHere).Remote(3), seconds(60));
  EXPECT_EQ(*halo::Get(owned.actor.Task(&Counter::Add).Remote(1), seconds(30)), 4);
  KillAndWait(owned.owner_pid);
  ASSERT_TRUE(WaitForState(head_->address(), owned.actor.ID(), halo::rpc::ACTOR_DEAD, seconds(30)));
  EXPECT_EQ(Lookup(head_->address(), owned.actor.ID()).death_cause(), halo::rpc::CAUSE_OWNER_DIED);
  EXPECT_THROW(halo::Get(owned.actor.Task(&Counter::Add).Remote(1), seconds(30)), halo::ActorDied);
}

TEST_F(ActorsTest, DroppingTheLastHandleEndsAnUnnamedActor) {
  std::string id;
  {
    auto counter = halo::Actor(MakeCounter).Remote(0);
    id = counter.ID();
    EXPECT_EQ(*halo::Get(counter.Task(&Counter::Add).Remote(1)), 1);
  }
  ASSERT_TRUE(WaitForState(head_->address(), id, halo::rpc::ACTOR_DEAD));
  EXPECT_EQ(Lookup(head_->address(), id).death_cause(), halo::rpc::CAUSE_OUT_OF_SCOPE);
}

// A head that offers no CPUs and two node agents: actors that need a CPU live on the agents.
class ActorNodeFailureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new halo::testing::DriverCluster({"--num-cpus", "0"}, 2, {"--num-cpus", "1"});
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
halo::testing::DriverCluster* ActorNodeFailureTest::cluster_ = nullptr;
Head* ActorNodeFailureTest::head_ = nullptr;
Node* ActorNodeFailureTest::nodes_[2] = {nullptr, nullptr};

TEST_F(ActorNodeFailureTest, DetachedActorSurvivesItsNodeInTheMiddleOfHundredCalls) {
  const std::string log = dir_.path() + "/calls";
  auto recorder = halo::Actor(MakeRecorder)
                      .SetLifetime(halo::Detached)
                      .SetResources({{"CPU", 1}})
                      .SetMaxRestarts(-1)
                      .SetMaxTaskRetries(-1)
                      .SetName("survivor")
                      .Remote(log);
  const int node_pid = *halo::Get(recorder.Task(&Recorder::NodePid).Remote(), seconds(60));
  std::vector<halo::ObjectRef<int>> results;
  for (int i = 0; i < 100; ++i) results.push_back(recorder.Task(&Recorder::Record).Remote(i, 10));
  ASSERT_TRUE(halo::testing::WaitUntil([&] { return ReadInts(log).size() >= 30; }, seconds(30)));
  KillAndWait(node_pid);
  auto values = halo::Get(results, seconds(90));
  for (int i = 0; i < 100; ++i) ASSERT_EQ(*values[i], i);
  EXPECT_NE(*halo::Get(recorder.Task(&Recorder::NodePid).Remote(), seconds(30)), node_pid);
  const auto info = Lookup(head_->address(), recorder.ID());
  EXPECT_EQ(info.state(), halo::rpc::ACTOR_ALIVE);
  EXPECT_EQ(info.death_cause(), halo::rpc::CAUSE_NODE_DIED);  // why the last instance ended
  halo::Kill(recorder);
}

// A head of its own whose GCS the tests kill and restart; the driver gives up on the GCS after 6 s.
class ActorGcsRestartTest : public ::testing::Test {
 protected:
  static constexpr int kGcsWaitMs = 6000;
  static void SetUpTestSuite() {
    head_ = new Head({"--num-cpus", "2"});
    ASSERT_EQ(head_->Start().exit_code, 0);
    setenv("HALO_GCS_WAIT_TIMEOUT_MS", std::to_string(kGcsWaitMs).c_str(), 1);
    halo::testing::InitDriver(head_->address());
    unsetenv("HALO_GCS_WAIT_TIMEOUT_MS");
  }
  static void TearDownTestSuite() {
    halo::Shutdown();
    delete head_;
  }
  static Head* head_;
};
Head* ActorGcsRestartTest::head_ = nullptr;

TEST_F(ActorGcsRestartTest, ActorsServeWhileTheGcsIsDownAndKeepTheirProcessesAfterIt) {
  std::vector<halo::ActorHandle<Counter>> counters;
  std::vector<int> pids;
  for (int i = 0; i < 3; ++i) {
    counters.push_back(halo::Actor(MakeCounter).SetName("kept-" + std::to_string(i)).Remote(0));
    pids.push_back(*halo::Get(counters.back().Task(&Counter::Pid).Remote(), seconds(60)));
  }
  ASSERT_TRUE(head_->KillGcs(SIGKILL));
  // Existing actors keep serving: calls go straight to them.
  for (int round = 1; round <= 50; ++round) {
    for (auto& counter : counters) ASSERT_EQ(*halo::Get(counter.Task(&Counter::Add).Remote(1), seconds(10)), round);
  }
  // A lookup needs the GCS: it fails with a clear timeout instead of hanging.
  const auto asked = std::chrono::steady_clock::now();
  try {
    halo::GetActor<Counter>("kept-0");
    FAIL() << "GetActor succeeded without a GCS";
  } catch (const halo::GcsUnavailable& error) {
    EXPECT_NE(std::string(error.what()).find("did not answer within"), std::string::npos) << error.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - asked, milliseconds(kGcsWaitMs + 5000));
  // Creating an actor waits for the GCS and completes once it is back.
  auto creating = std::async(std::launch::async, [] { return halo::Actor(MakeCounter).Remote(41); });
  ASSERT_EQ(creating.wait_for(milliseconds(500)), std::future_status::timeout)
      << "an actor was created while the GCS was down";
  ASSERT_EQ(head_->Start().exit_code, 0);
  halo::ActorHandle<Counter> created = creating.get();
  ASSERT_FALSE(created.IsNil());
  EXPECT_EQ(*halo::Get(created.Task(&Counter::Add).Remote(1), seconds(60)), 42);
  // The actors that lived through the restart are the same processes, with their state.
  for (size_t i = 0; i < counters.size(); ++i) {
    EXPECT_EQ(*halo::Get(counters[i].Task(&Counter::Pid).Remote(), seconds(30)), pids[i]);
    EXPECT_EQ(*halo::Get(counters[i].Task(&Counter::Value).Remote(), seconds(30)), 50);
    const auto info = Lookup(head_->address(), counters[i].ID());
    EXPECT_EQ(info.state(), halo::rpc::ACTOR_ALIVE);
    EXPECT_EQ(info.pid(), pids[i]);
    EXPECT_EQ(info.num_restarts(), 0);
  }
  EXPECT_EQ(halo::GetActor<Counter>("kept-1").ID(), counters[1].ID());
}

TEST_F(ActorGcsRestartTest, DetachedActorKilledWhileTheGcsIsDownComesBackAfterIt) {
  auto counter = halo::Actor(MakeCounter).SetLifetime(halo::Detached).SetMaxRestarts(-1).Remote(7);
  const int pid = *halo::Get(counter.Task(&Counter::Pid).Remote(), seconds(60));
  ASSERT_TRUE(head_->KillGcs(SIGKILL));
  KillAndWait(pid);
  ASSERT_EQ(head_->Start().exit_code, 0);
  // The restarted GCS finds the instance gone and makes a new one; the constructor ran again.
  EXPECT_EQ(*halo::Get(counter.Task(&Counter::Add).Remote(1), seconds(60)), 8);
  EXPECT_NE(*halo::Get(counter.Task(&Counter::Pid).Remote(), seconds(30)), pid);
  EXPECT_EQ(Lookup(head_->address(), counter.ID()).num_restarts(), 1);
  halo::Kill(counter);
}

}  // namespace

int main(int argc, char** argv) {
  // A node agent starts this executable as a worker: Init then serves and never returns.
  if (std::getenv("HALO_WORKER_MODE") != nullptr) halo::Init(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
