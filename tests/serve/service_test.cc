// Services end to end on a real cluster on loopback: a supervised head (with its node agent) and two more node
// agents, each with its HTTP ingress on a port of its own; tests/programs/test_service.cc deployed with
// `halo serve deploy`. Each failure scenario runs under a steady stream of HTTP GETs (tests/serve/http_load.h)
// and counts every outcome: at least 99.9 % succeed and every failure got an HTTP status (none went unanswered).
// The suite shares one cluster; its tests run in order, the drain and the node agent's death last.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "integration/head_fixture.h"
#include "integration/node_fixture.h"
#include "rpc/gcs_client.h"
#include "serve/http_load.h"
#include "support/test_env.h"

namespace halo::testing {
namespace {

constexpr char kService[] = "greeter";

class ServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A short downscale delay so the autoscaling test sees a deployment scale down within its bound.
    head_ = new Head({"--num-cpus", "4", "--serve-downscale-delay-ms", "3000", "--node-metrics-port", "-1"});
    head_->UseDefaultSupervision();
    auto started = head_->Start();
    ASSERT_EQ(started.exit_code, 0) << started.output;
    for (int i = 0; i < 2; ++i) {
      nodes_[i] = new Node();
      auto joined = nodes_[i]->Start(head_->address(), {"--num-cpus", "2"});
      ASSERT_EQ(joined.exit_code, 0) << joined.output;
    }
    flags_ = new TempDir();
    config_dir_ = new TempDir();
  }
  static void TearDownTestSuite() {
    for (auto*& node : nodes_) {
      delete node;
      node = nullptr;
    }
    delete head_;
    delete flags_;
    delete config_dir_;
    head_ = nullptr;
  }

  static int HttpPort(const std::string& session_dir) {
    const std::string port = ReadTrimmedFile(session_dir + "/node.http_port");
    return port.empty() ? -1 : std::atoi(port.c_str());
  }
  static std::vector<int> AllPorts() {
    std::vector<int> ports = {HttpPort(head_->session_dir())};
    for (auto* node : nodes_) {
      if (node != nullptr && ProcessAlive(node->pid())) ports.push_back(HttpPort(node->session_dir()));
    }
    return ports;
  }

  // A service.yaml with the given greeting and replicas, written to a file of its own.
  static std::string Config(const std::string& greeting, int replicas, const std::string& prefix = "/hello",
                            const std::string& name = kService, const std::string& factory = "MakeGreeter") {
    const std::string path = config_dir_->path() + "/" + name + "-" + greeting + ".yaml";
    std::ofstream out(path);
    out << "name: " << name << "\n"
        << "applications:\n"
        << "  - name: hello\n"
        << "    route_prefix: " << prefix << "\n"
        << "    deployments:\n"
        << "      - name: Greeter\n"
        << "        factory: " << factory << "\n"
        << "        args: [\"" << greeting << "\", \"" << flags_->path() << "\"]\n"
        << "        num_replicas: " << replicas << "\n"
        << "        health_check_period_ms: 500\n"
        << "        health_check_timeout_ms: 2000\n"
        << "        resources: {CPU: 0.5}\n";
    return path;
  }
  static CommandResult Deploy(const std::string& config) {
    return RunHalo({"serve", "deploy", HALO_TEST_SERVICE, "--config", config, "--address", head_->address(),
                    "--timeout-s", "90"},
                   std::chrono::seconds(120));
  }
  static rpc::DeploymentStatusInfo Deployment() {
    GcsClient gcs(head_->address(), 5000);
    auto status = gcs.GetServiceStatus(kService);
    if (!status.ok() || status->services_size() != 1 || status->services(0).deployments_size() != 1) return {};
    return status->services(0).deployments(0);
  }
  // Waits until the deployment has `replicas` healthy replicas (and no others) again.
  static bool WaitSettled(int replicas, std::chrono::seconds bound = std::chrono::seconds(60)) {
    return WaitUntil(
        [&] {
          auto deployment = Deployment();
          return deployment.healthy() == replicas && deployment.replicas_size() == replicas &&
                 deployment.starting() == 0;
        },
        bound);
  }
  // The live replicas' actors as the directory lists them.
  static std::vector<rpc::ActorInfo> Replicas() {
    GcsClient gcs(head_->address(), 5000);
    std::vector<rpc::ActorInfo> out;
    auto actors = gcs.ListActors();
    if (!actors.ok()) return out;
    for (const auto& actor : *actors) {
      if (actor.class_name().rfind("serve:greeter/", 0) == 0 && actor.state() == rpc::ACTOR_ALIVE) out.push_back(actor);
    }
    return out;
  }
  // The pid of the process serving the GCS, or -1 while none answers.
  static pid_t ServingGcsPid() {
    auto info = head_->Client(2000)->GetClusterInfo();
    return info.ok() ? info->pid() : -1;
  }
  static bool Greets(const std::string& body) { return body.rfind("hello, ", 0) == 0; }

