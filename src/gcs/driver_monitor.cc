#include "gcs/driver_monitor.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace halo::gcs {

DriverMonitor::DriverMonitor(Executor& executor, health::HealthProber& prober, JobManager& jobs,
                             health::HealthCheckSettings settings)
    : jobs_(jobs), checks_(executor, prober, *this, settings) {}

void DriverMonitor::OnJobChanged(const rpc::JobInfo& job) {
  if (job.is_finished() || job.driver_address().empty()) {
    checks_.RemoveNode(CheckId(job.job_id()));
    return;
  }
  checks_.AddNode(CheckId(job.job_id()), job.driver_address());
}

void DriverMonitor::OnNodeFailed(const std::string& check_id) {
  uint32_t job_id = 0;
  if (!absl::SimpleAtoi(check_id.substr(4), &job_id)) return;
  const std::string reason = "the driver stopped answering health checks (it exited without Shutdown)";
  HALO_LOG_INFO("job {}: {}", job_id, reason);
  jobs_.HandleMarkJobFinished(job_id, reason, [job_id](Status status) {
    if (!status.ok()) HALO_LOG_WARN("could not mark job {} finished: {}", job_id, std::string(status.message()));
  });
}

}  // namespace halo::gcs
