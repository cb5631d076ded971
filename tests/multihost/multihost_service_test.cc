// Services across hosts: tests/programs/test_service.cc deployed with `halo serve deploy` from the driver host
// onto the multi-host cluster (tests/multihost/multihost_cluster.h). Its executable reaches the node hosts
// through the GCS (no shared filesystem), its replicas run on node hosts only (they ask for the "beacon"
// resource), and every host's node agent serves the HTTP ingress on its own address, port 8000. Steady HTTP
// load from the driver host (tests/serve/http_load.h) goes through the ingresses while a replica's host is
// cut off from every other host, and while the leading head candidate is SIGKILLed; every request must be
// answered, and answered by the greeter. Runs in the multihost_tests binary (its main runs each test in a
// process of its own).
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "multihost/multihost_cluster.h"
#include "serve/http_load.h"

namespace halo::testing {
namespace {

constexpr char kService[] = "greeter";

class MultiHostService : public ::testing::Test {
 protected:
  virtual MultiHostCluster::Options ClusterOptions() const { return {}; }
  void SetUp() override {
    cluster_ = std::make_unique<MultiHostCluster>(ClusterOptions());
    cluster_->Start();
    cluster_->EnterDriverHost();  // before any thread: gRPC's and the load's run in the driver host
    flags_ = cluster_->dir() + "/flags";
    std::filesystem::create_directories(flags_);
  }

  // Two replicas, on node hosts only, deployed from the driver host; returns the CLI's exit code and words.
  CommandResult Deploy() {
    const std::string config = cluster_->dir() + "/service.yaml";
    std::ofstream(config) << "name: " << kService << "\n"
                          << "applications:\n"
                          << "  - name: hello\n"
                          << "    route_prefix: /hello\n"
                          << "    deployments:\n"
                          << "      - name: Greeter\n"
                          << "        factory: MakeGreeter\n"
                          << "        args: [\"hello\", \"" << flags_ << "\"]\n"
                          << "        num_replicas: 2\n"
                          << "        health_check_period_ms: 500\n"
                          << "        health_check_timeout_ms: 2000\n"
                          << "        resources: {CPU: 0.5, beacon: 0.1}\n";
    return cluster_->HaloIn(MultiHostCluster::kDriver,
                            {"serve", "deploy", HALO_TEST_SERVICE, "--config", config, "--address",
                             cluster_->GcsAddress(), "--timeout-s", "90"},
                            std::chrono::seconds(120));
  }
  rpc::DeploymentStatusInfo Deployment() {
    auto status = cluster_->Client()->GetServiceStatus(kService);
    if (!status.ok() || status->services_size() != 1 || status->services(0).deployments_size() != 1) return {};
    return status->services(0).deployments(0);
  }
  // The hosts the replicas run on, as the GCS lists them ("" for a node id no host has).
  std::multiset<std::string> ReplicaHosts() {
    std::multiset<std::string> hosts;
    const rpc::DeploymentStatusInfo deployment = Deployment();
    for (const auto& replica : deployment.replicas()) {
      std::string found;
      for (const auto& host : cluster_->node_hosts()) {
        if (cluster_->NodeId(host) == replica.node_id()) found = host;
      }
      hosts.insert(found);
    }
    return hosts;
  }
  // Two healthy replicas of the current version, none starting, none on `avoid`.
  bool WaitSettledAway(const std::string& avoid, std::chrono::seconds bound) {
    return WaitUntil(
        [&] {
          auto deployment = Deployment();
          if (deployment.healthy() != 2 || deployment.replicas_size() != 2 || deployment.starting() != 0) return false;
          auto hosts = ReplicaHosts();
          return hosts.count(avoid) == 0 && hosts.count("") == 0;
        },
        bound);
  }
  HttpEndpoint IngressOf(const std::string& host) const {
    return HttpEndpoint{cluster_->net().Address(host), MultiHostCluster::kHttpPort};
  }
  std::vector<HttpEndpoint> IngressesExcept(const std::string& skip) const {
    std::vector<HttpEndpoint> out;
    for (const auto& host : AllNodeHosts()) {
      if (host != skip) out.push_back(IngressOf(host));
    }
    return out;
  }
  // Every host that runs a node agent: the head and the node hosts.
  std::vector<std::string> AllNodeHosts() const {
    std::vector<std::string> hosts = {MultiHostCluster::kHead};
    hosts.insert(hosts.end(), cluster_->node_hosts().begin(), cluster_->node_hosts().end());
    return hosts;
  }
  static bool Greets(const std::string& body) { return body == "hello, ada"; }

