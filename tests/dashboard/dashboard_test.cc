// The dashboard in a real browser: a head (GCS and node agent) serves the page and its JSON API on a free
// port, one more node agent joins, and Debian's headless Chromium renders the page (its script reads the API)
// with both nodes ALIVE; the node agent is SIGKILLed, and the page Chromium renders next shows that node DEAD,
// with the node_dead event in its log and on its timeline. A screenshot is saved under the test's output
// (build/tests/output/dashboard.png). The API is also checked directly, including its answers to bad input.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "common/process.h"
#include "integration/head_fixture.h"
#include "integration/node_fixture.h"
#include "serve/http_load.h"
#include "support/test_env.h"

namespace halo::testing {
namespace {

constexpr char kChromium[] = "/usr/bin/chromium";

// The page as Chromium leaves it once its script has fetched the API (virtual time lets the fetches finish).
CommandResult RenderedDom(const std::string& url, const std::string& profile_dir) {
  return RunCommand({kChromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--user-data-dir=" + profile_dir, "--virtual-time-budget=4000", "--dump-dom", url},
                    std::chrono::seconds(90));
}

std::optional<nlohmann::json> Api(int port, const std::string& target) {
  HttpAnswer answer = HttpGet(HttpEndpoint{"127.0.0.1", port}, target, 5);
  if (answer.status != 200) return std::nullopt;
  auto parsed = nlohmann::json::parse(answer.body, nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

std::string NodeState(int port, const std::string& node_id) {
  auto nodes = Api(port, "/api/nodes");
  if (!nodes) return "";
  for (const auto& node : *nodes) {
    if (node.value("node_id", "") == node_id) return node.value("state", "");
  }
  return "";
}

TEST(DashboardTest, ChromiumShowsAKilledNodeDead) {
  ASSERT_TRUE(std::filesystem::exists(kChromium)) << "Debian's chromium is installed by scripts/install-deps.sh";
  Head head({"--num-cpus", "1", "--dashboard-port", "-1"});
  auto started = head.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  Node node;
  auto joined = node.Start(head.address(), {"--num-cpus", "1"});
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  const int port = std::atoi(ReadTrimmedFile(head.session_dir() + "/gcs.dashboard_port").c_str());
  ASSERT_GT(port, 0) << "the GCS wrote no gcs.dashboard_port";

  // The API on its own.
  auto cluster = Api(port, "/api/cluster");
  ASSERT_TRUE(cluster.has_value());
  EXPECT_EQ((*cluster)["is_leader"], true);
  EXPECT_EQ((*cluster)["address"], head.address());
  ASSERT_TRUE(WaitUntil([&] { return NodeState(port, node.id()) == "ALIVE"; }, std::chrono::seconds(30)));
  EXPECT_EQ(HttpGet(HttpEndpoint{"127.0.0.1", port}, "/api/nope", 5).status, 404);
  EXPECT_EQ(HttpGet(HttpEndpoint{"127.0.0.1", port}, "/api/events?after=-3", 5).status, 400);
  auto page = HttpGet(HttpEndpoint{"127.0.0.1", port}, "/", 5);
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<title>Halo dashboard</title>"), std::string::npos);

  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  const std::string profile = head.session_dir() + "/chromium-profile";
  auto before = RenderedDom(url, profile);
  ASSERT_EQ(before.exit_code, 0) << before.output;
  EXPECT_NE(before.output.find("id=\"node-" + node.id() + "\" data-state=\"ALIVE\""), std::string::npos)
      << before.output;
  EXPECT_NE(before.output.find("class=\"leader\""), std::string::npos) << "no leader banner: " << before.output;

  ASSERT_EQ(kill(node.pid(), SIGKILL), 0);
  ASSERT_TRUE(WaitUntil([&] { return NodeState(port, node.id()) == "DEAD"; }, std::chrono::seconds(30)));
  auto after = RenderedDom(url, profile);
  ASSERT_EQ(after.exit_code, 0) << after.output;
  EXPECT_NE(after.output.find("id=\"node-" + node.id() + "\" data-state=\"DEAD\""), std::string::npos)
      << after.output;
  EXPECT_NE(after.output.find("data-kind=\"node_dead\""), std::string::npos) << "no node_dead event: " << after.output;
  EXPECT_NE(after.output.find("class=\"mark\" data-kind=\"node_dead\""), std::string::npos)
      << "the death is not on the timeline: " << after.output;

  const std::string output_dir = std::string(HALO_TEST_OUTPUT_DIR);
  std::filesystem::create_directories(output_dir);
  const std::string screenshot = output_dir + "/dashboard.png";
  std::filesystem::remove(screenshot);
  auto shot = RunCommand({kChromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          "--user-data-dir=" + profile, "--hide-scrollbars", "--window-size=1400,1100",
                          "--virtual-time-budget=4000", "--screenshot=" + screenshot, url},
                         std::chrono::seconds(90));
  ASSERT_EQ(shot.exit_code, 0) << shot.output;
  struct stat info {};
  ASSERT_EQ(stat(screenshot.c_str(), &info), 0) << "no screenshot at " << screenshot << ": " << shot.output;
  EXPECT_GT(info.st_size, 10000) << "a screenshot of a few bytes shows nothing";
}

}  // namespace
}  // namespace halo::testing
