// Large objects on a real cluster: results and Put values past object_inline_max_bytes stay in node stores,
// move between nodes in chunks, spill to disk past the store's capacity, and are rebuilt from lineage when
// the node holding them dies. Runs in task_tests (whose main serves worker mode).
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <sstream>

#include <gtest/gtest.h>

#include "common/process.h"
#include "halo/halo.h"
#include "integration/head_fixture.h"
#include "integration/node_fixture.h"
#include "integration/driver_cluster.h"
#include "integration/driver_helpers.h"
#include "rpc/gcs_client.h"
#include "serve/http_load.h"
#include "support/test_env.h"

namespace {

constexpr int kBigInts = 64 * 1024;  // 256 KiB as msgpack: past the 100 KiB inline bound

std::vector<int> MakeBig(int seed) {
  std::vector<int> values(kBigInts);
  std::iota(values.begin(), values.end(), seed);
  return values;
}
std::vector<int> AddOne(std::vector<int> values) {
  for (int& v : values) v += 1;
  return values;
}
int64_t Total(std::vector<int> values) { return std::accumulate(values.begin(), values.end(), int64_t{0}); }

// Holds references without reading them: the borrower must not free its owner's copies when it lets go.
size_t CountRefs(std::vector<halo::ObjectRef<std::vector<int>>> refs) { return refs.size(); }

HALO_REMOTE(MakeBig, AddOne, Total, CountRefs);

int64_t ExpectedTotal(int seed) { return int64_t{kBigInts} * seed + int64_t{kBigInts} * (kBigInts - 1) / 2; }

using halo::testing::Head;
using halo::testing::Node;

using halo::testing::InitDriver;
using halo::testing::StoreStats;

// The head offers no CPUs: tasks run on the two node agents; the driver's local node is the head's.
class ObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override { cluster_.Start(); }

  halo::testing::DriverCluster cluster_{
      {"--num-cpus", "0", "--object-store-memory-bytes", "1500000", "--gcs-metrics-port", "-1"}, 2,
      {"--num-cpus", "2"}};
  Head& head_ = cluster_.head();
};

TEST_F(ObjectsTest, LargeValuesTravelBetweenNodesAndBack) {
  halo::ObjectRef<std::vector<int>> value = halo::Task(MakeBig).Remote(5);
  for (int i = 0; i < 5; ++i) value = halo::Task(AddOne).Remote(value);
  EXPECT_EQ(*halo::Get(halo::Task(Total).Remote(value)), ExpectedTotal(10));
  EXPECT_EQ(halo::Get(value)->at(0), 10);
}

