#include "gcs/job_manager.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gcs/table_names.h"
#include "gcs/write_tracker.h"

namespace halo::gcs {

std::string JobManager::JobKey(uint32_t job_id) { return absl::StrFormat("%08x", job_id); }

Status JobManager::Initialize(const KeyValueMap& meta, const KeyValueMap& rows) {
  auto counter = meta.find(kMetaJobCounter);
  if (counter != meta.end() && !absl::SimpleAtoi(counter->second, &counter_)) {
    return FailedPreconditionError(absl::StrCat("corrupt job counter '", counter->second, "'"));
  }
  for (const auto& [key, bytes] : rows) {
    rpc::JobInfo job;
    if (!job.ParseFromString(bytes)) return FailedPreconditionError(absl::StrCat("corrupt job row ", key));
    // The counter is written with each job, but never trust it below an id we hold.
    counter_ = std::max(counter_, job.job_id());
    jobs_[job.job_id()] = std::move(job);
  }
  return OkStatus();
}

void JobManager::HandleAddJob(const std::string& entrypoint, int32_t driver_pid, const std::string& driver_address,
                              std::function<void(StatusOr<rpc::JobInfo>)> done) {
  rpc::JobInfo job;
  job.set_job_id(++counter_);
  job.set_entrypoint(entrypoint);
  job.set_driver_pid(driver_pid);
  job.set_driver_address(driver_address);
  job.set_start_time_ms(clock_.WallMs());
  auto tracker = WriteTracker::Create(2, [this, job, done = std::move(done)](Status status) {
    if (!status.ok()) return done(status);
    jobs_[job.job_id()] = job;
    if (events_ != nullptr) {
      rpc::ClusterEvent event = MakeEvent(
          rpc::EVENT_JOB_STARTED, absl::StrCat("job ", job.job_id(), " started: ", job.entrypoint(), " (driver pid ",
                                               job.driver_pid(), " at ", job.driver_address(), ")"));
      event.set_job_id(job.job_id());
      events_->Record(std::move(event));
    }
    if (listener_) listener_(job);
    done(job);
  });
  store_.AsyncPut(kMetaTable, kMetaJobCounter, std::to_string(counter_), true, tracker->Callback<bool>(tracker));
  store_.AsyncPut(kJobTable, JobKey(job.job_id()), job.SerializeAsString(), true, tracker->Callback<bool>(tracker));
}

void JobManager::AnnounceLoaded() const {
  if (!listener_) return;
  for (const auto& [id, job] : jobs_) listener_(job);
}

void JobManager::HandleMarkJobFinished(uint32_t job_id, const std::string& reason, std::function<void(Status)> done) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return done(NotFoundError(absl::StrCat("no job with id ", job_id)));
  if (it->second.is_finished()) return done(OkStatus());
  rpc::JobInfo job = it->second;
  job.set_is_finished(true);
  job.set_end_time_ms(clock_.WallMs());
  job.set_end_reason(reason);
  store_.AsyncPut(kJobTable, JobKey(job_id), job.SerializeAsString(), true,
                  [this, job, done = std::move(done)](StatusOr<bool> written) {
                    if (!written.ok()) return done(written.status());
                    jobs_[job.job_id()] = job;
                    if (events_ != nullptr) {
                      rpc::ClusterEvent event = MakeEvent(
                          rpc::EVENT_JOB_FINISHED, absl::StrCat("job ", job.job_id(), " finished: ", job.end_reason()));
                      event.set_job_id(job.job_id());
                      event.set_duration_ms(job.end_time_ms() - job.start_time_ms());
                      events_->Record(std::move(event));
                    }
                    if (listener_) listener_(job);
                    done(OkStatus());
                  });
}

void JobManager::HandleGetAllJobs(std::function<void(std::vector<rpc::JobInfo>)> done) const {
  std::vector<rpc::JobInfo> jobs;
  jobs.reserve(jobs_.size());
  for (const auto& [id, job] : jobs_) jobs.push_back(job);
  done(std::move(jobs));
}

}  // namespace halo::gcs
