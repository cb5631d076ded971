#include "core/worker_lease_guard.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "common/logging.h"

namespace halo::core {

StatusOr<std::unique_ptr<WorkerLeaseGuard>> WorkerLeaseGuard::Open(const std::string& path,
                                                                   int64_t check_interval_ms) {
  auto file = LeaseFile::Open(path);
  if (!file.ok()) return file.status();
  return std::unique_ptr<WorkerLeaseGuard>(
      new WorkerLeaseGuard(*std::move(file), std::max<int64_t>(1, check_interval_ms)));
}

bool WorkerLeaseGuard::Valid() const { return LeaseFile::HostMonotonicMs() < file_->DeadlineMs(); }

bool WorkerLeaseGuard::WaitValid(int64_t timeout_ms) const {
  const int64_t until = LeaseFile::HostMonotonicMs() + timeout_ms;
  for (;;) {
    if (Valid()) return true;
    if (LeaseFile::HostMonotonicMs() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void WorkerLeaseGuard::CheckOrExit() const {
  if (Valid()) return;
  // No logger flush or destructor: other threads may be mid-call; the process must stop now.
  static const char kMessage[] =
      "halo worker: its node agent's lease lapsed (the agent is paused, hung or gone); stopping\n";
  (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  _exit(kLeaseLapsedExitCode);
}

void WorkerLeaseGuard::StartWatchdog() const {
  std::thread([this] {
    for (;;) {
      CheckOrExit();
      // Wakes at the deadline itself when it is nearer than the next regular check.
      const int64_t until_deadline = file_->DeadlineMs() - LeaseFile::HostMonotonicMs();
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::clamp<int64_t>(until_deadline, 1, check_interval_ms_)));
    }
  }).detach();
}

}  // namespace halo::core
