// GCS managers on a fake executor and the memory store: no threads, no sockets, no real time.
#include <gtest/gtest.h>

#include "common/random.h"
#include "gcs/cluster_manager.h"
#include "gcs/job_manager.h"
#include "gcs/kv_manager.h"
#include "gcs/table_names.h"
#include "storage/memory_store.h"
#include "support/fake_executor.h"

namespace halo::gcs {
namespace {

// Forwards to a MemoryStore but fails every write while `fail_writes` is set.
class FlakyStore : public MemoryStore {
 public:
  using MemoryStore::MemoryStore;
  bool fail_writes = false;
  void AsyncPut(const std::string& table, const std::string& key, std::string value, bool overwrite,
                std::function<void(StatusOr<bool>)> done) override {
    if (fail_writes) return done(UnavailableError("injected write failure"));
    MemoryStore::AsyncPut(table, key, std::move(value), overwrite, std::move(done));
  }
};

class GcsManagersTest : public ::testing::Test {
 protected:
  KeyValueMap Table(const std::string& name) {
    KeyValueMap rows;
    store_.AsyncGetAll(name, [&](StatusOr<KeyValueMap> r) { rows = *r; });
    executor_.RunUntilIdle();
    return rows;
  }
  testing::FakeExecutor executor_;
  FlakyStore store_{executor_};
  SeededRandom random_{42};
};

TEST_F(GcsManagersTest, NewClusterGetsAnIdThatARestartKeeps) {
  ClusterManager first(store_, executor_, random_);
  Status status = InternalError("not called");
  first.Initialize({}, [&](Status s) { status = s; });
  executor_.RunUntilIdle();
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(first.cluster_id().size(), 28u);

  SeededRandom other_seed(7);
  ClusterManager restarted(store_, executor_, other_seed);
  restarted.Initialize(Table(kMetaTable), [&](Status s) { status = s; });
  executor_.RunUntilIdle();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(restarted.cluster_id(), first.cluster_id());
}

TEST_F(GcsManagersTest, IncompatibleStorageFormatIsRefused) {
  ClusterManager manager(store_, executor_, random_);
  Status status;
  manager.Initialize({{kMetaFormatVersion, "999"}, {kMetaClusterId, "abc"}}, [&](Status s) { status = s; });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("incompatible Halo version (storage format 999"), std::string::npos) << status;
}

TEST_F(GcsManagersTest, KvWriteIsVisibleOnlyAfterStorageAcknowledgesIt) {
  KvManager kv(store_, KvLimits{});
  kv.Initialize({});
  bool acknowledged = false;
  kv.HandlePut("ns", "k", "v", true, [&](StatusOr<bool> added) { acknowledged = added.ok() && *added; });
  std::optional<std::string> seen = "unset";
  kv.HandleGet("ns", "k", [&](auto v) { seen = *v; });
  EXPECT_EQ(seen, std::nullopt);  // storage has not answered yet
  executor_.RunUntilIdle();
  EXPECT_TRUE(acknowledged);
  kv.HandleGet("ns", "k", [&](auto v) { seen = *v; });
  EXPECT_EQ(seen, "v");
  EXPECT_EQ(Table(kKvTable).count(KvManager::StoredKey("ns", "k")), 1u);
}

TEST_F(GcsManagersTest, KvFailedWriteIsNotAcknowledgedNorVisible) {
  KvManager kv(store_, KvLimits{});
  kv.Initialize({});
  store_.fail_writes = true;
  Status status;
  kv.HandlePut("ns", "k", "v", true, [&](StatusOr<bool> added) { status = added.status(); });
  executor_.RunUntilIdle();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  bool exists = true;
  kv.HandleExists("ns", "k", [&](StatusOr<bool> e) { exists = *e; });
  EXPECT_FALSE(exists);
}

TEST_F(GcsManagersTest, KvNamespacesPrefixesAndDeletes) {
  KvManager kv(store_, KvLimits{});
  kv.Initialize({});
  for (auto [ns, key] : std::vector<std::pair<std::string, std::string>>{
           {"a", "x1"}, {"a", "x2"}, {"a", "y"}, {"ab", "x3"}, {"", "x4"}}) {
    kv.HandlePut(ns, key, "v", true, [](StatusOr<bool>) {});
  }
  executor_.RunUntilIdle();
  std::vector<std::string> keys;
  kv.HandleKeys("a", "x", [&](auto k) { keys = *k; });
  EXPECT_EQ(keys, (std::vector<std::string>{"x1", "x2"}));
  int64_t deleted = -1;
  kv.HandleDel("a", "x", true, [&](StatusOr<int64_t> n) { deleted = *n; });
  executor_.RunUntilIdle();
  EXPECT_EQ(deleted, 2);
  kv.HandleKeys("a", "", [&](auto k) { keys = *k; });
  EXPECT_EQ(keys, (std::vector<std::string>{"y"}));
  kv.HandleKeys("ab", "", [&](auto k) { keys = *k; });
  EXPECT_EQ(keys, (std::vector<std::string>{"x3"}));

  // A restarted manager sees exactly what was acknowledged.
  KvManager restarted(store_, KvLimits{});
  restarted.Initialize(Table(kKvTable));
  EXPECT_EQ(restarted.size(), 3u);
}

TEST_F(GcsManagersTest, KvRefusesOversizedValuesAndEmptyKeys) {
  KvManager kv(store_, KvLimits{10, 100});
  Status status;
  kv.HandlePut("ns", "k", std::string(11, 'x'), true, [&](StatusOr<bool> r) { status = r.status(); });
  EXPECT_NE(status.message().find("kv_value_max_bytes"), std::string::npos);
  kv.HandlePut("ns", "", "v", true, [&](StatusOr<bool> r) { status = r.status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(GcsManagersTest, KvListIsBounded) {
  KvManager kv(store_, KvLimits{100, 3});
  for (int i = 0; i < 4; ++i) kv.HandlePut("ns", "k" + std::to_string(i), "v", true, [](StatusOr<bool>) {});
  executor_.RunUntilIdle();
  Status status;
  kv.HandleKeys("ns", "k", [&](auto k) { status = k.status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(GcsManagersTest, JobIdsComeFromAPersistedCounterAndAreNeverReused) {
  JobManager jobs(store_, executor_);
  ASSERT_TRUE(jobs.Initialize({}, {}).ok());
  std::vector<uint32_t> ids;
  for (int i = 0; i < 3; ++i) {
    jobs.HandleAddJob("driver", 100 + i, "", [&](StatusOr<rpc::JobInfo> job) { ids.push_back(job->job_id()); });
  }
  executor_.RunUntilIdle();
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 2, 3}));
  Status finished = InternalError("not called");
  jobs.HandleMarkJobFinished(2, "test", [&](Status s) { finished = s; });
  executor_.RunUntilIdle();
  EXPECT_TRUE(finished.ok());
  jobs.HandleMarkJobFinished(77, "test", [&](Status s) { finished = s; });
  EXPECT_EQ(finished.code(), absl::StatusCode::kNotFound);

  JobManager restarted(store_, executor_);
  ASSERT_TRUE(restarted.Initialize(Table(kMetaTable), Table(kJobTable)).ok());
  EXPECT_EQ(restarted.job_counter(), 3u);
  std::vector<rpc::JobInfo> all;
  restarted.HandleGetAllJobs([&](std::vector<rpc::JobInfo> j) { all = j; });
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(all[1].is_finished());
  EXPECT_FALSE(all[0].is_finished());
  uint32_t next = 0;
  restarted.HandleAddJob("driver", 1, "", [&](StatusOr<rpc::JobInfo> job) { next = job->job_id(); });
  executor_.RunUntilIdle();
  EXPECT_EQ(next, 4u);
}

TEST_F(GcsManagersTest, JobNotAcknowledgedWhenItsWriteFails) {
  JobManager jobs(store_, executor_);
  ASSERT_TRUE(jobs.Initialize({}, {}).ok());
  store_.fail_writes = true;
  Status status;
  jobs.HandleAddJob("driver", 1, "", [&](StatusOr<rpc::JobInfo> job) { status = job.status(); });
  executor_.RunUntilIdle();
  EXPECT_FALSE(status.ok());
  std::vector<rpc::JobInfo> all;
  jobs.HandleGetAllJobs([&](std::vector<rpc::JobInfo> j) { all = j; });
  EXPECT_TRUE(all.empty());
}

}  // namespace
}  // namespace halo::gcs
