// Finishes the jobs whose drivers die without calling Shutdown: each running job's driver is health-checked
// (the standard gRPC health service every driver serves), and one that fails the checks has its job marked
// finished with the reason. Jobs loaded at startup are checked again, so a driver that died while the GCS was
// down is found. Finishing a job cannot be undone, so settings.failure_threshold is higher than a node's (a
// busy driver may miss a few checks): driver_failure_threshold. Event-driven on the GCS executor.
#pragma once

#include <memory>
#include <string>

#include "health/health_check_manager.h"
#include "gcs/job_manager.h"

namespace halo::gcs {

class DriverMonitor : public health::HealthCheckListener {
 public:
  DriverMonitor(Executor& executor, health::HealthProber& prober, JobManager& jobs, health::HealthCheckSettings settings);

  // What the job manager hears: running jobs are watched, finished ones no longer.
  void OnJobChanged(const rpc::JobInfo& job);

  void OnNodeSuspected(const std::string&) override {}
  void OnNodeRecovered(const std::string&) override {}
  void OnNodeFailed(const std::string& check_id) override;

  size_t watched() const { return checks_.size(); }

 private:
  static std::string CheckId(uint32_t job_id) { return "job:" + std::to_string(job_id); }

  JobManager& jobs_;
  health::HealthCheckManager checks_;
};

}  // namespace halo::gcs
