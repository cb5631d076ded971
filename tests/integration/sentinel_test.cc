// The GCS on Redis Sentinel storage, with real processes on loopback: a primary, two replicas and three
// sentinels. The primary is SIGKILLed under a stream of KV writes: the GCS follows the failover and keeps serving,
// and with storage_replicas_ack 1 every write it acknowledged is on the new primary. Head candidates elect and
// fence through it. A wrong master name and an unreachable sentinel list are refused at start in one line.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/process.h"
#include "head_fixture.h"
#include "support/redis_sentinel.h"

namespace halo::testing {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Lines that report an error (`halo start` may also say on stderr what it is waiting for).
int ErrorLines(const std::string& output) {
  int lines = 0;
  for (size_t at = output.find("error"); at != std::string::npos; at = output.find("error", at + 1)) {
    if (output.compare(at > 6 ? at - 6 : 0, 6, "halo: ") == 0) ++lines;
  }
  return lines;
}

// How many of keys (KV keys of namespace ns) the Redis server on port holds, asked of Redis itself: the GCS
// answers reads from memory, which a lost write would not leave.
size_t StoredKvKeys(const RedisSentinelGroup& redis, int port, const std::string& ns,
                    const std::vector<std::string>& keys) {
  size_t present = 0;
  for (size_t start = 0; start < keys.size(); start += 200) {
    std::vector<std::string> args = {"HMGET", "HALOdefault@KV"};
    for (size_t i = start; i < keys.size() && i < start + 200; ++i) {
      args.push_back(absl::StrCat(ns.size(), ":", ns, keys[i]));
    }
    for (const auto& line : absl::StrSplit(redis.Cli(port, args), '\n')) {
      if (!line.empty()) ++present;
    }
  }
  return present;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Writes key0, key1, ... through the GCS until stopped; remembers which writes were acknowledged and when.
class KvWriter {
 public:
  explicit KvWriter(std::string address) : address_(std::move(address)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~KvWriter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t acknowledged() const { return acknowledged_.load(); }
  // Acknowledged keys and the time of each acknowledgement (after Stop).
  const std::vector<std::pair<std::string, int64_t>>& acks() const { return acks_; }
  int64_t failures() const { return failures_.load(); }

 private:
  void Run() {
    GcsClient client(address_, 5000);
    for (int64_t i = 0; !stop_ && i < 1000000; ++i) {
      const std::string key = absl::StrCat("key", i);
      auto put = client.KvPut("sentinel", key, absl::StrCat("value", i), true);
      if (put.ok()) {
        acks_.emplace_back(key, NowMs());
        acknowledged_.fetch_add(1);
      } else {
        failures_.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pace retries of a failed write
      }
    }
  }
  std::string address_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> acknowledged_{0};
  std::atomic<int64_t> failures_{0};
  std::vector<std::pair<std::string, int64_t>> acks_;
  std::thread thread_;
};

TEST(SentinelTest, GcsFollowsAFailoverAndLosesNoAcknowledgedWrite) {
  RedisSentinelGroup redis;
  Head head({"--storage", redis.Uri(), "--storage-replicas-ack", "1"});
  auto started = head.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  const pid_t gcs = head.GcsPid();
  const int old_primary = redis.PrimaryPort();
  ASSERT_NE(old_primary, 0);

  KvWriter writer(head.address());
  ASSERT_TRUE(WaitUntil([&] { return writer.acknowledged() >= 200; }, std::chrono::seconds(30)));
  const int64_t killed_ms = NowMs();
  redis.KillServer(old_primary);
  const int64_t acked_at_kill = writer.acknowledged();
  // A driver starts while storage fails over: its job is registered and its task runs once it is back.
  TempDir dir;
  SpawnOptions spawn;
  spawn.argv = {BinDir() + "/../tests/test_driver", "--address", head.address(), "--shutdown"};
  spawn.output_path = dir.path() + "/driver.out";
  auto driver = Spawn(spawn);
  ASSERT_TRUE(driver.ok());
  ASSERT_TRUE(redis.WaitForFailover(old_primary, std::chrono::seconds(30))) << "the sentinels did not fail over";
  // The GCS keeps serving: writes are acknowledged again after the failover.
  ASSERT_TRUE(WaitUntil([&] { return writer.acknowledged() >= acked_at_kill + 200; }, std::chrono::seconds(30)))
      << "no writes acknowledged after the failover; GCS log:\n"
      << head.GcsOutput();
  writer.Stop();
  EXPECT_TRUE(WaitForProcessExit(*driver, 60000));
  EXPECT_TRUE(Contains(ReadTrimmedFile(spawn.output_path), "ready 42")) << ReadTrimmedFile(spawn.output_path);
  int64_t first_after_ms = 0;
  for (const auto& [key, at] : writer.acks()) {
    if (at > killed_ms) {
      first_after_ms = at;
      break;
    }
  }
  std::cout << "first write acknowledged " << first_after_ms - killed_ms << " ms after the primary's SIGKILL ("
            << writer.failures() << " writes failed meanwhile)" << std::endl;
  EXPECT_EQ(head.GcsPid(), gcs) << "the GCS restarted instead of following the failover";
  EXPECT_TRUE(ProcessAlive(gcs));

  // Every acknowledged write is on the new primary, in Redis itself.
  const int new_primary = redis.PrimaryPort();
  ASSERT_NE(new_primary, old_primary);
  std::vector<std::string> keys;
  for (const auto& [key, at] : writer.acks()) keys.push_back(key);
  EXPECT_EQ(StoredKvKeys(redis, new_primary, "sentinel", keys), keys.size()) << "acknowledged writes missing";
}

TEST(SentinelTest, AWriteNoReplicaConfirmsIsReportedFailedNotAcknowledged) {
  RedisSentinelGroup redis;
  Head head({"--storage", redis.Uri(), "--storage-replicas-ack", "1", "--storage-replicas-ack-timeout-ms", "300"});
  ASSERT_EQ(head.Start().exit_code, 0);
  auto client = head.Client();
  ASSERT_TRUE(client->KvPut("ack", "replicated", "1", true).ok());
  // Every replica gone: the primary still takes writes, but none can be confirmed.
  const int primary = redis.PrimaryPort();
  std::vector<int> replicas;
  for (const auto& line : absl::StrSplit(redis.Cli(primary, {"INFO", "replication"}), '\n')) {
    auto at = std::string(line).find("port=");
    if (std::string(line).rfind("slave", 0) == 0 && at != std::string::npos) {
      replicas.push_back(std::atoi(std::string(line).c_str() + at + 5));
    }
  }
  ASSERT_EQ(replicas.size(), 2u);
  for (int port : replicas) redis.KillServer(port);
  auto put = client->KvPut("ack", "unconfirmed", "1", true);
  ASSERT_FALSE(put.ok()) << "a write no replica had was acknowledged";
  EXPECT_TRUE(Contains(std::string(put.status().message()), "of the 1 replicas")) << put.status().message();
  // A replica back: writes are confirmed and acknowledged again.
  redis.RestartServer(replicas[0]);
  redis.Cli(replicas[0], {"REPLICAOF", "127.0.0.1", std::to_string(primary)});
  EXPECT_TRUE(WaitUntil([&] { return client->KvPut("ack", "again", "1", true).ok(); }, std::chrono::seconds(30)))
      << head.GcsOutput();
}

TEST(SentinelTest, AnIdleGcsMovesAsSoonAsTheSentinelsAnnounceANewPrimary) {
  RedisSentinelGroup redis;
  Head head({"--storage", redis.Uri()});
  ASSERT_EQ(head.Start().exit_code, 0);
  auto client = head.Client();
  ASSERT_TRUE(client->KvPut("switch", "before", "1", true).ok());
  const int old_primary = redis.PrimaryPort();
  ASSERT_TRUE(Contains(redis.Cli(old_primary, {"CLIENT", "LIST"}), "name=halo"));
  // A failover while the old primary stays up (demoted to a replica): no write of ours tells the GCS; the
  // sentinels' +switch-master notice does.
  EXPECT_EQ(redis.Cli(redis.sentinel_ports()[0], {"SENTINEL", "FAILOVER", redis.master_name()}), "OK");
  ASSERT_TRUE(redis.WaitForFailover(old_primary, std::chrono::seconds(30)));
  const int new_primary = redis.PrimaryPort();
  // Within moments: Sentinel itself would close the old primary's clients only many seconds later.
  const bool moved = WaitUntil([&] { return Contains(redis.Cli(new_primary, {"CLIENT", "LIST"}), "name=halo"); },
                               std::chrono::seconds(5));
  auto log = ReadFileToString(head.session_dir() + "/logs/gcs.log");
  EXPECT_TRUE(moved) << (log.ok() ? *log : "");
  EXPECT_TRUE(log.ok() && Contains(*log, "the sentinels switched the primary of 'halo'")) << head.GcsOutput();
  EXPECT_FALSE(Contains(redis.Cli(old_primary, {"CLIENT", "LIST"}), "name=halo"));
  ASSERT_TRUE(client->KvPut("switch", "after", "1", true).ok());
}

TEST(SentinelTest, HeadCandidatesElectAndFenceThroughSentinelStorage) {
  RedisSentinelGroup redis;
  const std::vector<std::string> args = {"--storage", redis.Uri(), "--storage-replicas-ack", "1", "--ha"};
  Head a(args), b(args), c(args);
  ASSERT_EQ(a.Start().exit_code, 0);
  ASSERT_EQ(b.Start().exit_code, 0);
  ASSERT_EQ(c.Start().exit_code, 0);
  auto leader_of = [&](std::vector<Head*> heads) -> std::pair<Head*, int64_t> {
    Head* leader = nullptr;
    int64_t epoch = 0;
    int leaders = 0;
    for (Head* h : heads) {
      auto info = h->Client(2000)->GetClusterInfo();
      if (info.ok() && info->is_leader()) {
        ++leaders;
        leader = h;
        epoch = info->epoch();
      }
    }
    EXPECT_LE(leaders, 1) << "two candidates lead at once";
    return {leaders == 1 ? leader : nullptr, epoch};
  };
  auto [first, first_epoch] = leader_of({&a, &b, &c});
  ASSERT_NE(first, nullptr);
  ASSERT_GE(first_epoch, 1);
  const std::string list = absl::StrCat(a.address(), ",", b.address(), ",", c.address());
  KvWriter writer(list);
  ASSERT_TRUE(WaitUntil([&] { return writer.acknowledged() >= 100; }, std::chrono::seconds(30)));

  // The primary dies while a candidate leads; the sentinels promote a replica.
  const int old_primary = redis.PrimaryPort();
  redis.KillServer(old_primary);
  const int64_t acked_at_kill = writer.acknowledged();
  ASSERT_TRUE(redis.WaitForFailover(old_primary, std::chrono::seconds(30)));
  ASSERT_TRUE(WaitUntil([&] { return writer.acknowledged() >= acked_at_kill + 100; }, std::chrono::seconds(60)))
      << "no writes acknowledged after the failover";
  writer.Stop();

  // One leader; its epoch is no older than the first one's, and the epoch counter never went back: the
  // counter on the promoted replica is at least every epoch a leader used.
  std::vector<Head*> alive;
  for (Head* h : {&a, &b, &c}) {
    if (ProcessAlive(h->GcsPid())) alive.push_back(h);
  }
  Head* now = nullptr;
  int64_t now_epoch = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::tie(now, now_epoch) = leader_of(alive);
        return now != nullptr;
      },
      std::chrono::seconds(30)));
  EXPECT_GE(now_epoch, first_epoch);
  const int new_primary = redis.PrimaryPort();
  const int64_t counter = std::atoll(redis.Cli(new_primary, {"GET", "HALOdefault@EPOCH"}).c_str());
  EXPECT_GE(counter, now_epoch);
  if (now != first) {
    EXPECT_GT(now_epoch, first_epoch) << "a new leader reused its predecessor's epoch";
  }

