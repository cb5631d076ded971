// Head candidates in head_mode 'ha' on a real redis-server: halo-gcs processes started directly (each its own
// port and session), one leads and serves, the others stand by and send callers to the leader. The leader
// SIGKILLed: a standby takes over with everything that was acknowledged. The leader paused past its lease: a
// standby takes over, and the old one, resumed, steps down without applying anything. Candidates started by
// `halo start --head --ha` are supervised: a killed one comes back as a standby.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/process.h"
#include "integration/candidate_fixture.h"
#include "integration/head_fixture.h"
#include "integration/node_fixture.h"
#include "rpc/gcs_client.h"
#include "serve/http_load.h"
#include "support/test_env.h"
#include "rpc/cluster_channel.h"

namespace halo::testing {
namespace {

TEST(HeadHaTest, StandbyTakesOverFromAKilledLeaderWithEverythingAcknowledged) {
  RedisServer redis;
  auto a = std::make_unique<Candidate>(redis);
  ASSERT_TRUE(a->WaitLeading(std::chrono::seconds(20))) << a->Output();
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
  ASSERT_TRUE(b.WaitStandingBy(std::chrono::seconds(20))) << b.Output();
  EXPECT_FALSE(b.WaitLeading(std::chrono::milliseconds(1500))) << "a standby led while the leader lives";

  const std::string a_address = a->address();
  ASSERT_EQ(kill(a->pid(), SIGKILL), 0);
  ASSERT_TRUE(WaitForProcessExit(a->pid(), 5000));
  ASSERT_TRUE(b.WaitLeading(std::chrono::seconds(20))) << b.Output();
  auto next = b.Info();
  EXPECT_TRUE(next->is_leader());
  EXPECT_EQ(next->epoch(), 2);
  GcsClient through_b(b.address(), 5000);
  for (int i = 0; i < 20; ++i) {
    auto value = through_b.KvGet("ha", "k" + std::to_string(i));
    ASSERT_TRUE(value.ok() && value->has_value()) << "acknowledged write k" << i << " lost: " << value.status();
  }
  // The event log tells the story: a elected (epoch 1), then b's record of a deposed and of itself elected,
  // with how long it took from finding no leader to serving.
  auto events = RunHalo({"events", "--json", "--kind", "head", "--address", b.address()});
  ASSERT_EQ(events.exit_code, 0) << events.output;
  std::vector<nlohmann::json> head_events;
  std::istringstream lines(events.output);
  for (std::string line; std::getline(lines, line);) head_events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(head_events.size(), 3u) << events.output;
  EXPECT_EQ(head_events[0]["kind"], "head_elected");
  EXPECT_EQ(head_events[0]["epoch"], 1);
  EXPECT_EQ(head_events[0]["reporter"], a_address);
  EXPECT_EQ(head_events[1]["kind"], "head_deposed");
  EXPECT_EQ(head_events[1]["epoch"], 1);
  EXPECT_NE(head_events[1]["message"].get<std::string>().find(a_address), std::string::npos) << events.output;
  EXPECT_EQ(head_events[2]["kind"], "head_elected");
  EXPECT_EQ(head_events[2]["epoch"], 2);
  EXPECT_EQ(head_events[2]["reporter"], b.address());
  EXPECT_GT(head_events[2]["duration_ms"].get<int64_t>(), 0) << events.output;
  // halo status over both candidates: a is gone, b leads.
  auto summary = RunHalo({"status", "--json", "--address", a_address + "," + b.address(), "--rpc-timeout-ms", "1000"});
  ASSERT_EQ(summary.exit_code, 0) << summary.output;
  auto json = nlohmann::json::parse(summary.output);
  EXPECT_EQ(json["leader"]["address"], b.address()) << summary.output;
  EXPECT_EQ(json["leader"]["epoch"], 2);
  ASSERT_EQ(json["candidates"].size(), 2u);
  EXPECT_EQ(json["candidates"][0]["reachable"], false) << summary.output;
}

TEST(HeadHaTest, PausedLeaderIsReplacedAndStepsDownWithoutApplyingAnything) {
  RedisServer redis;
  Candidate a(redis);
  ASSERT_TRUE(a.WaitLeading(std::chrono::seconds(20))) << a.Output();
  Candidate b(redis);
  ASSERT_TRUE(b.WaitStandingBy(std::chrono::seconds(20))) << b.Output();
  ASSERT_TRUE(PauseProcess(a.pid()));  // only now is a write sent to it "paused"
  // A write sent to the paused leader waits in its socket.
  auto stale = std::async(std::launch::async, [&] { return GcsClient(a.address(), 20000).KvPut("ha", "late", "x"); });
  ASSERT_TRUE(b.WaitLeading(std::chrono::seconds(20))) << b.Output();
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
  ASSERT_TRUE(a->WaitLeading(std::chrono::seconds(20))) << a->Output();
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

TEST(HeadHaTest, StandbyAnswersWhoLeadsAndSendsCallersThere) {
  RedisServer redis;
  Candidate a(redis);
  ASSERT_TRUE(a.WaitLeading(std::chrono::seconds(20))) << a.Output();
  Candidate b(redis, {"--dashboard-port", "-1"});
  ASSERT_TRUE(b.WaitUntilKnowsLeader(a.address(), std::chrono::seconds(20))) << b.Output();
  // The standby's dashboard says who leads and serves no cluster data of its own.
  const int dashboard = std::atoi(ReadTrimmedFile(b.session_dir() + "/gcs.dashboard_port").c_str());
  ASSERT_GT(dashboard, 0);
  auto cluster = HttpGet(HttpEndpoint{"127.0.0.1", dashboard}, "/api/cluster", 5);
  ASSERT_EQ(cluster.status, 200) << cluster.body;
  auto cluster_json = nlohmann::json::parse(cluster.body);
  EXPECT_EQ(cluster_json["is_leader"], false);
  EXPECT_EQ(cluster_json["leader_address"], a.address());
  auto nodes = HttpGet(HttpEndpoint{"127.0.0.1", dashboard}, "/api/nodes", 5);
  EXPECT_EQ(nodes.status, 503);
  EXPECT_NE(nodes.body.find(a.address()), std::string::npos) << nodes.body;
  auto standby = b.Info();
  EXPECT_FALSE(standby->is_leader());
  EXPECT_EQ(standby->epoch(), 1);
  auto status = RunHalo({"status", "--address", b.address(), "--json"});
  EXPECT_NE(status.output.find("\"is_leader\": false"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("\"leader_address\": \"" + a.address() + "\""), std::string::npos) << status.output;
  // A raw call to the standby is refused, unapplied, naming the leader.
  auto channel = rpc::NewClusterChannel(b.address());
  auto stub = rpc::KvService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  rpc::KvPutRequest request;
  request.set_namespace_("ha");
  request.set_key("raw");
  request.set_value("v");
  rpc::KvPutReply reply;
  grpc::Status refused = stub->Put(&context, request, &reply);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(refused.error_message().find(a.address()), std::string::npos) << refused.error_message();
  // A client that knows only the standby follows it to the leader; the CLI too.
  GcsClient only_b(b.address(), 5000);
  ASSERT_TRUE(only_b.KvPut("ha", "through-standby", "v").ok());
  auto value = GcsClient(a.address(), 5000).KvGet("ha", "through-standby");
  ASSERT_TRUE(value.ok() && value->has_value());
  auto raw = GcsClient(a.address(), 5000).KvGet("ha", "raw");
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->has_value()) << "the standby applied a write";
  auto listed = RunHalo({"kv", "get", "--address", b.address(), "--namespace", "ha", "through-standby"});
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
}

TEST(HeadHaTest, CandidatesStartedByTheCliAreSupervisedAndAKilledOneRejoinsAsStandby) {
  RedisServer redis;
  const std::vector<std::string> ha = {"--ha", "--storage", redis.Uri(), "--num-cpus", "1"};
  Head first(ha), second(ha);
  first.UseDefaultSupervision();
  second.UseDefaultSupervision();
  auto started = first.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  EXPECT_NE(started.output.find("it leads (epoch 1)"), std::string::npos) << started.output;
  started = second.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  EXPECT_NE(started.output.find("standby; the leader is at " + first.address()), std::string::npos)
      << started.output;
  // Both head machines' node agents joined the one cluster (the standby's through its redirect).
  GcsClient both(first.address() + "," + second.address(), 5000);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto nodes = both.GetAllNodes();
        return nodes.ok() && nodes->size() == 2 && (*nodes)[0].state() == rpc::ALIVE &&
               (*nodes)[1].state() == rpc::ALIVE;
      },
      std::chrono::seconds(20)));
  ASSERT_TRUE(both.KvPut("ha", "k", "v").ok());

  // The leading GCS process (the supervisor's child) is killed: someone leads at epoch 2, and the killed
  // candidate is back, as leader or standby, with a new process.
  auto first_info = GcsClient(first.address(), 5000).GetClusterInfo();
  ASSERT_TRUE(first_info.ok()) << first_info.status();
  const int32_t killed = first_info->pid();
  ASSERT_GT(killed, 0);
  ASSERT_EQ(kill(killed, SIGKILL), 0);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto one = GcsClient(first.address(), 500).GetClusterInfo();
        auto two = GcsClient(second.address(), 500).GetClusterInfo();
        return one.ok() && two.ok() && one->pid() != killed && (one->is_leader() != two->is_leader()) &&
               std::max(one->epoch(), two->epoch()) == 2;
      },
      std::chrono::seconds(30)))
      << first.GcsOutput() << second.GcsOutput();
  auto value = both.KvGet("ha", "k");
  ASSERT_TRUE(value.ok() && value->has_value()) << value.status();
  EXPECT_EQ(first.Stop().exit_code, 0);
  EXPECT_EQ(second.Stop().exit_code, 0);
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
