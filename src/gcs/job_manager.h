// Jobs (drivers): add, mark finished, list. Job ids come from a counter persisted in META, so ids are never
// reused across GCS restarts. A job is acknowledged only after its row and the counter are durable.
// Event-driven on the GCS executor; no gRPC types.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "common/executor.h"
#include "gcs/event_log.h"
#include "proto/gcs.pb.h"
#include "storage/store_client.h"

namespace halo::gcs {

class JobManager {
 public:
  JobManager(StoreClient& store, Clock& clock) : store_(store), clock_(clock) {}

  // meta: the loaded META table (for the counter); rows: the loaded JOBS table.
  Status Initialize(const KeyValueMap& meta, const KeyValueMap& rows);

  void HandleAddJob(const std::string& entrypoint, int32_t driver_pid, const std::string& driver_address,
                    std::function<void(StatusOr<rpc::JobInfo>)> done);
  // NotFound for an unknown id. Marking a finished job again is a no-op.
  void HandleMarkJobFinished(uint32_t job_id, const std::string& reason, std::function<void(Status)> done);
  // Hears of every job once it is durable: added, loaded at startup, or finished.
  void SetListener(std::function<void(const rpc::JobInfo&)> listener) { listener_ = std::move(listener); }
  // Jobs started and finished are recorded here.
  void SetEventLog(EventLog* events) { events_ = events; }
  // Tells the listener of every job loaded from storage.
  void AnnounceLoaded() const;
  void HandleGetAllJobs(std::function<void(std::vector<rpc::JobInfo>)> done) const;

  uint32_t job_counter() const { return counter_; }
  static std::string JobKey(uint32_t job_id);

 private:
  StoreClient& store_;
  Clock& clock_;
  uint32_t counter_ = 0;
  std::map<uint32_t, rpc::JobInfo> jobs_;  // as acknowledged
  std::function<void(const rpc::JobInfo&)> listener_;
  EventLog* events_ = nullptr;
};

}  // namespace halo::gcs