  std::vector<std::string> keys;
  for (const auto& [key, at] : writer.acks()) keys.push_back(key);
  EXPECT_EQ(StoredKvKeys(redis, new_primary, "sentinel", keys), keys.size()) << "acknowledged writes missing";
}

TEST(SentinelTest, QuorumLostTheGcsWaitsAndResumes) {
  RedisSentinelGroup redis;
  Head head({"--storage", redis.Uri(), "--storage-unavailable-timeout-ms", "60000"});
  ASSERT_EQ(head.Start().exit_code, 0);
  const pid_t gcs = head.GcsPid();
  auto client = head.Client();
  ASSERT_TRUE(client->KvPut("q", "before", "1", true).ok());
  // Two of three sentinels gone: no failover can be agreed. Then the primary dies for a while.
  redis.KillSentinel(0);
  redis.KillSentinel(1);
  const int primary = redis.PrimaryPort();
  ASSERT_NE(primary, 0);
  redis.KillServer(primary);
  auto during = client->KvPut("q", "during", "1", true);  // waits for storage, bounded by the call's deadline
  // The GCS waits (it does not exit), and resumes once the primary is back.
  redis.RestartServer(primary);
  ASSERT_TRUE(WaitUntil([&] { return client->KvPut("q", "after", "1", true).ok(); }, std::chrono::seconds(30)))
      << head.GcsOutput();
  EXPECT_EQ(head.GcsPid(), gcs);
  auto before = client->KvGet("q", "before");
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->has_value());
  if (during.ok()) {
    auto value = client->KvGet("q", "during");
    ASSERT_TRUE(value.ok());
    EXPECT_TRUE(value->has_value()) << "an acknowledged write was lost";
  }
}