  std::unique_ptr<MultiHostCluster> cluster_;
  std::string flags_;
};

// Deployed from the driver host, the replicas run on two node hosts with their hosts' addresses, and every
// host's ingress answers, most of them by forwarding across the bridge. Then one replica's host is cut off
// from every other host: the replica is replaced on a host that is reachable, and requests through the other
// hosts' ingresses are all answered by the greeter throughout (a request waiting on the cut-off replica is let
// go when the GCS stops listing it, and tried on the other); after the heal the deployment still has two
// replicas, none on the host that was cut off.
TEST_F(MultiHostService, ReplicasOnOtherHostsAnswerEveryIngressAndAPartitionedReplicaIsReplaced) {
  auto deployed = Deploy();
  ASSERT_EQ(deployed.exit_code, 0) << deployed.output;
  ASSERT_TRUE(WaitSettledAway("", std::chrono::seconds(30))) << Deployment().DebugString();
  const std::multiset<std::string> hosts = ReplicaHosts();
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_EQ(std::set<std::string>(hosts.begin(), hosts.end()).size(), 2u) << "the replicas were not spread";
  auto actors = cluster_->Client()->ListActors();
  ASSERT_TRUE(actors.ok()) << actors.status();
  int replicas = 0;
  for (const auto& actor : *actors) {
    if (actor.class_name().rfind("serve:greeter/", 0) != 0 || actor.state() != rpc::ACTOR_ALIVE) continue;
    replicas += 1;
    EXPECT_EQ(actor.address().find("127."), std::string::npos) << actor.address();
    EXPECT_TRUE(hosts.count(cluster_->HostOfAddress(actor.address())) > 0) << actor.address();
  }
  EXPECT_EQ(replicas, 2);
  for (const auto& host : AllNodeHosts()) {
    for (int i = 0; i < 5; ++i) {
      HttpAnswer answer = HttpGet(IngressOf(host), "/hello?name=ada");
      EXPECT_EQ(answer.status, 200) << "through " << host << ": " << answer.body;
      EXPECT_EQ(answer.body, "hello, ada") << "through " << host;
    }
  }

  const std::string cut = *hosts.begin();
  {
    HttpLoad load(IngressesExcept(cut), "/hello?name=ada", 6, Greets);
    ASSERT_TRUE(WaitUntil([&] { return load.Snapshot().ok >= 50; }, std::chrono::seconds(30)));
    cluster_->net().Isolate(cut);
    EXPECT_TRUE(WaitSettledAway(cut, std::chrono::seconds(30)))
        << "the cut-off replica was not replaced: " << Deployment().DebugString();
    const int64_t settled = load.Snapshot().total();
    EXPECT_TRUE(WaitUntil([&] { return load.Snapshot().total() >= settled + 100; }, std::chrono::seconds(30)));
    ExpectServedThrough(load.Stop(), "a replica's host cut off from every other host");
  }
  cluster_->net().HealAll();
  {
    HttpLoad load(IngressesExcept(cut), "/hello?name=ada", 4, Greets);
    EXPECT_TRUE(WaitUntil([&] { return load.Snapshot().total() >= 200; }, std::chrono::seconds(30)));
    ExpectServedThrough(load.Stop(), "after the heal");
  }
  EXPECT_EQ(ReplicaHosts().count(cut), 0u) << "a replica came back on the host that was cut off";
  EXPECT_EQ(Deployment().replicas_size(), 2) << Deployment().DebugString();
}

// Two head candidates (head, head2) on Redis on a host of its own: the leader SIGKILLed while HTTP load goes
// through every node agent's ingress. The ingresses keep serving from the routes they hold while no head
// leads, and the new leader serves the same routes: every request is answered by the greeter.
class MultiHostServiceHa : public MultiHostService {
 protected:
  MultiHostCluster::Options ClusterOptions() const override { return {3, /*ha=*/true}; }
};

TEST_F(MultiHostServiceHa, EveryRequestIsAnsweredWhileTheHeadFailsOver) {
  auto deployed = Deploy();
  ASSERT_EQ(deployed.exit_code, 0) << deployed.output;
  ASSERT_TRUE(WaitSettledAway("", std::chrono::seconds(30))) << Deployment().DebugString();
  // The head host's node agent stays: only its GCS (the leader) is killed.
  HttpLoad load(IngressesExcept(""), "/hello?name=ada", 8, Greets);
  ASSERT_TRUE(WaitUntil([&] { return load.Snapshot().ok >= 50; }, std::chrono::seconds(30)));
  auto leading = GcsClient(cluster_->CandidateAddress(MultiHostCluster::kHead), 2000).GetClusterInfo();
  ASSERT_TRUE(leading.ok() && leading->is_leader()) << "the head host's candidate does not lead";
  const pid_t leader = cluster_->GcsPid(MultiHostCluster::kHead);
  ASSERT_GT(leader, 0);
  ASSERT_EQ(kill(leader, SIGKILL), 0);
  EXPECT_TRUE(WaitUntil(
      [&] {
        GcsClient standby(cluster_->CandidateAddress(MultiHostCluster::kStandbyHead), 1000);
        auto info = standby.GetClusterInfo();
        return info.ok() && info->is_leader();
      },
      std::chrono::seconds(15)))
      << "the standby did not take over";
  const int64_t after = load.Snapshot().total();
  EXPECT_TRUE(WaitUntil([&] { return load.Snapshot().total() >= after + 200; }, std::chrono::seconds(30)));
  ExpectServedThrough(load.Stop(), "the leading head SIGKILLed");
  EXPECT_TRUE(WaitSettledAway("", std::chrono::seconds(30))) << "the new leader does not see two healthy replicas";
}

}  // namespace
}  // namespace halo::testing
