// The election lease and the fence on a real redis-server: one holder at a time, epochs that only grow,
// renewals only by the holder, and writes of a deposed epoch refused by the server.
#include <gtest/gtest.h>

#include <future>
#include <memory>

#include "common/asio_executor.h"
#include "storage/redis_leader_lease.h"
#include "storage/redis_store.h"
#include "storage/store_factory.h"
#include "support/test_env.h"

namespace halo {
namespace {

using testing::RedisServer;

class RedisLeaderLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    executor_.RunInThread();
    auto uri = ParseStorageUri(redis_.Uri());
    ASSERT_TRUE(uri.ok());
    connection_ = RedisConnection::Create(executor_.io_context(), RedisOptionsFromSettings(Settings{}, *uri));
    std::promise<Status> started;
    executor_.Post([&] { connection_->Start([&](Status status) { started.set_value(status); }); });
    ASSERT_TRUE(started.get_future().get().ok());
    lease_ = std::make_unique<RedisLeaderLease>(connection_, "ha");
  }
  void TearDown() override {
    std::promise<void> closed;
    executor_.Post([&] {
      connection_->Close();
      closed.set_value();
    });
    closed.get_future().wait();
    executor_.Stop();
  }

  // Runs op(callback) on the connection's thread and waits for its result.
  template <typename T, typename Op>
  T Await(Op op) {
    std::promise<T> result;
    executor_.Post([&] { op([&](T value) { result.set_value(std::move(value)); }); });
    return result.get_future().get();
  }
  StatusOr<std::optional<int64_t>> Acquire(const std::string& holder, int64_t lease_ms) {
    return Await<StatusOr<std::optional<int64_t>>>(
        [&](auto done) { lease_->TryAcquire(holder, holder + ":7001", lease_ms, done); });
  }
  StatusOr<bool> Renew(const std::string& holder, int64_t lease_ms) {
    return Await<StatusOr<bool>>([&](auto done) { lease_->Renew(holder, lease_ms, done); });
  }
  StatusOr<std::optional<LeaderRecord>> Read() {
    return Await<StatusOr<std::optional<LeaderRecord>>>([&](auto done) { lease_->Read(done); });
  }
  StatusOr<bool> FencedPut(RedisStore& store, const std::string& key, const std::string& value) {
    return Await<StatusOr<bool>>([&](auto done) { store.AsyncPut("KV", key, value, true, done); });
  }

  RedisServer redis_;
  AsioExecutor executor_;
  std::shared_ptr<RedisConnection> connection_;
  std::unique_ptr<RedisLeaderLease> lease_;
};

TEST_F(RedisLeaderLeaseTest, OneHolderAtATimeAndEpochsOnlyGrow) {
  auto a = Acquire("a", 60000);
  ASSERT_TRUE(a.ok() && a->has_value()) << a.status();
  EXPECT_EQ(**a, 1);
  auto b = Acquire("b", 60000);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value()) << "a second holder took a held lease";
  auto again = Acquire("a", 60000);  // a re-sent acquisition by the holder
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ(**again, 1);
  auto record = Read();
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->holder, "a");
  EXPECT_EQ((*record)->address, "a:7001");
  EXPECT_EQ((*record)->epoch, 1);
  EXPECT_TRUE(*Renew("a", 60000));
  EXPECT_FALSE(*Renew("b", 60000)) << "only the holder renews";
  ASSERT_TRUE(Await<Status>([&](auto done) { lease_->Release("a", done); }).ok());
  auto taken = Acquire("b", 60000);
  ASSERT_TRUE(taken.ok() && taken->has_value());
  EXPECT_EQ(**taken, 2);
  EXPECT_EQ(redis_.Cli({"GET", RedisEpochKey("ha")}), "2");
}

TEST_F(RedisLeaderLeaseTest, ALapsedLeaseGoesToAStandbyAndTheOldEpochsWritesAreRefused) {
  auto a = Acquire("a", 300);
  ASSERT_TRUE(a.ok() && a->has_value());
  RedisStore old_leader(connection_, "ha");
  executor_.Post([&] { old_leader.SetFence(RedisEpochKey("ha"), **a); });
  auto written = FencedPut(old_leader, "k", "from-a");
  ASSERT_TRUE(written.ok()) << written.status();

  // a stops renewing (paused, cut off); Redis lets the lease lapse and b takes it.
  std::optional<int64_t> b;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        auto taken = Acquire("b", 60000);
        if (taken.ok() && taken->has_value()) b = **taken;
        return b.has_value();
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(*b, 2);
  EXPECT_FALSE(*Renew("a", 300)) << "the deposed holder renewed";

  auto stale = FencedPut(old_leader, "k", "stale");
  ASSERT_FALSE(stale.ok()) << "a deposed leader's write was applied";
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsFenced(stale.status())) << stale.status();
  EXPECT_NE(stale.status().message().find("epoch 1 are refused: the current epoch is 2"), std::string::npos)
      << stale.status();
  EXPECT_EQ(redis_.Cli({"HGET", RedisTableKey("ha", "KV"), "k"}), "from-a");

  RedisStore new_leader(connection_, "ha");
  executor_.Post([&] { new_leader.SetFence(RedisEpochKey("ha"), *b); });
  ASSERT_TRUE(FencedPut(new_leader, "k", "from-b").ok());
  EXPECT_EQ(redis_.Cli({"HGET", RedisTableKey("ha", "KV"), "k"}), "from-b");
  // Deletes are fenced too.
  auto stale_delete = Await<StatusOr<bool>>([&](auto done) { old_leader.AsyncDelete("KV", "k", done); });
  EXPECT_EQ(stale_delete.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsFenced(stale_delete.status()));
  EXPECT_EQ(redis_.Cli({"HGET", RedisTableKey("ha", "KV"), "k"}), "from-b");
}

}  // namespace
}  // namespace halo