TEST(SentinelTest, WrongMasterNameAndUnreachableSentinelsAreRefusedAtStart) {
  RedisSentinelGroup redis(/*replicas=*/1, /*sentinels=*/1);
  TempDir dir;
  const std::string list = absl::StrCat("127.0.0.1:", redis.sentinel_ports()[0]);
  auto wrong_name = RunHalo({"start", "--head", "--session-dir", dir.path() + "/a", "--port", "0", "--storage",
                             "redis+sentinel://" + list + "/nosuchmaster", "--gcs-restarts-max", "0"});
  EXPECT_EQ(wrong_name.exit_code, 1) << wrong_name.output;
  EXPECT_TRUE(Contains(wrong_name.output, "monitor no master named 'nosuchmaster'")) << wrong_name.output;
  EXPECT_EQ(ErrorLines(wrong_name.output), 1) << wrong_name.output;

  const std::string nobody = absl::StrCat("127.0.0.1:", FreePort(), ",127.0.0.1:", FreePort());
  auto unreachable = RunHalo({"start", "--head", "--session-dir", dir.path() + "/b", "--port", "0", "--storage",
                              "redis+sentinel://" + nobody + "/halo", "--gcs-restarts-max", "0",
                              "--storage-unavailable-timeout-ms", "2000"});
  EXPECT_EQ(unreachable.exit_code, 1) << unreachable.output;
  EXPECT_TRUE(Contains(unreachable.output, "no sentinel answered")) << unreachable.output;
  EXPECT_EQ(ErrorLines(unreachable.output), 1) << unreachable.output;

  auto malformed = RunHalo({"start", "--head", "--session-dir", dir.path() + "/c", "--port", "0", "--storage",
                            "redis+sentinel://" + list});
  EXPECT_EQ(malformed.exit_code, 1) << malformed.output;
  EXPECT_TRUE(Contains(malformed.output, "ends with /MASTERNAME")) << malformed.output;
}

}  // namespace
}  // namespace halo::testing
