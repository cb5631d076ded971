// The DriverMonitor on fakes: a running job's driver is health-checked; one that stops answering for the
// threshold has its job finished with the reason; a job that finished, or has no driver address, is not watched;
// a driver that misses fewer checks than the threshold keeps its job.
#include <gtest/gtest.h>

#include <set>

#include "gcs/driver_monitor.h"
#include "storage/memory_store.h"
#include "support/fake_executor.h"

namespace halo::gcs {
namespace {

// Probes of addresses in `down` fail, the others succeed, answered at once.
class AddressProber : public health::HealthProber {
 public:
  explicit AddressProber(Executor& executor) : executor_(executor) {}
  void Probe(const std::string&, const std::string& address, int64_t, std::function<void(bool)> done) override {
    ++probes;
    const bool healthy = down.count(address) == 0;
    executor_.Post([done = std::move(done), healthy] { done(healthy); });
  }
  std::set<std::string> down;
  int probes = 0;

 private:
  Executor& executor_;
};

class DriverMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(jobs_.Initialize({}, {}).ok());
    jobs_.SetListener([this](const rpc::JobInfo& job) { monitor_.OnJobChanged(job); });
  }
  uint32_t AddJob(const std::string& driver_address) {
    uint32_t id = 0;
    jobs_.HandleAddJob("driver", 1, driver_address, [&](StatusOr<rpc::JobInfo> job) { id = job->job_id(); });
    executor_.RunUntilIdle();
    return id;
  }
  rpc::JobInfo Job(uint32_t id) {
    rpc::JobInfo found;
    jobs_.HandleGetAllJobs([&](std::vector<rpc::JobInfo> all) {
      for (const auto& job : all) {
        if (job.job_id() == id) found = job;
      }
    });
    return found;
  }

  static constexpr int64_t kPeriodMs = 100;
  static constexpr int64_t kFailureThreshold = 10;  // driver_failure_threshold's default
  testing::FakeExecutor executor_;
  MemoryStore store_{executor_};
  AddressProber prober_{executor_};
  JobManager jobs_{store_, executor_};
  DriverMonitor monitor_{executor_, prober_, jobs_,
                         health::HealthCheckSettings{0, kPeriodMs, 50, kFailureThreshold}};
};

TEST_F(DriverMonitorTest, ADriverThatStopsAnsweringFinishesItsJobWithTheReason) {
  const uint32_t job = AddJob("driver-a:1");
  EXPECT_EQ(monitor_.watched(), 1u);
  executor_.AdvanceMs(20 * kPeriodMs);
  EXPECT_FALSE(Job(job).is_finished()) << "an answering driver keeps its job";
  prober_.down.insert("driver-a:1");
  executor_.AdvanceMs(kFailureThreshold * kPeriodMs * 3);
  const rpc::JobInfo finished = Job(job);
  EXPECT_TRUE(finished.is_finished());
  EXPECT_NE(finished.end_reason().find("stopped answering health checks"), std::string::npos) << finished.end_reason();
  EXPECT_EQ(monitor_.watched(), 0u) << "a finished job's driver is no longer checked";
}

TEST_F(DriverMonitorTest, AFewMissedChecksDoNotEndAJob) {
  const uint32_t job = AddJob("driver-b:1");
  executor_.AdvanceMs(5 * kPeriodMs);
  prober_.down.insert("driver-b:1");
  executor_.AdvanceMs((kFailureThreshold / 2) * kPeriodMs);
  prober_.down.clear();
  executor_.AdvanceMs(20 * kPeriodMs);
  EXPECT_FALSE(Job(job).is_finished());
  EXPECT_EQ(monitor_.watched(), 1u);
}

TEST_F(DriverMonitorTest, JobsWithoutADriverAddressOrFinishedAreNotWatched) {
  AddJob("");
  EXPECT_EQ(monitor_.watched(), 0u);
  const uint32_t job = AddJob("driver-c:1");
  ASSERT_EQ(monitor_.watched(), 1u);
  jobs_.HandleMarkJobFinished(job, "Shutdown", [](Status) {});
  executor_.RunUntilIdle();
  EXPECT_EQ(monitor_.watched(), 0u);
  const int probes = prober_.probes;
  executor_.AdvanceMs(20 * kPeriodMs);
  EXPECT_EQ(prober_.probes, probes) << "no probe of a finished job's driver";
}

}  // namespace
}  // namespace halo::gcs
