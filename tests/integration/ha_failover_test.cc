// Head failover under real work. Three head candidates on a real redis-server (append-only, fsync always), two
// node agents, and this process as the driver with live actors and a stream of tasks, actor calls and KV
// writes, all given the candidates' addresses. The tests take the leader away five ways (SIGKILL, SIGSTOP past
// its lease, Redis restarted in place under it, Redis down past the lease, a graceful stop) and check that the stream goes on, the actors keep their
// processes and state, and no acknowledged write is lost. Workers are started from this executable (main).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_join.h"
#include "common/process.h"
#include "halo/halo.h"
#include "integration/candidate_fixture.h"
#include "integration/driver_helpers.h"
#include "integration/node_fixture.h"

namespace {

class Counter {
 public:
  explicit Counter(int start) : n_(start) {}
  int Add(int d) { return n_ += d; }
  int Pid() const { return getpid(); }

 private:
  int n_;
};
Counter* MakeCounter(int start) { return new Counter(start); }
int Square(int x) { return x * x; }

HALO_REMOTE(MakeCounter, &Counter::Add, &Counter::Pid);
HALO_REMOTE(Square);

using halo::testing::Candidate;
using halo::testing::Node;
using halo::testing::RedisServer;
using halo::testing::WaitUntil;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Milliseconds since midnight of the log line containing marker ("[YYYY-MM-DD HH:MM:SS.mmm] ..."), or -1.
int64_t LogTimeMs(const std::string& log, const std::string& marker) {
  const size_t at = log.find(marker);
  if (at == std::string::npos) return -1;
  const size_t line = log.rfind('\n', at);
  const size_t start = line == std::string::npos ? 0 : line + 1;
  int hours = 0, minutes = 0, seconds = 0, millis = 0;
  if (std::sscanf(log.c_str() + start, "[%*d-%*d-%*d %d:%d:%d.%d]", &hours, &minutes, &seconds, &millis) != 4) {
    return -1;
  }
  return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis;
}

// A lease long enough that a hand-over by resignation (about a retry interval) and one by expiry are far apart.
constexpr int64_t kLeaseMs = 3000;

// Tasks, actor calls and KV writes, one after another, until stopped. Records what was acknowledged and any
// task or call that failed (none may). values holds each actor's expected value; it is updated when the
// stream stops, so a later stream (or test) continues from what the actors really hold.
class Stream {
 public:
  Stream(std::vector<halo::ActorHandle<Counter>> actors, std::vector<int>& values, std::string candidates)
      : actors_(std::move(actors)), shared_values_(values), values_(values), kv_(candidates, 2000) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Stream() { Stop(); }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) {
      thread_.join();
      shared_values_ = values_;
    }
  }
  int tasks() const { return tasks_.load(); }
  int puts() const { return puts_.load(); }
  // Waits until n more tasks and n more acknowledged writes have happened since now.
  bool Advances(int n, milliseconds timeout) const {
    const int tasks = tasks_.load(), puts = puts_.load();
    return WaitUntil([&] { return tasks_.load() >= tasks + n && puts_.load() >= puts + n; }, timeout);
  }
  std::vector<std::string> acked() {
    std::lock_guard<std::mutex> lock(mutex_);
    return acked_;
  }
  std::vector<std::string> errors() {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_;
  }

 private:
  void Run() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
    for (int i = 0; i < 1000000 && !stop_.load() && std::chrono::steady_clock::now() < deadline; ++i) {
      try {
        if (*halo::Get(halo::Task(Square).Remote(i % 1000), seconds(30)) != (i % 1000) * (i % 1000)) {
          Error("a task returned a wrong value");
        }
        tasks_ += 1;
        const size_t which = static_cast<size_t>(i) % actors_.size();
        const int value = *halo::Get(actors_[which].Task(&Counter::Add).Remote(1), seconds(30));
        if (value != values_[which] + 1) Error("actor call out of sequence: " + std::to_string(value));
        values_[which] = value;
      } catch (const std::exception& error) {
        Error(error.what());
      }
      const std::string key = "stream-" + std::to_string(i);
      if (kv_.KvPut("ha", key, "v").ok()) {
        puts_ += 1;
        std::lock_guard<std::mutex> lock(mutex_);
        acked_.push_back(key);
      } else {
        std::this_thread::sleep_for(milliseconds(20));  // pacing while no candidate leads
      }
    }
  }
  void Error(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (errors_.size() < 20) errors_.push_back(what);
  }

  std::vector<halo::ActorHandle<Counter>> actors_;
  std::vector<int>& shared_values_;
  std::vector<int> values_;  // the stream thread's until Stop
  halo::GcsClient kv_;
  std::atomic<bool> stop_{false};
  std::atomic<int> tasks_{0}, puts_{0};
  std::mutex mutex_;
  std::vector<std::string> acked_, errors_;
  std::thread thread_;
};

class HaFailoverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = new RedisServer;
    for (int i = 0; i < 3; ++i) AddCandidate();
    ASSERT_TRUE(candidates_[0]->WaitLeading(seconds(20))) << candidates_[0]->Output();
    for (int i = 0; i < 2; ++i) {
      nodes_.push_back(new Node);
      auto joined = nodes_.back()->Start(Addresses(), {"--num-cpus", "2"});
      ASSERT_EQ(joined.exit_code, 0) << joined.output;
    }
    halo::testing::InitDriver(Addresses());
    for (int i = 0; i < 2; ++i) {
      actors_.push_back(halo::Actor(MakeCounter).SetName("ha-" + std::to_string(i)).Remote(100 * i));
      pids_.push_back(*halo::Get(actors_.back().Task(&Counter::Pid).Remote(), seconds(60)));
      values_.push_back(100 * i);
    }
  }
  static void TearDownTestSuite() {
    halo::Shutdown();
    for (Node* node : nodes_) delete node;
    candidates_.clear();
    delete redis_;
  }
  static void AddCandidate() {
    candidates_.push_back(std::make_unique<Candidate>(
        *redis_, std::vector<std::string>{"--leader-lease-ms", std::to_string(kLeaseMs)}));
    ASSERT_TRUE(candidates_.back()->WaitStandingBy(seconds(20))) << candidates_.back()->Output();
  }
  // Every candidate ever started: clients learn of later ones through redirects anyway.
  static std::string Addresses() {
    std::vector<std::string> all;
    for (const auto& c : candidates_) all.push_back(c->address());
    return absl::StrJoin(all, ",");
  }
  static Candidate* Leader() {
    for (const auto& c : candidates_) {
      if (ProcessAlive(c->pid()) && c->Leads()) return c.get();
    }
    return nullptr;
  }
  static int Alive() {
    int alive = 0;
    for (const auto& c : candidates_) alive += halo::ProcessAlive(c->pid()) ? 1 : 0;
    return alive;
  }
  static bool ProcessAlive(pid_t pid) { return pid > 0 && halo::ProcessAlive(pid); }
  // A new leader other than old, at a larger epoch.
  static Candidate* WaitNewLeader(const Candidate* old, int64_t old_epoch, milliseconds timeout) {
    Candidate* found = nullptr;
    WaitUntil([&] {
      found = Leader();
      if (found == nullptr || found == old) return false;
      auto info = found->Info();
      return info && info->epoch() > old_epoch;
    }, timeout);
    return found != nullptr && found != old ? found : nullptr;
  }

  // Every test starts alike: three live candidates, the leader and its epoch, the stream flowing.
  struct Round {
    Candidate* leader = nullptr;
    int64_t epoch = 0;
    std::unique_ptr<Stream> stream;
  };
  static void Begin(Round* round) {
    for (int i = 0; i < 5 && Alive() < 3; ++i) ASSERT_NO_FATAL_FAILURE(AddCandidate());
    ASSERT_TRUE(WaitUntil([&] { return (round->leader = Leader()) != nullptr; }, seconds(30)));
    auto info = round->leader->Info();
    ASSERT_TRUE(info.has_value());
    round->epoch = info->epoch();
    round->stream = std::make_unique<Stream>(actors_, values_, Addresses());
    ASSERT_TRUE(round->stream->Advances(20, seconds(60)));
  }

  // What must hold after every failover: the stream went on, with no failed task or call, every acknowledged
  // write is there, the actors are the same processes with their state, both node agents are ALIVE.
  void CheckAfterFailover(Stream& stream, Candidate& leader) {
    ASSERT_TRUE(stream.Advances(20, seconds(60))) << "the stream stopped after the failover";
    stream.Stop();
    EXPECT_TRUE(stream.errors().empty()) << absl::StrJoin(stream.errors(), "\n");
    halo::GcsClient gcs(leader.address(), 10000);
    for (const auto& key : stream.acked()) {
      auto value = gcs.KvGet("ha", key);
      ASSERT_TRUE(value.ok() && value->has_value()) << "acknowledged write " << key << " lost: " << value.status();
    }
    for (size_t i = 0; i < actors_.size(); ++i) {
      EXPECT_EQ(*halo::Get(actors_[i].Task(&Counter::Pid).Remote(), seconds(30)), pids_[i]);
      EXPECT_EQ(*halo::Get(actors_[i].Task(&Counter::Add).Remote(0), seconds(30)), values_[i]);
    }
    ASSERT_TRUE(WaitUntil([&] {
      auto actors = gcs.ListActors();
      if (!actors.ok()) return false;
      int same = 0;
      for (const auto& actor : *actors) {
        for (size_t i = 0; i < actors_.size(); ++i) {
          same += actor.actor_id() == actors_[i].ID() && actor.state() == halo::rpc::ACTOR_ALIVE &&
                  actor.pid() == pids_[i] && actor.num_restarts() == 0;
        }
      }
      return same == static_cast<int>(actors_.size());
    }, seconds(30))) << "the new leader's actor directory does not show the same live instances";
    ASSERT_TRUE(WaitUntil([&] {
      auto nodes = gcs.GetAllNodes();
      if (!nodes.ok()) return false;
      int alive = 0;
      for (const auto& node : *nodes) alive += node.state() == halo::rpc::ALIVE;
      return alive == 2;
    }, seconds(30))) << "the node agents did not come back to the new leader";
  }

  static RedisServer* redis_;
  static std::vector<std::unique_ptr<Candidate>> candidates_;
  static std::vector<Node*> nodes_;
  static std::vector<halo::ActorHandle<Counter>> actors_;
  static std::vector<int> pids_;
  static std::vector<int> values_;
};
RedisServer* HaFailoverTest::redis_ = nullptr;
std::vector<std::unique_ptr<Candidate>> HaFailoverTest::candidates_;
std::vector<Node*> HaFailoverTest::nodes_;
std::vector<halo::ActorHandle<Counter>> HaFailoverTest::actors_;
std::vector<int> HaFailoverTest::pids_;
std::vector<int> HaFailoverTest::values_;

