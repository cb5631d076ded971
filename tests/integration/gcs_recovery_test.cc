// A real GCS process, killed with SIGKILL and started again on the same storage, serves every acknowledged
// write, the same job counter and the same cluster id. Embedded (RocksDB) and Redis.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "head_fixture.h"

namespace halo::testing {
namespace {

constexpr int kEntries = 1000;
constexpr int kWriterThreads = 4;

void WriteEntries(GcsClient& client) {
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < kWriterThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = t; i < kEntries; i += kWriterThreads) {
        auto added = client.KvPut("recovery", "key" + std::to_string(i), "value" + std::to_string(i));
        if (!added.ok() || !*added) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(failures.load(), 0);
}

void CheckKillAndRecover(std::vector<std::string> storage_args) {
  Head head(storage_args);
  auto started = head.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  auto client = head.Client();
  auto before = client->GetClusterInfo();
  ASSERT_TRUE(before.ok()) << before.status();
  WriteEntries(*client);
  std::vector<uint32_t> job_ids;
  for (int i = 0; i < 5; ++i) {
    auto job = client->AddJob("driver-" + std::to_string(i), 1000 + i, "");
    ASSERT_TRUE(job.ok()) << job.status();
    job_ids.push_back(job->job_id());
  }
  ASSERT_TRUE(client->MarkJobFinished(job_ids[1]).ok());
  ASSERT_TRUE(client->KvDel("recovery", "key7").ok());
  const pid_t old_pid = head.GcsPid();

  ASSERT_TRUE(head.KillGcs(SIGKILL));
  auto restarted = head.Start();
  ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
  ASSERT_NE(head.GcsPid(), old_pid);

  client = head.Client();
  auto after = client->GetClusterInfo();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->cluster_id(), before->cluster_id());
  auto keys = client->KvKeys("recovery", "key");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), static_cast<size_t>(kEntries - 1));
  for (int i = 0; i < kEntries; ++i) {
    auto value = client->KvGet("recovery", "key" + std::to_string(i));
    ASSERT_TRUE(value.ok()) << value.status();
    if (i == 7) {
      EXPECT_FALSE(value->has_value());
    } else {
      ASSERT_TRUE(value->has_value()) << "lost key" << i;
      EXPECT_EQ(**value, "value" + std::to_string(i));
    }
  }
  auto jobs = client->GetAllJobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 5u);
  EXPECT_TRUE((*jobs)[1].is_finished());
  EXPECT_FALSE((*jobs)[0].is_finished());
  auto next = client->AddJob("after-restart", 1, "");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->job_id(), job_ids.back() + 1);
  EXPECT_EQ(head.Stop().exit_code, 0);
}

// Kill -9 while writes are in flight: every write the GCS acknowledged is there after the restart.
void CheckKillDuringWrites(std::vector<std::string> storage_args) {
  Head head(storage_args);
  ASSERT_EQ(head.Start().exit_code, 0);
  const std::string address = head.address();
  std::mutex mutex;
  std::vector<int> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriterThreads; ++t) {
    writers.emplace_back([&, t] {
      GcsClient client(address, 5000);
      for (int i = t; i < 1'000'000 && !stop.load(); i += kWriterThreads) {
        if (!client.KvPut("inflight", "key" + std::to_string(i), "value" + std::to_string(i)).ok()) return;
        std::lock_guard<std::mutex> lock(mutex);
        acknowledged.push_back(i);
      }
    });
  }
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mutex);
        return acknowledged.size() >= 300;
      },
      std::chrono::seconds(30)));
  ASSERT_TRUE(head.KillGcs(SIGKILL));  // the writers are mid-call
  stop = true;
  for (auto& w : writers) w.join();
  auto restarted = head.Start();
  ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
  auto client = head.Client();
  auto keys = client->KvKeys("inflight", "key");
  ASSERT_TRUE(keys.ok());
  std::set<std::string> present(keys->begin(), keys->end());
  for (int i : acknowledged) {
    ASSERT_TRUE(present.count("key" + std::to_string(i))) << "acknowledged key" << i << " lost";
  }
  auto sample = client->KvGet("inflight", "key" + std::to_string(acknowledged.back()));
  ASSERT_TRUE(sample.ok() && sample->has_value());
  EXPECT_EQ(**sample, "value" + std::to_string(acknowledged.back()));
}

TEST(GcsRecoveryTest, EmbeddedLosesNoAcknowledgedWriteWhenKilledMidStream) { CheckKillDuringWrites({}); }

TEST(GcsRecoveryTest, RedisLosesNoAcknowledgedWriteWhenKilledMidStream) {
  RedisServer redis;
  CheckKillDuringWrites({"--storage", redis.Uri()});
}

TEST(GcsRecoveryTest, EmbeddedStorageKeepsEveryAcknowledgedWriteAcrossKill9) {
  CheckKillAndRecover({});
}

TEST(GcsRecoveryTest, RedisStorageKeepsEveryAcknowledgedWriteAcrossKill9) {
  RedisServer redis;
  CheckKillAndRecover({"--storage", redis.Uri(), "--storage-namespace", "recovery"});
}

TEST(GcsRecoveryTest, TlsRedisStorageServes) {
  RedisServer redis(RedisServerOptions{.tls = true});
  Head head({"--storage", redis.Uri(), "--redis-ca-cert", redis.tls_files().ca_cert});
  auto started = head.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  auto client = head.Client();
  ASSERT_TRUE(client->KvPut("ns", "k", "v").ok());
  EXPECT_EQ(redis.Cli({"HGET", "HALOdefault@KV", "2:nsk"}), "v");
  auto info = client->GetClusterInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->storage_kind(), "rediss");
}

TEST(GcsRecoveryTest, MemoryStorageStartsEmptyWithANewClusterId) {
  Head head({"--storage", "memory"});
  ASSERT_EQ(head.Start().exit_code, 0);
  auto client = head.Client();
  auto first = client->GetClusterInfo();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(client->KvPut("ns", "k", "v").ok());
  ASSERT_TRUE(head.KillGcs());
  ASSERT_EQ(head.Start().exit_code, 0);
  client = head.Client();
  auto second = client->GetClusterInfo();
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->cluster_id(), first->cluster_id());
  auto value = client->KvGet("ns", "k");
  ASSERT_TRUE(value.ok());
  EXPECT_FALSE(value->has_value());
}

TEST(GcsRecoveryTest, GracefulStopAlsoKeepsState) {
  Head head;
  ASSERT_EQ(head.Start().exit_code, 0);
  ASSERT_TRUE(head.Client()->KvPut("ns", "k", "v").ok());
  auto stopped = head.Stop();
  ASSERT_EQ(stopped.exit_code, 0) << stopped.output;
  EXPECT_NE(stopped.output.find("Stopped halo-gcs"), std::string::npos) << stopped.output;
  ASSERT_EQ(head.Start().exit_code, 0);
  auto value = head.Client()->KvGet("ns", "k");
  ASSERT_TRUE(value.ok() && value->has_value());
  EXPECT_EQ(**value, "v");
}

}  // namespace
}  // namespace halo::testing
