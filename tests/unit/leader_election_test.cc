// LeaderElection on a fake executor and an in-memory lease whose expiry follows the fake clock (optionally
// running faster than the candidates' clocks), whose replies can be delayed, and which can be unreachable.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gcs/leader_election.h"
#include "support/fake_executor.h"

namespace halo::gcs {
namespace {

using testing::FakeExecutor;

// The storage side: one lease key and an epoch counter, as Redis keeps them.
class MemoryLease : public LeaderLease {
 public:
  explicit MemoryLease(FakeExecutor& executor) : executor_(executor) {}

  void TryAcquire(const std::string& holder, const std::string& address, int64_t lease_ms,
                  std::function<void(StatusOr<std::optional<int64_t>>)> done) override {
    Answer([this, holder, address, lease_ms, done = std::move(done)]() mutable {
      if (!reachable) return done(UnavailableError("storage unreachable"));
      Expire();
      if (record_ && record_->holder != holder) return done(std::optional<int64_t>());
      if (!record_) record_ = LeaderRecord{holder, address, ++epoch_counter};
      expires_ms_ = StorageNow() + lease_ms;
      done(std::optional<int64_t>(record_->epoch));
    });
  }
  void Renew(const std::string& holder, int64_t lease_ms, std::function<void(StatusOr<bool>)> done) override {
    Answer([this, holder, lease_ms, done = std::move(done)]() mutable {
      if (!reachable) return done(UnavailableError("storage unreachable"));
      Expire();
      if (!record_ || record_->holder != holder) return done(false);
      expires_ms_ = StorageNow() + lease_ms;
      done(true);
    });
  }
  void Release(const std::string& holder, std::function<void(Status)> done) override {
    Answer([this, holder, done = std::move(done)]() mutable {
      if (record_ && record_->holder == holder) record_.reset();
      done(OkStatus());
    });
  }
  void Read(std::function<void(StatusOr<std::optional<LeaderRecord>>)> done) override {
    Answer([this, done = std::move(done)]() mutable {
      Expire();
      done(record_);
    });
  }

  // Who holds the lease now, by storage's clock.
  std::optional<std::string> Holder() {
    Expire();
    return record_ ? std::optional<std::string>(record_->holder) : std::nullopt;
  }

  bool reachable = true;
  int64_t reply_delay_ms = 1;
  double storage_clock_rate = 1.0;  // > 1: storage's clock runs faster than the candidates'
  int64_t epoch_counter = 0;

 private:
  int64_t StorageNow() const { return static_cast<int64_t>(executor_.MonotonicMs() * storage_clock_rate); }
  void Expire() {
    if (record_ && StorageNow() >= expires_ms_) record_.reset();
  }
  void Answer(std::function<void()> fn) { executor_.RunAfter(reply_delay_ms, std::move(fn)); }