TEST_F(HaFailoverTest, LeaderKilledWithSigkill) {
  Round round;
  ASSERT_NO_FATAL_FAILURE(Begin(&round));
  Candidate* old = round.leader;
  const int64_t epoch = round.epoch;
  Stream& stream = *round.stream;
  ASSERT_EQ(kill(old->pid(), SIGKILL), 0);
  ASSERT_TRUE(halo::WaitForProcessExit(old->pid(), 10000));
  // A call that needs the GCS, made while nobody leads, waits and completes on the new leader.
  auto creating = std::async(std::launch::async, [] { return halo::Actor(MakeCounter).Remote(7); });
  Candidate* leader = WaitNewLeader(old, epoch, seconds(30));
  ASSERT_NE(leader, nullptr) << "no candidate took over";
  halo::ActorHandle<Counter> created = creating.get();
  EXPECT_EQ(*halo::Get(created.Task(&Counter::Add).Remote(1), seconds(60)), 8);
  halo::Kill(created);
  CheckAfterFailover(stream, *leader);
}

TEST_F(HaFailoverTest, LeaderPausedPastItsLeaseIsReplacedAndResumedStepsDownWithoutWriting) {
  Round round;
  ASSERT_NO_FATAL_FAILURE(Begin(&round));
  Candidate* old = round.leader;
  Stream& stream = *round.stream;
  ASSERT_TRUE(halo::testing::PauseProcess(old->pid()));  // only now is a write sent to it "paused"
  // A write sent to the paused leader itself waits in its socket.
  auto held = std::async(std::launch::async,
                         [address = old->address()] { return halo::GcsClient(address, 30000).KvPut("ha", "held", "x"); });
  Candidate* leader = WaitNewLeader(old, round.epoch, seconds(30));
  ASSERT_NE(leader, nullptr) << "no candidate took over from the paused leader";
  ASSERT_EQ(kill(old->pid(), SIGCONT), 0);
  // Resumed, it finds its deadline passed and stops; whatever it was holding is neither acknowledged nor
  // applied (had it tried, its epoch's write would have been refused by the fence).
  EXPECT_TRUE(halo::WaitForProcessExit(old->pid(), 20000)) << old->Output();
  EXPECT_NE(old->Output().find("no longer the leader"), std::string::npos) << old->Output();
  EXPECT_FALSE(held.get().ok()) << "the deposed leader acknowledged a write";
  auto value = halo::GcsClient(leader->address(), 10000).KvGet("ha", "held");
  ASSERT_TRUE(value.ok()) << value.status();
  // Failed in CI (2026-12-02) while the test sent the write right after kill(SIGSTOP) returned: the leader
  // still ran and applied it as the rightful leader. PauseProcess now waits until every thread is stopped.
  EXPECT_FALSE(value->has_value()) << "the deposed leader's write reached storage\n--- the deposed leader:\n"
                                   << old->Output() << "\n--- the new leader:\n" << leader->Output();
  CheckAfterFailover(stream, *leader);
}

