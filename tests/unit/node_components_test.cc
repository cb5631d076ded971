// The node agent's components outside its managers: PeerWatch (the drivers and lessees it health-checks,
// following the lease manager's list) on a fake executor and prober, and WorkerReaper against real child
// processes.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/asio_executor.h"
#include "node/peer_watch.h"
#include "node/worker_reaper.h"
#include "support/fake_executor.h"

namespace halo::node {
namespace {

class AnsweringProber : public health::HealthProber {
 public:
  void Probe(const std::string& node_id, const std::string&, int64_t, std::function<void(bool)> done) override {
    probed.push_back(node_id);
    done(healthy.count(node_id) > 0);
  }
  std::set<std::string> healthy;
  std::vector<std::string> probed;
};

class PeerWatchTest : public ::testing::Test {
 protected:
  PeerWatchTest()
      : watch_(executor_, prober_, PeerWatchSettings{health::HealthCheckSettings{100, 100, 100, 3}, 1000},
               [this] { return wanted_; }, [this](const std::string& address) { gone_.push_back(address); }) {}

  testing::FakeExecutor executor_;
  AnsweringProber prober_;
  std::set<std::string> wanted_;
  std::vector<std::string> gone_;
  PeerWatch watch_;
};

TEST_F(PeerWatchTest, SilentPeerIsReportedGoneOnceAfterTheThreshold) {
  wanted_ = {"driver:1", "lessee:1"};
  prober_.healthy = {"driver:1"};
  watch_.Start();
  executor_.AdvanceMs(250);  // probes failed at 100 and 200 ms: two of three
  EXPECT_TRUE(gone_.empty()) << "reported before failure_threshold checks failed";
  executor_.AdvanceMs(50);
  EXPECT_EQ(gone_, std::vector<std::string>{"lessee:1"});
  EXPECT_FALSE(watch_.Watching("lessee:1"));
  EXPECT_TRUE(watch_.Watching("driver:1"));
  executor_.AdvanceMs(500);
  EXPECT_EQ(gone_.size(), 1u) << "one gone peer reported twice";
}

TEST_F(PeerWatchTest, WatchedSetFollowsTheListAtEachSync) {
  wanted_ = {"driver:1"};
  prober_.healthy = {"driver:1", "driver:2"};
  watch_.Start();
  EXPECT_TRUE(watch_.Watching("driver:1"));
  wanted_ = {"driver:2"};
  executor_.AdvanceMs(999);
  EXPECT_TRUE(watch_.Watching("driver:1"));
  executor_.AdvanceMs(1);
  EXPECT_FALSE(watch_.Watching("driver:1"));
  EXPECT_TRUE(watch_.Watching("driver:2"));
  const size_t probes = prober_.probed.size();
  executor_.AdvanceMs(1000);
  for (size_t i = probes; i < prober_.probed.size(); ++i) EXPECT_EQ(prober_.probed[i], "driver:2");
  EXPECT_TRUE(gone_.empty());
}

TEST(WorkerReaperTest, ReportsEachChildsExitWithHowItEnded) {
  AsioExecutor executor;
  std::mutex mutex;
  std::map<int, std::string> exits;
  WorkerReaper reaper(executor, [&](int pid, const std::string& description) {
    std::lock_guard<std::mutex> lock(mutex);
    exits[pid] = description;
  });
  const pid_t early = fork();
  if (early == 0) _exit(3);
  // Wait until the early child has ended, so its SIGCHLD came before the reaper was armed.
  for (int i = 0; i < 1000 && kill(early, 0) == 0; ++i) {
    siginfo_t info;
    if (waitid(P_PID, early, &info, WEXITED | WNOWAIT | WNOHANG) == 0 && info.si_pid == early) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  reaper.Start();
  executor.RunInThread();
  const pid_t late = fork();
  if (late == 0) {
    pause();
    _exit(0);
  }
  ASSERT_EQ(kill(late, SIGKILL), 0);
  bool both = false;
  for (int i = 0; i < 2000 && !both; ++i) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      both = exits.count(early) > 0 && exits.count(late) > 0;
    }
    if (!both) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  executor.Stop();
  ASSERT_TRUE(both) << "an exit was not reported";
  EXPECT_NE(exits[early].find("3"), std::string::npos) << exits[early];
  EXPECT_NE(exits[late].find("9"), std::string::npos) << exits[late];
}

}  // namespace
}  // namespace halo::node
