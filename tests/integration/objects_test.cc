// Large objects on a real cluster: results and Put values past object_inline_max_bytes stay in node stores,
// move between nodes in chunks, spill to disk past the store's capacity, and are rebuilt from lineage when
// the node holding them dies. Runs in task_tests (whose main serves worker mode).
#include <signal.h>

#include <numeric>

#include <gtest/gtest.h>

#include "common/process.h"
#include "halo/halo.h"
#include "integration/head_fixture.h"
#include "integration/node_fixture.h"
#include "integration/driver_helpers.h"

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

HALO_REMOTE(MakeBig, AddOne, Total);

int64_t ExpectedTotal(int seed) { return int64_t{kBigInts} * seed + int64_t{kBigInts} * (kBigInts - 1) / 2; }

using halo::testing::Head;
using halo::testing::Node;

using halo::testing::InitDriver;
using halo::testing::StoreStats;

// The head offers no CPUs: tasks run on the two node agents; the driver's local node is the head's.
class ObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = head_.Start();
    ASSERT_EQ(started.exit_code, 0) << started.output;
    for (auto& node : nodes_) {
      auto joined = node.Start(head_.address(), {"--num-cpus", "2"});
      ASSERT_EQ(joined.exit_code, 0) << joined.output;
    }
    InitDriver(head_.address());
  }
  void TearDown() override { halo::Shutdown(); }

  Head head_{{"--num-cpus", "0", "--object-store-memory-bytes", "1500000"}};
  Node nodes_[2];
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
  // The node about to die holds some of them (so something must be rebuilt).
  ASSERT_GT(StoreStats(halo::ReadTrimmedFile(nodes_[0].session_dir() + "/node.address")).objects(), 0u);

  ASSERT_EQ(kill(nodes_[0].pid(), SIGKILL), 0);
  ASSERT_TRUE(halo::WaitForProcessExit(nodes_[0].pid(), 10000));

  // Everything that depended on the dead node's copies is rebuilt (recursively through the chain).
  std::vector<halo::ObjectRef<int64_t>> totals;
  for (const auto& ref : fan) totals.push_back(halo::Task(Total).Remote(ref));
  auto chain_total = halo::Task(Total).Remote(chain);
  auto values = halo::Get(totals, std::chrono::seconds(120));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*values[i], ExpectedTotal(i)) << i;
  EXPECT_EQ(*halo::Get(chain_total, std::chrono::seconds(120)), ExpectedTotal(19));
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
