// The cluster event log and `halo status` on a supervised head over a real Redis: events are kept across GCS
// restarts; while Redis is down the supervisor keeps restarting the GCS and `halo status` (finding the cluster
// through its session) says so, with the storage error that ended the last GCS; once Redis is back the GCS
// serves again and records the outage (storage_unreachable, storage_back) after what it recorded before.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "head_fixture.h"

namespace halo::testing {
namespace {

std::vector<nlohmann::json> EventsJson(const Head& head, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"events", "--json", "--address", head.address()};
  args.insert(args.end(), extra.begin(), extra.end());
  auto result = RunHalo(args, std::chrono::seconds(30));
  std::vector<nlohmann::json> events;
  if (result.exit_code != 0) return events;
  std::istringstream lines(result.output);
  std::string line;
  while (std::getline(lines, line)) {
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (!parsed.is_discarded()) events.push_back(parsed);
  }
  return events;
}

bool Has(const std::vector<nlohmann::json>& events, const std::string& kind) {
  for (const auto& event : events) {
    if (event.value("kind", "") == kind) return true;
  }
  return false;
}

TEST(EventsStatusTest, EventsSurviveRestartsAndStatusExplainsAStorageOutage) {
  RedisServer redis;
  Head head({"--storage", redis.Uri(), "--gcs-restarts-max", "-1", "--gcs-restart-delay-max-ms", "500",
             "--storage-unavailable-timeout-ms", "1000", "--num-cpus", "1"});
  ASSERT_EQ(head.Start().exit_code, 0);
  // The head's node agent joined; a job came and went (the CLI's `halo events` itself is no job).
  std::vector<nlohmann::json> first;
  ASSERT_TRUE(WaitUntil([&] { return Has(first = EventsJson(head), "node_added"); }, std::chrono::seconds(20)));
  ASSERT_TRUE(Has(first, "gcs_recovered"));
  const int64_t added_sequence = [&] {
    for (const auto& event : first) {
      if (event["kind"] == "node_added") return event["sequence"].get<int64_t>();
    }
    return int64_t{-1};
  }();
  for (size_t i = 1; i < first.size(); ++i) {
    EXPECT_GT(first[i]["sequence"].get<int64_t>(), first[i - 1]["sequence"].get<int64_t>());
  }
  // Filters: by kind, by group, and a kind that does not exist.
  auto nodes_only = EventsJson(head, {"--kind", "node"});
  ASSERT_FALSE(nodes_only.empty());
  for (const auto& event : nodes_only) EXPECT_EQ(event["kind"].get<std::string>().rfind("node_", 0), 0u) << event;
  auto bad = RunHalo({"events", "--kind", "node_exploded", "--address", head.address()});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("unknown event kind 'node_exploded'"), std::string::npos) << bad.output;

  // Redis goes away: the GCS stops (storage unreachable past its bound); the supervisor keeps restarting it.
  const pid_t serving = head.Client(2000)->GetClusterInfo()->pid();
  redis.Kill();
  ASSERT_TRUE(WaitForProcessExit(serving, 20000)) << head.GcsOutput();
  CommandResult status;
  ASSERT_TRUE(WaitUntil(
      [&] {
        status = RunHalo({"status", "--session-dir", head.session_dir(), "--rpc-timeout-ms", "500"},
                         std::chrono::seconds(30));
        return status.exit_code != 0 && status.output.find("storage unreachable") != std::string::npos &&
               status.output.find("the supervisor") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << status.output;
  EXPECT_NE(status.output.find("cannot reach the GCS"), std::string::npos) << status.output;
  auto status_json = RunHalo({"status", "--json", "--session-dir", head.session_dir(), "--rpc-timeout-ms", "500"},
                             std::chrono::seconds(30));
  EXPECT_NE(status_json.exit_code, 0);
  auto parsed = nlohmann::json::parse(status_json.output, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << status_json.output;
  EXPECT_EQ(parsed["reachable"], false);
  EXPECT_EQ(parsed["last_exit"]["cause"], "storage_unreachable") << status_json.output;

  // Redis is back: the GCS serves again, with what it recorded before and the outage.
  redis.Start();
  std::vector<nlohmann::json> after;
  ASSERT_TRUE(WaitUntil([&] { return Has(after = EventsJson(head), "storage_back"); }, std::chrono::seconds(40)))
      << head.GcsOutput();
  EXPECT_TRUE(Has(after, "storage_unreachable"));
  bool kept = false;
  for (const auto& event : after) kept = kept || event["sequence"].get<int64_t>() == added_sequence;
  EXPECT_TRUE(kept) << "the node_added event recorded before the restarts is gone";
  EXPECT_GE(std::count_if(after.begin(), after.end(), [](const auto& e) { return e["kind"] == "gcs_recovered"; }), 2);

  // The summary now: the leader, the node, and the outage among recent failures.
  auto summary = RunHalo({"status", "--json", "--address", head.address()});
  ASSERT_EQ(summary.exit_code, 0) << summary.output;
  auto json = nlohmann::json::parse(summary.output);
  EXPECT_EQ(json["is_leader"], true);
  EXPECT_EQ(json["nodes"]["ALIVE"], 1) << summary.output;
  bool outage_listed = false;
  for (const auto& event : json["recent_failures"]) outage_listed |= event["kind"] == "storage_unreachable";
  EXPECT_TRUE(outage_listed) << summary.output;
  EXPECT_TRUE(json.contains("last_recovery")) << summary.output;
  auto text = RunHalo({"status", "--address", head.address()});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("nodes      1 ALIVE"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("storage_unreachable"), std::string::npos) << text.output;
}

}  // namespace
}  // namespace halo::testing
