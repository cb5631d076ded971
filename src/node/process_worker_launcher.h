// The production WorkerLauncher and ExecutableStore: worker processes that die with their node agent and log
// to the session, and executables fetched from drivers over gRPC into a content-addressed cache.
#pragma once

#include <functional>
#include <string>

#include "common/executor.h"
#include "node/worker_launcher.h"

namespace halo::node {

class ProcessWorkerLauncher : public WorkerLauncher {
 public:
  explicit ProcessWorkerLauncher(std::string log_dir) : log_dir_(std::move(log_dir)) {}
  StatusOr<int> Start(const std::string& executable, const std::map<std::string, std::string>& env,
                      const std::string& worker_id) override;
  void Kill(int pid) override;

 private:
  std::string log_dir_;
};

// Keeps <cache_dir>/<sha256>; a fetch streams the file from the driver (or, for a program without a driver
// such as a service's, an empty driver address, from the GCS's executable store), checks its SHA-256, and
// renames it into place. Fetches run on their own thread; results are posted to the executor.
class GrpcExecutableStore : public ExecutableStore {
 public:
  // gcs_addresses: the head candidates ("h1:port,h2:port"), read at each fetch.
  GrpcExecutableStore(Executor& executor, std::string cache_dir, int64_t timeout_ms,
                      std::function<std::string()> gcs_addresses)
      : executor_(executor),
        cache_dir_(std::move(cache_dir)),
        timeout_ms_(timeout_ms),
        gcs_addresses_(std::move(gcs_addresses)) {}
  void Fetch(const std::string& sha256, const std::string& driver_address,
             std::function<void(StatusOr<std::string>)> done) override;
  void Forget(const std::string& sha256) override;

 private:
  StatusOr<std::string> FetchNow(const std::string& sha256, const std::string& driver_address);

  Executor& executor_;
  std::string cache_dir_;
  int64_t timeout_ms_;
  std::function<std::string()> gcs_addresses_;
};

}  // namespace halo::node
