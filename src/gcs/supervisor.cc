#include "gcs/supervisor.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "common/backoff.h"
#include "common/logging.h"
#include "common/process.h"
#include "rpc/gcs_process_records.h"

namespace halo::gcs {
namespace {

// A child that served this long before dying was healthy: the next pause starts small again.
constexpr int64_t kHealthyRunMs = 10000;
constexpr int64_t kFirstDelayMs = 100;

// Waits up to timeout_ms (-1: without bound) for a stop signal or SIGCHLD; returns the signal, or 0.
int WaitForSignal(const sigset_t& signals, int64_t timeout_ms) {
  if (timeout_ms < 0) {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    return signal_number;
  }
  timespec timeout{static_cast<time_t>(timeout_ms / 1000), static_cast<long>((timeout_ms % 1000) * 1000000)};
  const int signal_number = sigtimedwait(&signals, nullptr, &timeout);
  return signal_number < 0 ? 0 : signal_number;
}

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the supervisor does now, for `halo status` (rpc/gcs_process_records.h). Advice only: never fatal.
void Record(const std::string& session, SupervisorRecord record) {
  if (session.empty()) return;
  record.since_ms = WallNowMs();
  Status written = WriteSupervisorRecord(session, record);
  if (!written.ok()) HALO_LOG_WARN("cannot record the supervisor's state: {}", std::string(written.message()));
}

}  // namespace

int SuperviseGcs(const Settings& settings, const std::vector<std::string>& argv, const sigset_t& stop_signals) {
  sigset_t signals = stop_signals;
  sigaddset(&signals, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const std::string session = settings.session_dir;
  const std::string address_file = absl::StrCat(session, "/gcs.address");
  ExponentialBackoff backoff(kFirstDelayMs, std::max<int64_t>(kFirstDelayMs, settings.gcs_restart_delay_max_ms));
  int64_t restarts = 0;
  bool served = false;
  std::string port;  // the first child's port, once it served
  for (;;) {
    SpawnOptions spawn;
    spawn.argv = argv;
    spawn.argv[0] = ExecutableDir() + "/halo-gcs";
    if (!port.empty()) spawn.argv.insert(spawn.argv.end(), {"--port", port});
    spawn.env.emplace(kSupervisedChildEnv, std::string(1, '1'));
    if (!session.empty()) spawn.output_path = absl::StrCat(session, "/logs/gcs.out");
    spawn.new_session = false;
    spawn.die_with_parent = true;
    auto child = Spawn(spawn);
    if (!child.ok()) {
      HALO_LOG_ERROR("cannot start the GCS: {}", std::string(child.status().message()));
      return 1;
    }
    const auto started = std::chrono::steady_clock::now();
    Record(session, SupervisorRecord{"running", restarts, *child, 0, 0});
    int status = 0;
    for (;;) {
      const int signal_number = WaitForSignal(signals, -1);
      if (signal_number != SIGCHLD) {
        // Stop: the child stops gracefully (it has stop_grace_period_ms), then the supervisor follows it.
        kill(*child, SIGTERM);
        if (!WaitForProcessExit(*child, settings.stop_grace_period_ms)) kill(*child, SIGKILL);
        return 0;
      }
      if (auto reaped = ReapIfExited(*child)) {
        status = *reaped;
        break;
      }
    }
    const std::string address = ReadTrimmedFile(address_file);
    if (!served && address.empty()) return WIFEXITED(status) ? std::max(1, WEXITSTATUS(status)) : 1;
    served = true;
    if (port.empty() && address.rfind(':') != std::string::npos) port = address.substr(address.rfind(':') + 1);
    if (settings.gcs_restarts_max >= 0 && restarts >= settings.gcs_restarts_max) {
      HALO_LOG_ERROR("the GCS (pid {}) ended ({}); it was restarted {} time(s), gcs_restarts_max={}: giving up",
                     *child, DescribeExit(status), restarts, settings.gcs_restarts_max);
      Record(session, SupervisorRecord{"gave_up", restarts, 0, 0, 0});
      return 1;
    }
    const int64_t ran_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                                 started)
                               .count();
    if (ran_ms >= kHealthyRunMs) backoff.Reset();
    const int64_t delay_ms = backoff.NextDelayMs();
    restarts += 1;
    HALO_LOG_WARN("the GCS (pid {}) ended ({}) after {} ms; restarting it in {} ms (restart {})", *child,
                  DescribeExit(status), ran_ms, delay_ms, restarts);
    Record(session, SupervisorRecord{"restarting", restarts, 0, 0, WallNowMs() + delay_ms});
    const auto resume = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
    for (;;) {
      const int64_t left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  resume - std::chrono::steady_clock::now())
                                  .count();
      if (left_ms <= 0) break;
      const int signal_number = WaitForSignal(signals, left_ms);
      if (signal_number != 0 && signal_number != SIGCHLD) return 0;  // stopped during the pause
    }
  }
}

}  // namespace halo::gcs