TEST_F(HaFailoverTest, RedisRestartedInPlaceUnderTheLeader) {
  Round round;
  ASSERT_NO_FATAL_FAILURE(Begin(&round));
  const int64_t epoch = round.epoch;
  Stream& stream = *round.stream;
  redis_->Kill();
  redis_->Start();
  // The leader keeps its lease if Redis came back in time, else another candidate takes over; either way one
  // leads, at an epoch never smaller, and nothing acknowledged is lost.
  Candidate* leader = nullptr;
  ASSERT_TRUE(WaitUntil([&] {
    leader = Leader();
    return leader != nullptr && stream.Advances(1, milliseconds(100));
  }, seconds(60)));
  auto info = leader->Info();
  ASSERT_TRUE(info.has_value());
  EXPECT_GE(info->epoch(), epoch);
  CheckAfterFailover(stream, *leader);
}

TEST_F(HaFailoverTest, RedisDownLongerThanTheLeaseDeposesTheLeaderAndAnotherTakesOverAfterIt) {
  Round round;
  ASSERT_NO_FATAL_FAILURE(Begin(&round));
  Candidate* old = round.leader;
  const int64_t epoch = round.epoch;
  Stream& stream = *round.stream;
  redis_->Kill();
  // Unable to renew, the leader's watchdog makes it step down before its lease could lapse in Redis.
  EXPECT_TRUE(halo::WaitForProcessExit(old->pid(), 3 * kLeaseMs)) << old->Output();
  EXPECT_NE(old->Output().find("no longer the leader"), std::string::npos) << old->Output();
  redis_->Start();
  Candidate* leader = WaitNewLeader(old, epoch, seconds(60));
  ASSERT_NE(leader, nullptr) << "no candidate took over";
  CheckAfterFailover(stream, *leader);
}

TEST_F(HaFailoverTest, GracefulStopHandsOverWithoutWaitingForTheLease) {
  Round round;
  ASSERT_NO_FATAL_FAILURE(Begin(&round));
  Candidate* old = round.leader;
  const int64_t epoch = round.epoch;
  Stream& stream = *round.stream;
  ASSERT_EQ(kill(old->pid(), SIGTERM), 0);
  Candidate* leader = WaitNewLeader(old, epoch, seconds(30));
  ASSERT_NE(leader, nullptr) << "no candidate took over";
  EXPECT_TRUE(halo::WaitForProcessExit(old->pid(), 20000));
  // Resigning hands the lease over at once (the issue asks for half a second; bench/failover_bench measures
  // about 0.1 s); waiting for it to lapse would take kLeaseMs. Compared on the two processes' own log clocks,
  // so this test's probing does not count.
  const int64_t stopping_ms = LogTimeMs(old->Output(), "GCS stopping: requested");
  const int64_t elected_ms = LogTimeMs(leader->Output(), "elected leader with epoch " + std::to_string(epoch + 1));
  ASSERT_GT(stopping_ms, 0) << old->Output();
  ASSERT_GT(elected_ms, 0) << leader->Output();
  std::cout << "hand-over on the processes' log clocks: " << elected_ms - stopping_ms << " ms" << std::endl;
  EXPECT_LT(elected_ms - stopping_ms, 500) << "the stopped leader did not hand its lease over within 0.5 s";
  CheckAfterFailover(stream, *leader);
}

}  // namespace

int main(int argc, char** argv) {
  // A node agent starts this executable as a worker: Init then serves and never returns.
  if (std::getenv("HALO_WORKER_MODE") != nullptr) halo::Init(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