TEST_F(ObjectsTest, PutObjectsSpillToDiskAndComeBack) {
  // 12 objects of about 256 KiB into a 1.5 MB store on the head's node: most must spill.
  std::vector<halo::ObjectRef<std::vector<int>>> refs;
  for (int i = 0; i < 12; ++i) refs.push_back(halo::Put(MakeBig(i)));
  auto stats = StoreStats(halo::ReadTrimmedFile(head_.session_dir() + "/node.address"));
  EXPECT_EQ(stats.objects(), 12u);
  EXPECT_GT(stats.spills(), 0u);
  EXPECT_LE(stats.memory_bytes(), 1500000u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(halo::Get(refs[i])->at(0), i) << i;
  EXPECT_GT(StoreStats(halo::ReadTrimmedFile(head_.session_dir() + "/node.address")).restores(), 0u);
  // Tasks on other nodes pull spilled objects too.
  EXPECT_EQ(*halo::Get(halo::Task(Total).Remote(refs[0])), ExpectedTotal(0));
}

TEST_F(ObjectsTest, ObjectsLostWithTheirNodeAreRebuiltFromLineage) {
  // A 20-deep chain and a 100-wide fan-out of large objects, spread over both nodes' stores.
  halo::ObjectRef<std::vector<int>> chain = halo::Task(MakeBig).Remote(0);
  for (int i = 0; i < 19; ++i) chain = halo::Task(AddOne).Remote(chain);
  std::vector<halo::ObjectRef<std::vector<int>>> fan;
  for (int i = 0; i < 100; ++i) fan.push_back(halo::Task(MakeBig).Remote(i));
  std::vector<halo::ObjectRef<std::vector<int>>> all = fan;
  all.push_back(chain);
  auto [ready, pending] = halo::Wait(all, static_cast<int>(all.size()), std::chrono::seconds(120));
  ASSERT_TRUE(pending.empty());
  // Kill the node holding the most of them (on a loaded machine one node may have run them all), so something
  // must be rebuilt.
  auto held = [&](const Node& node) {
    return StoreStats(halo::ReadTrimmedFile(node.session_dir() + "/node.address")).objects();
  };
  const Node& victim = held(cluster_.node(0)) >= held(cluster_.node(1)) ? cluster_.node(0) : cluster_.node(1);
  ASSERT_GT(held(victim), 0u);

  ASSERT_EQ(kill(victim.pid(), SIGKILL), 0);
  ASSERT_TRUE(halo::WaitForProcessExit(victim.pid(), 10000));

  // Everything that depended on the dead node's copies is rebuilt (recursively through the chain).
  std::vector<halo::ObjectRef<int64_t>> totals;
  for (const auto& ref : fan) totals.push_back(halo::Task(Total).Remote(ref));
  auto chain_total = halo::Task(Total).Remote(chain);
  auto values = halo::Get(totals, std::chrono::seconds(120));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*values[i], ExpectedTotal(i)) << i;
  EXPECT_EQ(*halo::Get(chain_total, std::chrono::seconds(120)), ExpectedTotal(19));
  // The rebuilds reached the cluster event log, reported by this driver (one event per interval, not one per
  // object).
  ASSERT_GT(halo::Stats().objects_rebuilt, 0);
  EXPECT_GT(halo::Stats().rebuilds_completed, 0) << "every rebuilt object was read back";
  EXPECT_GT(halo::Stats().rebuild_ms_total, 0);
  halo::GcsClient gcs(head_.address(), 5000);
  halo::rpc::ListEventsRequest request;
  request.add_kinds(halo::rpc::EVENT_OBJECTS_REBUILT);
  std::optional<halo::rpc::ListEventsReply> listed;
  EXPECT_TRUE(halo::testing::WaitUntil(
      [&] {
        auto reply = gcs.ListEvents(request);
        if (reply.ok()) listed = *reply;
        return reply.ok() && reply->events_size() > 0;
      },
      std::chrono::seconds(20)));
  ASSERT_TRUE(listed.has_value());
  // Rebuilds within one objects_rebuilt_event_interval_ms share an event (this test rebuilds dozens at once).
  if (halo::Stats().objects_rebuilt >= 10) {
    EXPECT_LT(listed->events_size(), halo::Stats().objects_rebuilt);
  }
  EXPECT_NE(listed->events(0).message().find("lost object(s) from their lineage"), std::string::npos)
      << listed->events(0).message();
  // The driver's counters reach the GCS's metrics (reported every runtime_counters_report_interval_ms).
  const int port = std::atoi(halo::ReadTrimmedFile(head_.session_dir() + "/gcs.metrics_port").c_str());
  ASSERT_GT(port, 0);
  const halo::RuntimeStats stats = halo::Stats();
  auto sample = [&](const std::string& name) -> double {
    auto page = halo::testing::HttpGet(halo::testing::HttpEndpoint{"127.0.0.1", port}, "/metrics", 5);
    std::istringstream lines(page.body);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
    }
    return -1;
  };
  EXPECT_TRUE(halo::testing::WaitUntil(
      [&] {
        return sample("halo_objects_rebuilt_total") >= static_cast<double>(stats.objects_rebuilt) &&
               sample("halo_tasks_submitted_total") >= static_cast<double>(stats.tasks_submitted) &&
               sample("halo_object_rebuild_seconds_count") >= static_cast<double>(stats.rebuilds_completed);
      },
      std::chrono::seconds(30)))
      << "rebuilt " << sample("halo_objects_rebuilt_total") << " of " << stats.objects_rebuilt << ", submitted "
      << sample("halo_tasks_submitted_total") << " of " << stats.tasks_submitted;
}

TEST_F(ObjectsTest, LostObjectWhoseTaskFitsNoLiveNodeWaitsForOneToJoin) {
  // Only one node offers a GPU; the object made there is lost with it, and its rebuild must wait for the
  // replacement node rather than fail at once as unschedulable.
  Node gpu_node;
  auto joined = gpu_node.Start(head_.address(), {"--num-cpus", "1", "--resources", "GPU=1"});
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  auto big = halo::Task(MakeBig).SetResources({{"GPU", 1}}).Remote(3);
  auto [ready, pending] = halo::Wait(std::vector{big}, 1, std::chrono::seconds(60));
  ASSERT_TRUE(pending.empty());

  ASSERT_EQ(kill(gpu_node.pid(), SIGKILL), 0);
  ASSERT_TRUE(halo::WaitForProcessExit(gpu_node.pid(), 10000));
  ASSERT_TRUE(halo::testing::WaitForNodeState(head_.address(), gpu_node.id(), halo::rpc::DEAD,
                                              std::chrono::seconds(20)));
  // Now no live node offers a GPU; the driver has heard of the death and its rebuild waits.
  Node replacement;
  joined = replacement.Start(head_.address(), {"--num-cpus", "1", "--resources", "GPU=1"});
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  EXPECT_EQ(*halo::Get(halo::Task(Total).Remote(big), std::chrono::seconds(60)), ExpectedTotal(3));
  EXPECT_EQ(halo::Get(big, std::chrono::seconds(60))->at(0), 3);
}

