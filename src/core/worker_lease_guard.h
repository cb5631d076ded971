// A worker's side of its lease from its node agent (node/worker_lease_renewer): a deadline on the host's
// monotonic clock in a file the agent keeps pushing forward. A worker whose lease lapsed (its agent paused,
// hung or gone, or the agent revoked it) must not run or answer another call: CheckOrExit() ends the process
// at once, and a watchdog thread ends it within check_interval_ms even while user code runs. The checks go
// before a call runs and before its reply leaves, so a worker woken from a pause answers nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/lease_file.h"
#include "common/status.h"

namespace halo::core {

// How a worker that stopped itself because its lease lapsed exits.
inline constexpr int kLeaseLapsedExitCode = 75;

class WorkerLeaseGuard {
 public:
  static StatusOr<std::unique_ptr<WorkerLeaseGuard>> Open(const std::string& path, int64_t check_interval_ms);

  bool Valid() const;
  // Waits up to timeout_ms for the lease to hold (a worker started just before its node's first grant).
  bool WaitValid(int64_t timeout_ms) const;
  // Ends the process (kLeaseLapsedExitCode) when the lease lapsed.
  void CheckOrExit() const;
  // Starts a detached thread that calls CheckOrExit every check_interval_ms for the life of the process.
  void StartWatchdog() const;

 private:
  WorkerLeaseGuard(std::unique_ptr<LeaseFile> file, int64_t check_interval_ms)
      : file_(std::move(file)), check_interval_ms_(check_interval_ms) {}
  std::unique_ptr<LeaseFile> file_;
  int64_t check_interval_ms_;
};

}  // namespace halo::core
