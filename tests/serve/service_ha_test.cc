// Services with head high availability: three head candidates (halo-gcs, head_mode ha) on a real Redis and
// two node agents, all on loopback; a service deployed through the candidate list. The leading candidate is
// SIGKILLed twice under steady HTTP load through both ingresses: every request is still answered 200 (the
// ingresses keep their routes while a standby takes over, then resync to it), and the new leader knows the
// service with all its replicas healthy.
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

TEST(ServiceHaTest, RequestsAreAnsweredWhileTheLeadingHeadIsSigkilledTwice) {
  RedisServer redis;
  std::vector<std::unique_ptr<Candidate>> candidates;
  for (int i = 0; i < 3; ++i) {
    candidates.push_back(std::make_unique<Candidate>(redis, std::vector<std::string>{"--leader-lease-ms", "1000"}));
  }
  std::vector<std::string> addresses;
  for (const auto& c : candidates) addresses.push_back(c->address());
  const std::string all = absl::StrJoin(addresses, ",");
  ASSERT_TRUE(WaitUntil([&] {
    for (const auto& c : candidates) {
      if (c->Leads()) return true;
    }
    return false;
  }, std::chrono::seconds(20)));
  Node nodes[2];
  for (auto& node : nodes) {
    auto joined = node.Start(all, {"--num-cpus", "2"});
    ASSERT_EQ(joined.exit_code, 0) << joined.output;
  }
  TempDir dir;
  const std::string config = dir.path() + "/service.yaml";
  std::ofstream(config) << "name: greeter\napplications:\n  - name: hello\n    route_prefix: /hello\n"
                        << "    deployments:\n      - name: Greeter\n        factory: MakeGreeter\n"
                        << "        args: [\"hello\", \"" << dir.path() << "\"]\n        num_replicas: 2\n"
                        << "        resources: {CPU: 0.5}\n";
  auto deployed = RunHalo({"serve", "deploy", HALO_TEST_SERVICE, "--config", config, "--address", all,
                           "--timeout-s", "90"},
                          std::chrono::seconds(120));
  ASSERT_EQ(deployed.exit_code, 0) << deployed.output;
  std::vector<int> ports;
  for (auto& node : nodes) ports.push_back(std::atoi(ReadTrimmedFile(node.session_dir() + "/node.http_port").c_str()));
  HttpLoad load(ports, "/hello?name=ada", 4, [](const std::string& body) { return body == "hello, ada"; });
  ASSERT_TRUE(WaitUntil([&] { return load.Snapshot().ok > 200; }, std::chrono::seconds(20))) << load.Snapshot().Describe();
  for (int kill_round = 0; kill_round < 2; ++kill_round) {
    Candidate* leader = nullptr;
    ASSERT_TRUE(WaitUntil([&] {
      for (const auto& c : candidates) {
        if (ProcessAlive(c->pid()) && c->Leads()) leader = c.get();
      }
      return leader != nullptr;
    }, std::chrono::seconds(20)));
    ASSERT_EQ(kill(leader->pid(), SIGKILL), 0);
    ASSERT_TRUE(WaitForProcessExit(leader->pid(), 10000));
    // A standby leads and knows the service with its replicas healthy.
    ASSERT_TRUE(WaitUntil([&] {
      GcsClient gcs(all, 2000);
      auto status = gcs.GetServiceStatus("greeter");
      return status.ok() && status->services_size() == 1 && status->services(0).deployments(0).healthy() == 2;
    }, std::chrono::seconds(30)))
        << "no new leader served the service after kill " << kill_round;
    const int64_t served = load.Snapshot().ok;
    ASSERT_TRUE(WaitUntil([&] { return load.Snapshot().ok > served + 200; }, std::chrono::seconds(20)));
  }
  ExpectServedThrough(load.Stop(), "HA leader SIGKILLed twice");
}

}  // namespace
}  // namespace halo::testing