TEST_F(ObjectsTest, BorrowersLeaveTheOwnersCopiesAlone) {
  auto large = halo::Put(MakeBig(4));  // stored on the head's node
  auto made = halo::Task(MakeBig).Remote(6);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(*halo::Get(halo::Task(CountRefs).Remote(std::vector<halo::ObjectRef<std::vector<int>>>{large, made})),
              2u);
  }
  EXPECT_EQ(halo::Get(large)->at(0), 4);
  EXPECT_EQ(halo::Get(made)->at(0), 6);
  EXPECT_EQ(halo::Stats().objects_rebuilt, 0);
}

// Workers and objects belong to a job: if its driver dies without Shutdown, the GCS marks the job finished
// (naming why), its workers leave, and its objects are freed, also on a node that never ran its tasks.
TEST_F(ObjectsTest, DriverDeathEndsItsJobEverywhere) {
  const std::string head_node = halo::ReadTrimmedFile(head_.session_dir() + "/node.address");
  const uint64_t stored_before = StoreStats(head_node).objects();
  halo::testing::TempDir dir;
  halo::SpawnOptions spawn;
  spawn.argv = {halo::testing::BinDir() + "/../tests/test_driver", "--address", head_.address()};
  spawn.output_path = dir.path() + "/driver.out";
  spawn.die_with_parent = true;
  auto pid = halo::Spawn(spawn);
  ASSERT_TRUE(pid.ok());
  auto output = [&] {
    auto text = halo::ReadFileToString(dir.path() + "/driver.out");
    return text.ok() ? *text : "";
  };
  ASSERT_TRUE(halo::testing::WaitUntil([&] { return output().find("ready 42") != std::string::npos; },
                                       std::chrono::seconds(60)))
      << output();
  auto gcs = head_.Client();
  auto job_of_driver = [&]() -> std::optional<halo::rpc::JobInfo> {
    auto jobs = gcs->GetAllJobs();
    if (!jobs.ok()) return std::nullopt;
    for (const auto& job : *jobs) {
      if (job.driver_pid() == *pid) return job;
    }
    return std::nullopt;
  };
  ASSERT_TRUE(job_of_driver().has_value());
  EXPECT_FALSE(job_of_driver()->is_finished());
  // Its workers carry its driver's address in their environment.
  const std::string marker = "HALO_DRIVER_ADDRESS=" + job_of_driver()->driver_address();
  auto job_workers = [&] {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      auto environ = halo::ReadFileToString(entry.path().string() + "/environ");
      if (!environ.ok()) continue;
      std::replace(environ->begin(), environ->end(), '\0', '\n');
      if (("\n" + *environ + "\n").find("\n" + marker + "\n") != std::string::npos) ++count;
    }
    return count;
  };
  EXPECT_GT(job_workers(), 0);
  // Its large Put object is in the store of its local node, the head's, which runs no tasks.
  EXPECT_EQ(StoreStats(head_node).objects(), stored_before + 1);

  ASSERT_EQ(kill(*pid, SIGKILL), 0);
  ASSERT_TRUE(halo::WaitForProcessExit(*pid, 10000));
  ASSERT_TRUE(halo::testing::WaitUntil([&] { return job_of_driver() && job_of_driver()->is_finished(); },
                                       std::chrono::seconds(30)));
  EXPECT_NE(job_of_driver()->end_reason().find("without Shutdown"), std::string::npos)
      << job_of_driver()->end_reason();
  EXPECT_TRUE(halo::testing::WaitUntil([&] { return job_workers() == 0; }, std::chrono::seconds(30)));
  EXPECT_TRUE(halo::testing::WaitUntil([&] { return StoreStats(head_node).objects() == stored_before; },
                                       std::chrono::seconds(30)));
}

TEST_F(ObjectsTest, PutObjectLostWithItsNodeIsObjectLost) {
  auto ref = halo::Put(MakeBig(3));  // its only copy is in the head node's store
  ASSERT_EQ(kill(head_.NodePid(), SIGKILL), 0);
  ASSERT_TRUE(halo::WaitForProcessExit(head_.NodePid(), 10000));
  try {
    halo::Get(ref, std::chrono::seconds(60));
    FAIL() << "expected ObjectLost";
  } catch (const halo::ObjectLost& error) {
    EXPECT_NE(std::string(error.what()).find("made by Put"), std::string::npos) << error.what();
  }
}

}  // namespace
