// The halo command line against a real head: status, kv, list actors, config, stop, and its errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <sstream>

#include "head_fixture.h"

namespace halo::testing {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    head_ = new Head({"--storage", "memory"});
    auto started = head_->Start();
    ASSERT_EQ(started.exit_code, 0) << started.output;
  }
  static void TearDownTestSuite() {
    head_->Stop();
    delete head_;
  }
  CommandResult Halo(std::vector<std::string> args) {
    args.push_back("--address");
    args.push_back(head_->address());
    return RunHalo(args);
  }
  static Head* head_;
};
Head* CliTest::head_ = nullptr;

TEST_F(CliTest, StatusJsonHasTheDocumentedKeys) {
  auto result = Halo({"status", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto json = nlohmann::json::parse(result.output);
  for (const char* key : {"cluster_id", "storage", "namespace", "address", "uptime_s"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  EXPECT_EQ(json["storage"], "memory");
  EXPECT_EQ(json["address"], head_->address());
}

TEST_F(CliTest, StatusFindsTheClusterThroughTheEnvironment) {
  auto result = RunHalo({"status"}, std::chrono::seconds(30), {{"HALO_ADDRESS", head_->address()}});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(Contains(result.output, head_->address()));
}

TEST_F(CliTest, KvPutGetListExistsDelete) {
  ASSERT_EQ(Halo({"kv", "put", "color", "blue"}).exit_code, 0);
  ASSERT_EQ(Halo({"kv", "put", "colour", "red", "--namespace", "uk"}).exit_code, 0);
  auto got = Halo({"kv", "get", "color"});
  ASSERT_EQ(got.exit_code, 0);
  EXPECT_EQ(got.output, "blue\n");
  EXPECT_EQ(Halo({"kv", "list", "col"}).output, "color\n");
  EXPECT_EQ(Halo({"kv", "list", "--namespace", "uk"}).output, "colour\n");
  EXPECT_EQ(Halo({"kv", "exists", "color"}).exit_code, 0);
  auto dup = Halo({"kv", "put", "color", "green", "--no-overwrite"});
  EXPECT_NE(dup.exit_code, 0);
  EXPECT_TRUE(Contains(dup.output, "key 'color' already exists"));
  EXPECT_EQ(Halo({"kv", "del", "color"}).exit_code, 0);
  auto missing = Halo({"kv", "get", "color"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(Contains(missing.output, "key 'color' not found")) << missing.output;
  EXPECT_NE(Halo({"kv", "exists", "color"}).exit_code, 0);
}

TEST_F(CliTest, ListActorsPrintsAJsonArrayAndATable) {
  auto listed = Halo({"list", "actors", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  auto json = nlohmann::json::parse(listed.output);  // throws (fails the test) unless it is JSON
  ASSERT_TRUE(json.is_array()) << listed.output;
  for (const auto& actor : json) {
    for (const char* key : {"actor_id", "name", "state", "node_id", "pid", "num_restarts", "death_cause"}) {
      EXPECT_TRUE(actor.contains(key)) << key;
    }
  }
  auto table = Halo({"list", "actors"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_TRUE(Contains(table.output, "ACTOR_ID")) << table.output;
}

TEST_F(CliTest, UnreachableAddressFailsWithinTheRpcTimeout) {
  const int port = FreePort();
  auto result = RunHalo({"status", "--address", "127.0.0.1:" + std::to_string(port), "--rpc-timeout-ms", "500"},
                        std::chrono::seconds(30));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(Contains(result.output, "cannot reach the GCS at 127.0.0.1:" + std::to_string(port))) << result.output;
  auto actors = RunHalo({"list", "actors", "--json", "--address", "127.0.0.1:" + std::to_string(port),
                         "--rpc-timeout-ms", "500"},
                        std::chrono::seconds(30));
  EXPECT_NE(actors.exit_code, 0);
  EXPECT_TRUE(Contains(actors.output, "halo: error: cannot reach the GCS at 127.0.0.1:" + std::to_string(port)))
      << actors.output;
}

TEST(CliConfigTest, ConfigPrintsEffectiveValuesAndTheirSources) {
  TempDir dir;
  const std::string path = dir.path() + "/cluster.yaml";
  std::ofstream(path) << "storage_namespace: from_file\nstorage_retry_max_ms: 700\n";
  auto result = RunHalo({"config", "--config", path, "--storage-retry-max-ms", "800"}, std::chrono::seconds(30),
                        {{"HALO_STORAGE_CONNECT_TIMEOUT_MS", "1234"}});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(Contains(result.output, "from_file  (file " + path + ")")) << result.output;
  EXPECT_TRUE(Contains(result.output, "800  (flag --storage-retry-max-ms)"));
  EXPECT_TRUE(Contains(result.output, "1234  (env HALO_STORAGE_CONNECT_TIMEOUT_MS)"));
  EXPECT_TRUE(Contains(result.output, "embedded  (default)"));
}

TEST(CliConfigTest, BadConfigNamesTheKey) {
  TempDir dir;
  const std::string path = dir.path() + "/cluster.yaml";
  std::ofstream(path) << "storage_unavailable_timeout_ms: forever\n";
  auto result = RunHalo({"config", "--config", path});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(Contains(result.output, "halo: error: setting 'storage_unavailable_timeout_ms' expects an integer"))
      << result.output;
  std::ofstream(path) << "no_such_setting: 1\n";
  result = RunHalo({"start", "--head", "--config", path, "--session-dir", dir.path() + "/session", "--port", "0"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(Contains(result.output, "unknown setting 'no_such_setting'")) << result.output;
}

TEST(CliStopTest, StopOfASessionWithNothingRunningSucceedsQuietly) {
  TempDir dir;
  auto result = RunHalo({"stop", "--session-dir", dir.path()});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(Contains(result.output, "Nothing to stop"));
}

TEST(CliStopTest, StopStopsOnlyItsOwnSession) {
  Head a({"--storage", "memory"});
  Head b({"--storage", "memory"});
  ASSERT_EQ(a.Start().exit_code, 0);
  ASSERT_EQ(b.Start().exit_code, 0);
  ASSERT_EQ(a.Stop().exit_code, 0);
  EXPECT_FALSE(ProcessAlive(a.GcsPid()));
  EXPECT_TRUE(ProcessAlive(b.GcsPid()));
  EXPECT_TRUE(b.Client()->GetClusterInfo().ok());
}

TEST(CliStartTest, StartingARunningSessionAgainIsRefused) {
  Head head({"--storage", "memory"});
  ASSERT_EQ(head.Start().exit_code, 0);
  auto again = head.Start();
  EXPECT_NE(again.exit_code, 0);
  EXPECT_TRUE(Contains(again.output, "is already running (pid " + std::to_string(head.GcsPid()))) << again.output;
}

TEST(CliServeTest, ValidatePrintsWhatTheConfigDeploysOrTheOneLineNamingItsMistake) {
  TempDir dir;
  const std::string good = dir.path() + "/service.yaml";
  std::ofstream(good) << "name: greeter\napplications:\n  - name: hello\n    route_prefix: /hello\n"
                         "    deployments:\n      - {name: Greeter, factory: MakeGreeter, args: [hello], "
                         "num_replicas: 3, resources: {CPU: 0.5}}\n";
  auto ok = RunHalo({"serve", "validate", good});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(Contains(ok.output, "hello at /hello")) << ok.output;
  EXPECT_TRUE(Contains(ok.output, "Greeter: MakeGreeter(hello), 3 replica(s), max_ongoing_requests 100, "
                                  "resources CPU=0.5"))
      << ok.output;
  auto json = RunHalo({"serve", "validate", good, "--json"});
  EXPECT_EQ(json.exit_code, 0) << json.output;
  EXPECT_EQ(nlohmann::json::parse(json.output)["applications"][0]["deployments"][0]["numReplicas"], 3);

  const std::string bad = dir.path() + "/bad.yaml";
  std::ofstream(bad) << "name: greeter\napplications:\n  - name: hello\n    deployments:\n"
                        "      - {name: Greeter, factory: MakeGreeter, num_replica: 3}\n";
  auto refused = RunHalo({"serve", "validate", bad});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.output, "halo: error: " + bad +
                                ": applications[0].deployments[0].num_replica: unknown key (known: name, factory, "
                                "args, num_replicas, autoscaling, max_ongoing_requests, health_check_period_ms, "
                                "health_check_timeout_ms, resources)\n");
  auto missing = RunHalo({"serve", "validate", dir.path() + "/none.yaml"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(Contains(missing.output, "none.yaml: cannot be read")) << missing.output;
}

}  // namespace
}  // namespace halo::testing

namespace halo::testing {
namespace {

// `halo microbenchmark` on a local cluster of its own: standard output holds only `name: value unit` lines (what
// scripts parse); progress and logs go to standard error or the session.
TEST(CliMicrobenchmarkTest, StandardOutputHoldsOnlyResultLines) {
  TempDir dir;
  const std::string out = dir.path() + "/stdout";
  auto run = RunCommand({"/bin/bash", "-c", BinDir() + "/halo microbenchmark --duration-s 0.1 > " + out},
                        std::chrono::seconds(180));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto text = ReadFileToString(out);
  ASSERT_TRUE(text.ok());
  std::istringstream lines(*text);
  int results = 0;
  const std::regex result_line(R"(^[a-z0-9_]+: -?[0-9]+\.[0-9]{2} [^ ].*$)");
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(std::regex_match(line, result_line)) << "not a result line on stdout: '" << line << "'";
    results += 1;
  }
  EXPECT_GE(results, 10) << *text;
}

}  // namespace
}  // namespace halo::testing