  static Head* head_;
  static Node* nodes_[2];
  static TempDir* flags_;
  static TempDir* config_dir_;
};
Head* ServiceTest::head_ = nullptr;
Node* ServiceTest::nodes_[2] = {nullptr, nullptr};
TempDir* ServiceTest::flags_ = nullptr;
TempDir* ServiceTest::config_dir_ = nullptr;

TEST_F(ServiceTest, A_DeployReturnsWhenHealthyAndEveryIngressAnswers) {
  auto deployed = Deploy(Config("hello", 3));
  ASSERT_EQ(deployed.exit_code, 0) << deployed.output;
  EXPECT_NE(deployed.output.find("version 1 is serving: Greeter 3/3 healthy"), std::string::npos) << deployed.output;
  auto deployment = Deployment();
  EXPECT_EQ(deployment.target(), 3);
  EXPECT_EQ(deployment.healthy(), 3);
  EXPECT_GE(deployment.nodes_size(), 2) << "replicas are spread over the nodes";
  const std::vector<int> ports = AllPorts();
  ASSERT_EQ(ports.size(), 3u);
  for (int port : ports) {
    ASSERT_GT(port, 0);
    // An ingress learns the routes by its poll: allow it a moment.
    ASSERT_TRUE(WaitUntil(
        [&] {
          HttpLoad one(std::vector<int>{port}, "/hello?name=ada", 1, [](const std::string& body) { return body == "hello, ada"; });
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          return one.Stop().ok > 0;
        },
        std::chrono::seconds(20)))
        << "the ingress on port " << port << " never greeted";
  }
  auto status = RunHalo({"serve", "status", "--address", head_->address()});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("Greeter"), std::string::npos) << status.output;
  // A response far above object_inline_max_bytes comes back whole.
  const size_t big = 3 * 1024 * 1024 + 7;
  HttpAnswer answer = HttpGet(HttpEndpoint{"127.0.0.1", ports[0]}, "/hello/big?bytes=" + std::to_string(big));
  ASSERT_EQ(answer.status, 200) << answer.body.substr(0, 300);
  ASSERT_EQ(answer.body.size(), big);
  EXPECT_EQ(answer.body.substr(0, 12), "012345678901");
  EXPECT_EQ(answer.body.back(), static_cast<char>('0' + (big - 1) % 10));
  // The head node's ingress counted what it answered, by deployment and status, and timed it.
  const int metrics_port = std::atoi(ReadTrimmedFile(head_->session_dir() + "/node.metrics_port").c_str());
  ASSERT_GT(metrics_port, 0);
  HttpAnswer page = HttpGet(HttpEndpoint{"127.0.0.1", metrics_port}, "/metrics");
  ASSERT_EQ(page.status, 200);
  double answered_ok = 0;
  std::istringstream lines(page.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("halo_serve_requests_total{code=\"200\",deployment=\"Greeter\"}", 0) == 0) {
      answered_ok = std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  EXPECT_GE(answered_ok, 1.0) << page.body.substr(0, 4000);
  EXPECT_NE(page.body.find("halo_serve_request_duration_seconds_count{deployment=\"Greeter\"}"), std::string::npos);
}

TEST_F(ServiceTest, B_ConfigErrorsAreRefusedWithOneLineAndChangeNothing) {
  const int64_t before = [] {
    GcsClient gcs(head_->address(), 5000);
    auto status = gcs.GetServiceStatus(kService);
    return status.ok() && status->services_size() == 1 ? status->services(0).version() : -1;
  }();
  ASSERT_EQ(before, 1);
  auto unknown = Deploy(Config("hello", 3, "/hello", kService, "MakeNobody"));
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("defines no deployment factory 'MakeNobody'"), std::string::npos) << unknown.output;
  auto taken = Deploy(Config("hello", 1, "/hello", "other"));
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_NE(taken.output.find("route prefix '/hello' is already served by service 'greeter'"), std::string::npos)
      << taken.output;
  const std::string bad_key = config_dir_->path() + "/bad.yaml";
  std::ofstream(bad_key) << "name: greeter\nreplicas: 3\napplications: []\n";
  auto unknown_key = Deploy(bad_key);
  EXPECT_NE(unknown_key.exit_code, 0);
  EXPECT_NE(unknown_key.output.find("replicas"), std::string::npos) << unknown_key.output;
  for (const auto* result : {&unknown, &taken, &unknown_key}) {
    EXPECT_EQ(std::count(result->output.begin(), result->output.end(), '\n'), 1) << result->output;
  }
  GcsClient gcs(head_->address(), 5000);
  auto status = gcs.GetServiceStatus("");
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->services_size(), 1) << "a refused deploy made a service";
  EXPECT_EQ(status->services(0).version(), before);
}

