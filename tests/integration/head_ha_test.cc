// Head candidates in head_mode 'ha' on a real redis-server: halo-gcs processes started directly (each its own
// port and session), one leads and serves, the others stand by without serving. The leader SIGKILLed: a
// standby takes over with everything that was acknowledged. The leader paused past its lease: a standby takes
// over, and the old one, resumed, steps down without applying anything.
#include <gtest/gtest.h>

#include <signal.h>

#include <future>
#include <memory>

#include "common/process.h"
#include "integration/node_fixture.h"
#include "rpc/gcs_client.h"
#include "support/test_env.h"

namespace halo::testing {
namespace {

class Candidate {
 public:
  explicit Candidate(const RedisServer& redis) : port_(FreePort()) {
    SpawnOptions spawn;
    spawn.argv = {BinDir() + "/halo-gcs", "--storage", redis.Uri(), "--head-mode", "ha", "--port",
                  std::to_string(port_), "--session-dir", dir_.path()};
    spawn.output_path = dir_.path() + "/gcs.out";
    spawn.die_with_parent = true;
    auto pid = Spawn(spawn);
    EXPECT_TRUE(pid.ok()) << pid.status();
    pid_ = pid.ok() ? *pid : -1;
  }
  ~Candidate() {
    if (pid_ > 0 && ProcessAlive(pid_)) {
      kill(pid_, SIGCONT);
      kill(pid_, SIGKILL);
      WaitForProcessExit(pid_, 5000);
    }
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  std::optional<rpc::GetClusterInfoReply> Info() const {
    auto info = GcsClient(address(), 500).GetClusterInfo();
    return info.ok() ? std::optional<rpc::GetClusterInfoReply>(*info) : std::nullopt;
  }
  bool WaitServing(std::chrono::milliseconds timeout) const {
    return WaitUntil([&] { return Info().has_value(); }, timeout);
  }
  std::string Output() const {
    auto text = ReadFileToString(dir_.path() + "/gcs.out");
    return text.ok() ? *text : "";
  }

 private:
  TempDir dir_;
  int port_;
  pid_t pid_ = -1;
};

TEST(HeadHaTest, StandbyTakesOverFromAKilledLeaderWithEverythingAcknowledged) {
  RedisServer redis;
  auto a = std::make_unique<Candidate>(redis);
  ASSERT_TRUE(a->WaitServing(std::chrono::seconds(20))) << a->Output();
  auto leader = a->Info();
  EXPECT_TRUE(leader->is_leader());
  EXPECT_EQ(leader->epoch(), 1);
  auto status = RunHalo({"status", "--address", a->address(), "--json"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("\"is_leader\": true"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("\"epoch\": 1"), std::string::npos) << status.output;
  GcsClient through_a(a->address(), 5000);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(through_a.KvPut("ha", "k" + std::to_string(i), "v").ok());

  Candidate b(redis);
  EXPECT_FALSE(b.WaitServing(std::chrono::milliseconds(1500))) << "a standby served while the leader lives";

  ASSERT_EQ(kill(a->pid(), SIGKILL), 0);
  ASSERT_TRUE(WaitForProcessExit(a->pid(), 5000));
  ASSERT_TRUE(b.WaitServing(std::chrono::seconds(20))) << b.Output();
  auto next = b.Info();
  EXPECT_TRUE(next->is_leader());
  EXPECT_EQ(next->epoch(), 2);
  GcsClient through_b(b.address(), 5000);
  for (int i = 0; i < 20; ++i) {
    auto value = through_b.KvGet("ha", "k" + std::to_string(i));
    ASSERT_TRUE(value.ok() && value->has_value()) << "acknowledged write k" << i << " lost: " << value.status();
  }
}

TEST(HeadHaTest, PausedLeaderIsReplacedAndStepsDownWithoutApplyingAnything) {
  RedisServer redis;
  Candidate a(redis);
  ASSERT_TRUE(a.WaitServing(std::chrono::seconds(20))) << a.Output();
  Candidate b(redis);
  ASSERT_EQ(kill(a.pid(), SIGSTOP), 0);
  // A write sent to the paused leader waits in its socket.
  auto stale = std::async(std::launch::async, [&] { return GcsClient(a.address(), 20000).KvPut("ha", "late", "x"); });
  ASSERT_TRUE(b.WaitServing(std::chrono::seconds(20))) << b.Output();
  EXPECT_EQ(b.Info()->epoch(), 2);
  ASSERT_EQ(kill(a.pid(), SIGCONT), 0);
  // Resumed, the old leader finds its lease gone and stops; the write it was holding is not applied.
  EXPECT_TRUE(WaitForProcessExit(a.pid(), 20000)) << a.Output();
  EXPECT_NE(a.Output().find("no longer the leader"), std::string::npos) << a.Output();
  auto written = stale.get();
  EXPECT_FALSE(written.ok()) << "the deposed leader acknowledged a write";
  auto value = GcsClient(b.address(), 5000).KvGet("ha", "late");
  ASSERT_TRUE(value.ok());
  EXPECT_FALSE(value->has_value()) << "the deposed leader's write reached storage";
}

TEST(HeadHaTest, NodeAgentsAndClientsGivenTheCandidatesFollowTheNewLeader) {
  RedisServer redis;
  auto a = std::make_unique<Candidate>(redis);
  ASSERT_TRUE(a->WaitServing(std::chrono::seconds(20))) << a->Output();
  Candidate b(redis);
  const std::string candidates = a->address() + "," + b.address();
  Node node;
  auto joined = node.Start(candidates, {"--num-cpus", "1"});
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  GcsClient client(candidates, 5000);
  ASSERT_TRUE(client.KvPut("ha", "before", "v").ok());

  ASSERT_EQ(kill(a->pid(), SIGKILL), 0);
  ASSERT_TRUE(WaitForProcessExit(a->pid(), 5000));
  // The same client and the node agent find the new leader through the list.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto nodes = client.GetAllNodes();
        if (!nodes.ok()) return false;
        for (const auto& n : *nodes) {
          if (n.node_id() == node.id() && n.state() == rpc::ALIVE) return true;
        }
        return false;
      },
      std::chrono::seconds(30)))
      << node.Log();
  auto info = client.GetClusterInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->address(), b.address());
  EXPECT_EQ(info->epoch(), 2);
  auto before = client.KvGet("ha", "before");
  ASSERT_TRUE(before.ok() && before->has_value());
  EXPECT_TRUE(client.KvPut("ha", "after", "v").ok());
}

TEST(HeadHaTest, HaNeedsRedisStorage) {
  TempDir dir;
  auto result = RunCommand({BinDir() + "/halo-gcs", "--head-mode", "ha", "--port", "0", "--session-dir", dir.path()},
                           std::chrono::seconds(30));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("head_mode 'ha' needs Redis storage"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace halo::testing
