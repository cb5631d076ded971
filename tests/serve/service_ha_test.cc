// Services with head high availability: three head candidates (halo-gcs, head_mode ha) on a real Redis and
// two node agents, all on loopback; a service deployed through the candidate list. Under steady HTTP load
// through both ingresses, the leading candidate is SIGKILLed twice, or Redis itself is SIGKILLed and restarted
// in place: every request is still answered 200 (the ingresses keep their routes while no head serves, then
// resync), and the head that leads afterwards knows the service with all its replicas healthy.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "absl/strings/str_join.h"
#include "integration/candidate_fixture.h"
#include "integration/node_fixture.h"
#include "rpc/gcs_client.h"
#include "serve/http_load.h"
#include "support/test_env.h"

namespace halo::testing {
namespace {

class ServiceHaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      candidates_.push_back(std::make_unique<Candidate>(redis_, std::vector<std::string>{"--leader-lease-ms", "1000"}));
    }
    std::vector<std::string> addresses;
    for (const auto& c : candidates_) addresses.push_back(c->address());
    all_ = absl::StrJoin(addresses, ",");
    ASSERT_NE(Leader(std::chrono::seconds(20)), nullptr) << "no candidate leads";
    for (auto& node : nodes_) {
      auto joined = node.Start(all_, {"--num-cpus", "2"});
      ASSERT_EQ(joined.exit_code, 0) << joined.output;
    }
    const std::string config = dir_.path() + "/service.yaml";
    std::ofstream(config) << "name: greeter\napplications:\n  - name: hello\n    route_prefix: /hello\n"
                          << "    deployments:\n      - name: Greeter\n        factory: MakeGreeter\n"
                          << "        args: [\"hello\", \"" << dir_.path() << "\"]\n        num_replicas: 2\n"
                          << "        resources: {CPU: 0.5}\n";
    auto deployed = RunHalo({"serve", "deploy", HALO_TEST_SERVICE, "--config", config, "--address", all_,
                             "--timeout-s", "90"},
                            std::chrono::seconds(120));
    ASSERT_EQ(deployed.exit_code, 0) << deployed.output;
    for (auto& node : nodes_) {
      ports_.push_back(std::atoi(ReadTrimmedFile(node.session_dir() + "/node.http_port").c_str()));
    }
  }

  // The live candidate that leads, once one does within bound (nullptr if none).
  Candidate* Leader(std::chrono::seconds bound) {
    Candidate* leader = nullptr;
    WaitUntil([&] {
      for (const auto& c : candidates_) {
        if (ProcessAlive(c->pid()) && c->Leads()) leader = c.get();
      }
      return leader != nullptr;
    }, bound);
    return leader;
  }
  // Some head serves the service with both replicas healthy.
  bool ServiceHealthyWithin(std::chrono::seconds bound) {
    return WaitUntil([&] {
      GcsClient gcs(all_, 2000);
      auto status = gcs.GetServiceStatus("greeter");
      return status.ok() && status->services_size() == 1 && status->services(0).deployments(0).healthy() == 2;
    }, bound);
  }
  static bool Greets(const std::string& body) { return body == "hello, ada"; }
  void TearDown() override {
    if (!HasFailure()) return;
    for (auto& node : nodes_) std::cout << "--- node agent " << node.id() << ":\n" << node.Log() << std::endl;
  }

  RedisServer redis_;
  std::vector<std::unique_ptr<Candidate>> candidates_;
  std::string all_;
  Node nodes_[2];
  TempDir dir_;
  std::vector<int> ports_;
};

TEST_F(ServiceHaTest, RequestsAreAnsweredWhileTheLeadingHeadIsSigkilledTwice) {
  HttpLoad load(ports_, "/hello?name=ada", 4, Greets);
  ASSERT_TRUE(WaitUntil([&] { return load.Snapshot().ok > 200; }, std::chrono::seconds(20))) << load.Snapshot().Describe();
  for (int kill_round = 0; kill_round < 2; ++kill_round) {
    Candidate* leader = Leader(std::chrono::seconds(20));
    ASSERT_NE(leader, nullptr);
    ASSERT_EQ(kill(leader->pid(), SIGKILL), 0);
    ASSERT_TRUE(WaitForProcessExit(leader->pid(), 10000));
    // A standby leads and knows the service with its replicas healthy.
    ASSERT_TRUE(ServiceHealthyWithin(std::chrono::seconds(30))) << "no new leader served the service after kill " << kill_round;
    const int64_t served = load.Snapshot().ok;
    ASSERT_TRUE(WaitUntil([&] { return load.Snapshot().ok > served + 200; }, std::chrono::seconds(20)));
  }
  ExpectServedThrough(load.Stop(), "HA leader SIGKILLed twice");
}

TEST_F(ServiceHaTest, RequestsAreAnsweredWhileRedisIsSigkilledAndRestarted) {
  HttpLoad load(ports_, "/hello?name=ada", 4, Greets);
  ASSERT_TRUE(WaitUntil([&] { return load.Snapshot().ok > 200; }, std::chrono::seconds(20))) << load.Snapshot().Describe();
  Candidate* leader = Leader(std::chrono::seconds(20));
  ASSERT_NE(leader, nullptr);
  redis_.Kill();
  // Without storage no head can renew or take the lease: the leader steps down and exits; no head serves.
  // The ingresses serve on.
  EXPECT_TRUE(WaitForProcessExit(leader->pid(), 20000)) << leader->Output();
  const int64_t before_outage = load.Snapshot().ok;
  ASSERT_TRUE(WaitUntil([&] { return load.Snapshot().ok > before_outage + 200; }, std::chrono::seconds(20)))
      << "requests stopped while Redis was down: " << load.Snapshot().Describe();
  redis_.Start();
  // Some candidate leads again (the old leader if it kept its lease, else another) and serves the service.
  ASSERT_NE(Leader(std::chrono::seconds(60)), nullptr) << "no candidate leads after Redis came back";
  ASSERT_TRUE(ServiceHealthyWithin(std::chrono::seconds(30))) << "no head served the service after Redis came back";
  const int64_t served = load.Snapshot().ok;
  ASSERT_TRUE(WaitUntil([&] { return load.Snapshot().ok > served + 200; }, std::chrono::seconds(20)));
  ExpectServedThrough(load.Stop(), "Redis SIGKILLed and restarted");
}

}  // namespace
}  // namespace halo::testing