TEST_F(ServiceTest, C_ServesThroughAReplicaSigkilled) {
  ASSERT_TRUE(WaitSettled(3));
  HttpLoad load(AllPorts(), "/hello?name=ada", 4, Greets);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto replicas = Replicas();
  ASSERT_FALSE(replicas.empty());
  ASSERT_EQ(kill(replicas[0].pid(), SIGKILL), 0);
  ASSERT_TRUE(WaitForProcessExit(replicas[0].pid(), 10000));
  ASSERT_TRUE(WaitUntil([&] { return load.Snapshot().total() > 300; }, std::chrono::seconds(30)));
  EXPECT_TRUE(WaitSettled(3)) << "the killed replica was not restarted";
  ExpectServedThrough(load.Stop(), "replica SIGKILLed");
}

TEST_F(ServiceTest, D_ServesWhileTheGcsIsFrozenForTenSecondsAndThroughItsSigkill) {
  ASSERT_TRUE(WaitSettled(3));
  HttpLoad load(AllPorts(), "/hello?name=ada", 4, Greets);
  const pid_t gcs = ServingGcsPid();  // not the supervisor in gcs.pid
  ASSERT_GT(gcs, 0);
  ASSERT_TRUE(PauseProcess(gcs));
  std::this_thread::sleep_for(std::chrono::seconds(10));  // the outage itself: its length is the scenario
  ASSERT_EQ(kill(gcs, SIGCONT), 0);
  const LoadCounts frozen = load.Snapshot();
  EXPECT_EQ(frozen.ok, frozen.total()) << "a 10 s GCS outage failed requests: " << frozen.Describe();
  // The supervisor restarts a killed GCS; the ingresses keep serving meanwhile and resync after.
  ASSERT_EQ(kill(gcs, SIGKILL), 0);
  ASSERT_TRUE(WaitForProcessExit(gcs, 10000));
  ASSERT_TRUE(WaitUntil(
      [&] {
        const pid_t serving = ServingGcsPid();
        return serving > 0 && serving != gcs && Deployment().healthy() == 3;
      },
      std::chrono::seconds(60)))
      << "the GCS did not come back with the service";
  const int64_t served = load.Snapshot().ok;
  ASSERT_TRUE(WaitUntil([&] { return load.Snapshot().ok > served + 100; }, std::chrono::seconds(30)));
  const LoadCounts counts = load.Stop();
  std::cout << "  GCS frozen 10 s, then SIGKILLed: " << counts.Describe() << std::endl;
  EXPECT_EQ(counts.ok, counts.total()) << "GCS outages failed requests: " << counts.Describe();
}

TEST_F(ServiceTest, E_AReplicaFailingItsHealthCheckIsReplaced) {
  ASSERT_TRUE(WaitSettled(3));
  const int64_t replaced_before = Deployment().replaced();
  HttpLoad load(AllPorts(), "/hello?name=ada", 4, Greets);
  auto replicas = Replicas();
  ASSERT_FALSE(replicas.empty());
  const std::string victim = replicas[0].actor_id();
  std::ofstream(flags_->path() + "/" + std::to_string(replicas[0].pid())) << "sick\n";
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto now = Replicas();
        return std::none_of(now.begin(), now.end(), [&](const rpc::ActorInfo& a) { return a.actor_id() == victim; });
      },
      std::chrono::seconds(30)))
      << "the unhealthy replica was never stopped";
  EXPECT_TRUE(WaitSettled(3));
  EXPECT_GT(Deployment().replaced(), replaced_before);
  ExpectServedThrough(load.Stop(), "replica unhealthy");
}