  FakeExecutor& executor_;
  std::optional<LeaderRecord> record_;
  int64_t expires_ms_ = 0;
};

struct Candidate {
  Candidate(FakeExecutor& executor, MemoryLease& lease, const std::string& name)
      : election(executor, executor, lease, name, name + ":7001", LeaderElectionSettings{1000, 250, 100}) {
    election.SetListeners([this](int64_t epoch) { elected.push_back(epoch); },
                          [this](const std::string& why) { deposed.push_back(why); });
  }
  LeaderElection election;
  std::vector<int64_t> elected;
  std::vector<std::string> deposed;
};

TEST(LeaderElectionTest, OneOfThreeCandidatesLeadsAndKeepsItsLease) {
  FakeExecutor executor;
  MemoryLease lease(executor);
  Candidate a(executor, lease, "a"), b(executor, lease, "b"), c(executor, lease, "c");
  a.election.Start();
  executor.AdvanceMs(10);
  b.election.Start();
  c.election.Start();
  executor.AdvanceMs(10000);  // 40 renewal periods
  EXPECT_TRUE(a.election.leader());
  EXPECT_EQ(a.elected, std::vector<int64_t>{1});
  EXPECT_TRUE(a.deposed.empty());
  EXPECT_FALSE(b.election.leader());
  EXPECT_FALSE(c.election.leader());
  ASSERT_TRUE(b.election.known_leader().has_value());
  EXPECT_EQ(b.election.known_leader()->address, "a:7001");  // where a standby redirects callers
  EXPECT_EQ(lease.Holder(), "a");
}

TEST(LeaderElectionTest, LeaderCutOffFromStorageStepsDownBeforeItsLeaseLapses) {
  FakeExecutor executor;
  MemoryLease lease(executor);
  Candidate a(executor, lease, "a");
  a.election.Start();
  executor.AdvanceMs(100);
  ASSERT_TRUE(a.election.leader());
  lease.reachable = false;
  // Step by step: the leader must have stepped down while storage still shows its lease.
  bool stepped_down_while_held = false;
  for (int i = 0; i < 3000 && a.election.leader(); ++i) {
    executor.AdvanceMs(1);
    if (!a.election.leader()) stepped_down_while_held = lease.Holder() == "a";
  }
  EXPECT_FALSE(a.election.leader());
  EXPECT_TRUE(stepped_down_while_held) << "the old leader was still leading after storage let its lease go";
  ASSERT_EQ(a.deposed.size(), 1u);
  EXPECT_NE(a.deposed[0].find("not renewed in time"), std::string::npos) << a.deposed[0];
}

TEST(LeaderElectionTest, StandbyTakesOverWithAHigherEpochAfterTheLeaderIsGone) {
  FakeExecutor executor;
  MemoryLease lease(executor);
  auto a = std::make_unique<Candidate>(executor, lease, "a");
  Candidate b(executor, lease, "b");
  a->election.Start();
  executor.AdvanceMs(50);
  b.election.Start();
  executor.AdvanceMs(1000);
  ASSERT_TRUE(a->election.leader());
  const int64_t killed_at = executor.MonotonicMs();
  a.reset();  // the leader's process dies: nobody renews
  for (int i = 0; i < 5000 && !b.election.leader(); ++i) executor.AdvanceMs(1);
  ASSERT_TRUE(b.election.leader());
  EXPECT_EQ(b.elected, std::vector<int64_t>{2});
  // Within the lease plus one retry interval (and the replies' delays).
  EXPECT_LE(executor.MonotonicMs() - killed_at, 1000 + 100 + 10);
}

TEST(LeaderElectionTest, AResignedLeaderHandsOverAtOnce) {
  FakeExecutor executor;
  MemoryLease lease(executor);
  Candidate a(executor, lease, "a"), b(executor, lease, "b");
  a.election.Start();
  executor.AdvanceMs(20);
  b.election.Start();
  executor.AdvanceMs(500);
  ASSERT_TRUE(a.election.leader());
  bool released = false;
  a.election.Resign([&] { released = true; });
  EXPECT_FALSE(a.election.leader());
  const int64_t resigned_at = executor.MonotonicMs();
  for (int i = 0; i < 2000 && !b.election.leader(); ++i) executor.AdvanceMs(1);
  EXPECT_TRUE(released);
  ASSERT_TRUE(b.election.leader());
  EXPECT_LE(executor.MonotonicMs() - resigned_at, 150) << "the standby waited for the lease to lapse";
  executor.AdvanceMs(5000);
  EXPECT_FALSE(a.election.leader()) << "a resigned candidate must not compete again";
}

TEST(LeaderElectionTest, NeverTwoLeadersWhenStoragesClockRunsFasterAndRepliesAreSlow) {
  FakeExecutor executor;
  MemoryLease lease(executor);
  lease.storage_clock_rate = 1.08;  // storage's lease lapses 8 % sooner than the candidates measure
  lease.reply_delay_ms = 40;
  Candidate a(executor, lease, "a"), b(executor, lease, "b"), c(executor, lease, "c");
  a.election.Start();
  b.election.Start();
  c.election.Start();
  int64_t leaders_max = 0;
  for (int step = 0; step < 20000; ++step) {
    // Storage drops out for a while every few seconds, so leadership changes hands.
    lease.reachable = (step / 700) % 4 != 3;
    executor.AdvanceMs(1);
    const int64_t leaders = a.election.leader() + b.election.leader() + c.election.leader();
    leaders_max = std::max(leaders_max, leaders);
    // A candidate that believes it leads must hold the lease by storage's clock.
    for (Candidate* candidate : {&a, &b, &c}) {
      if (candidate->election.leader()) {
        ASSERT_EQ(lease.Holder(), candidate->election.known_leader()->holder) << "at step " << step;
      }
    }
  }
  EXPECT_EQ(leaders_max, 1);
  EXPECT_GE(lease.epoch_counter, 3) << "leadership should have changed hands several times";
}

}  // namespace
}  // namespace halo::gcs
