// The workers' lease: the node agent's renewer on a fake clock, and the shared lease file a worker reads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

#include "common/lease_file.h"
#include "core/worker_lease_guard.h"
#include "node/worker_lease_renewer.h"
#include "support/fake_executor.h"
#include "support/test_env.h"

namespace halo {
namespace {

using halo::testing::FakeExecutor;

TEST(WorkerLeaseRenewer, RenewsEveryQuarterLeaseWhileItsExecutorRuns) {
  FakeExecutor executor;
  std::vector<int64_t> written;
  node::WorkerLeaseRenewer renewer(executor, executor, 1000, [&](int64_t d) { written.push_back(d); });
  renewer.Start();
  ASSERT_EQ(written, (std::vector<int64_t>{1000}));
  executor.AdvanceMs(250);
  EXPECT_EQ(written.back(), 1250);
  executor.AdvanceMs(750);
  EXPECT_EQ(written.back(), 2000);
  EXPECT_EQ(written.size(), 5u);
}

// A paused agent is one whose executor runs nothing: the last deadline written is at most lease_ms after its
// last renewal, so its workers stop by then.
TEST(WorkerLeaseRenewer, DeadlineNeverPassesItsLimitAndRevokeEndsItAtOnce) {
  FakeExecutor executor;
  int64_t deadline = -1;
  node::WorkerLeaseRenewer renewer(executor, executor, 1000, [&](int64_t d) { deadline = d; });
  renewer.Start();
  renewer.LimitTo(600);
  EXPECT_EQ(deadline, 600) << "a lowered limit applies at once";
  executor.AdvanceMs(500);
  EXPECT_EQ(deadline, 600);
  renewer.Revoke();
  EXPECT_EQ(deadline, 0);
  executor.AdvanceMs(5000);
  EXPECT_EQ(deadline, 0) << "never renewed after a revoke";
}

TEST(LeaseFile, ReaderSeesWhatTheWriterSets) {
  halo::testing::TempDir dir;
  const std::string path = dir.path() + "/lease";
  auto writer = LeaseFile::Create(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  auto reader = LeaseFile::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->DeadlineMs(), 0) << "a new lease file has lapsed";
  (*writer)->SetDeadlineMs(LeaseFile::HostMonotonicMs() + 60'000);
  auto guard = core::WorkerLeaseGuard::Open(path, 10);
  ASSERT_TRUE(guard.ok()) << guard.status();
  EXPECT_TRUE((*guard)->Valid());
  (*writer)->SetDeadlineMs(LeaseFile::HostMonotonicMs() - 1);
  EXPECT_FALSE((*guard)->Valid());
  EXPECT_EQ(LeaseFile::Open(dir.path() + "/missing").status().code(), absl::StatusCode::kNotFound);
}

TEST(WorkerLeaseGuard, LapsedLeaseEndsTheProcessWithItsExitCode) {
  halo::testing::TempDir dir;
  const std::string path = dir.path() + "/lease";
  auto writer = LeaseFile::Create(path);
  ASSERT_TRUE(writer.ok());
  (*writer)->SetDeadlineMs(LeaseFile::HostMonotonicMs() + 200);
  auto guard = core::WorkerLeaseGuard::Open(path, 5);
  ASSERT_TRUE(guard.ok());
  EXPECT_EXIT(
      {
        (*guard)->StartWatchdog();
        for (int i = 0; i < 1000; ++i) usleep(10'000);  // bounded: 10 s, far past the 200 ms lease
        _exit(0);
      },
      ::testing::ExitedWithCode(core::kLeaseLapsedExitCode), "lease lapsed");
}

}  // namespace
}  // namespace halo