TEST_F(ServiceTest, F_ARollingUpdateToANewBinaryServesThroughoutAndEndsOnTheNewVersion) {
  ASSERT_TRUE(WaitSettled(3));
  GcsClient gcs(head_->address(), 5000);
  auto before = gcs.GetServiceStatus(kService);
  ASSERT_TRUE(before.ok() && before->services_size() == 1);
  auto jobs_before = gcs.GetAllJobs();
  ASSERT_TRUE(jobs_before.ok());
  // A new build: the same program with bytes appended (another content hash, so another executable and job).
  const std::string rebuilt = config_dir_->path() + "/test_service_v2";
  {
    auto program = ReadFileToString(HALO_TEST_SERVICE);
    ASSERT_TRUE(program.ok());
    std::ofstream out(rebuilt, std::ios::binary);
    out << *program << "rebuilt";
  }
  ASSERT_EQ(chmod(rebuilt.c_str(), 0755), 0);
  HttpLoad load(AllPorts(), "/hello?name=ada", 4,
                [](const std::string& body) { return body == "hello, ada" || body == "howdy, ada"; });
  auto deployed = RunHalo({"serve", "deploy", rebuilt, "--config", Config("howdy", 3), "--address", head_->address(),
                           "--timeout-s", "90"},
                          std::chrono::seconds(120));
  ASSERT_EQ(deployed.exit_code, 0) << deployed.output;
  EXPECT_NE(deployed.output.find("version 2 is serving"), std::string::npos) << deployed.output;
  ExpectServedThrough(load.Stop(), "rolling update to a new binary");
  auto after = gcs.GetServiceStatus(kService);
  ASSERT_TRUE(after.ok() && after->services_size() == 1);
  EXPECT_NE(after->services(0).executable_sha256(), before->services(0).executable_sha256());
  // The first binary's job ends once none of its replicas is left; the new one's runs on.
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto jobs = gcs.GetAllJobs();
        if (!jobs.ok()) return false;
        int finished = 0, running = 0;
        for (const auto& job : *jobs) {
          if (job.entrypoint().find("service greeter") != 0) continue;
          (job.is_finished() ? finished : running) += 1;
        }
        return finished == 1 && running == 1;
      },
      std::chrono::seconds(20)))
      << "the replaced binary's job was not marked finished (or the new one was): " << [&] {
           std::string all;
           auto jobs = gcs.GetAllJobs();
           for (const auto& job : jobs.ok() ? *jobs : std::vector<rpc::JobInfo>{}) all += job.ShortDebugString() + "\n";
           return all;
         }();
  for (int port : AllPorts()) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          HttpLoad after(std::vector<int>{port}, "/hello?name=ada", 1, [](const std::string& body) { return body == "howdy, ada"; });
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          const LoadCounts counts = after.Stop();
          return counts.ok > 0 && counts.ok == counts.total();
        },
        std::chrono::seconds(20)))
        << "port " << port << " still answers with the old version";
  }
}

TEST_F(ServiceTest, G_AnAutoscaledDeploymentGrowsUnderLoadAndShrinksAfterIt) {
  const std::string path = config_dir_->path() + "/scaler.yaml";
  std::ofstream(path) << "name: scaler\napplications:\n  - name: scale\n    route_prefix: /scale\n"
                      << "    deployments:\n      - name: Greeter\n        factory: MakeGreeter\n"
                      << "        args: [\"hi\", \"" << flags_->path() << "\"]\n"
                      << "        autoscaling: {min_replicas: 1, max_replicas: 3, target_ongoing_requests: 1}\n"
                      << "        resources: {CPU: 0.25}\n";
  auto deployed = Deploy(path);
  ASSERT_EQ(deployed.exit_code, 0) << deployed.output;
  GcsClient gcs(head_->address(), 5000);
  auto scaler = [&] {
    auto status = gcs.GetServiceStatus("scaler");
    return status.ok() && status->services_size() == 1 ? status->services(0).deployments(0) : rpc::DeploymentStatusInfo();
  };
  EXPECT_EQ(scaler().target(), 1);
  {
    // Six clients each keep a 100 ms request in flight: about six ongoing against a target of one each.
    HttpLoad load(AllPorts(), "/scale/sleep?ms=100", 6, [](const std::string& body) { return body == "slept"; });
    EXPECT_TRUE(WaitUntil([&] { return scaler().target() == 3 && scaler().healthy() == 3; }, std::chrono::seconds(40)))
        << "target " << scaler().target() << ", healthy " << scaler().healthy();
    // Served by the three while the load goes on.
    const int64_t served = load.Snapshot().ok;
    EXPECT_TRUE(WaitUntil([&] { return load.Snapshot().ok > served + 100; }, std::chrono::seconds(30)));
    ExpectServedThrough(load.Stop(), "scaling up");
  }
  // Idle: back to the minimum once the downscale delay (3 s here) has passed.
  EXPECT_TRUE(WaitUntil([&] { return scaler().target() == 1 && scaler().replicas_size() == 1; }, std::chrono::seconds(40)))
      << "target " << scaler().target() << ", replicas " << scaler().replicas_size();
  auto deleted = RunHalo({"serve", "delete", "scaler", "--address", head_->address()});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.output;
}

TEST_F(ServiceTest, H_ADrainedNodesReplicasMoveBeforeItLeaves) {
  ASSERT_TRUE(WaitSettled(3));
  Node* drained = nullptr;
  for (auto* node : nodes_) {
    for (const auto& replica : Replicas()) {
      if (replica.node_id() == node->id()) drained = node;
    }
  }
  ASSERT_NE(drained, nullptr) << "no replica on a node agent other than the head's";
  std::vector<int> ports = {HttpPort(head_->session_dir())};
  for (auto* node : nodes_) {
    if (node != drained) ports.push_back(HttpPort(node->session_dir()));
  }
  HttpLoad load(ports, "/hello?name=ada", 4, [](const std::string& body) { return body == "howdy, ada"; });
  auto result = RunHalo({"drain", drained->id(), "--reason", "preemption", "--deadline-s", "60", "--address",
                         head_->address()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto deployment = Deployment();
        const bool moved = std::none_of(deployment.replicas().begin(), deployment.replicas().end(),
                                        [&](const auto& r) { return r.node_id() == drained->id(); });
        return moved && deployment.healthy() == 3 && deployment.replicas_size() == 3;
      },
      std::chrono::seconds(60)))
      << "the draining node's replicas were not moved";
  // Once it holds no replica it is idle, and leaves.
  EXPECT_TRUE(WaitForProcessExit(drained->pid(), 30000)) << "the drained node did not leave";
  ExpectServedThrough(load.Stop(), "node drained");
}

TEST_F(ServiceTest, I_ServesThroughANodeAgentSigkilledAndItsReplicasComeBackElsewhere) {
  ASSERT_TRUE(WaitSettled(3));
  // Load through the head's ingress, which outlives the node.
  HttpLoad load(std::vector<int>{HttpPort(head_->session_dir())}, "/hello?name=ada", 4,
                [](const std::string& body) { return body == "howdy, ada"; });
  Node* victim = nullptr;
  for (auto* node : nodes_) {
    for (const auto& replica : Replicas()) {
      if (replica.node_id() == node->id() && ProcessAlive(node->pid())) victim = node;
    }
  }
  ASSERT_NE(victim, nullptr) << "no replica on a node agent other than the head's";
  ASSERT_EQ(kill(victim->pid(), SIGKILL), 0);
  ASSERT_TRUE(WaitForProcessExit(victim->pid(), 10000));
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto deployment = Deployment();
        const bool off_victim = std::none_of(deployment.replicas().begin(), deployment.replicas().end(),
                                             [&](const auto& r) { return r.node_id() == victim->id(); });
        return off_victim && deployment.healthy() == 3 && deployment.replicas_size() == 3;
      },
      std::chrono::seconds(60)))
      << "the dead node's replicas did not come back elsewhere";
  ExpectServedThrough(load.Stop(), "node agent SIGKILLed");
}

TEST_F(ServiceTest, J_DeleteStopsEveryReplicaAndTheRouteAnswers404) {
  auto deleted = RunHalo({"serve", "delete", kService, "--address", head_->address()});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_TRUE(WaitUntil([] { return Replicas().empty(); }, std::chrono::seconds(30)));
  const int port = HttpPort(head_->session_dir());
  EXPECT_TRUE(WaitUntil(
      [&] {
        HttpLoad after(std::vector<int>{port}, "/hello?name=ada", 1, [](const std::string&) { return false; });
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const LoadCounts counts = after.Stop();
        return counts.statuses.count(404) > 0 && counts.statuses.at(404) == counts.total();
      },
      std::chrono::seconds(20)));
  auto again = RunHalo({"serve", "delete", kService, "--address", head_->address()});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("no service 'greeter' is deployed"), std::string::npos) << again.output;
}

}  // namespace
}  // namespace halo::testing
