// halo-gcs: the control-plane daemon. Normally started by `halo start --head`, which passes the session
// directory and the settings given to it. With gcs_restarts_max != 0 it supervises a child GCS instead
// (gcs/supervisor.h). Exits non-zero with one line "halo-gcs: error: ..." on stderr when
// it cannot start or when its storage fails for good.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "common/daemon.h"
#include "common/logging.h"
#include "common/process.h"
#include "gcs/gcs_server.h"
#include "gcs/supervisor.h"
#include "rpc/cluster_security.h"

namespace {

int Fail(const std::string& message) { return halo::DaemonError("halo-gcs", message); }

// Leaves why this GCS ends in the session (rpc/gcs_process_records.h), for the supervisor, `halo status` and the
// next GCS of the session.
void RecordExit(const halo::Settings& settings, halo::gcs::GcsServer& server, const halo::Status& reason) {
  if (settings.session_dir.empty()) return;
  halo::ExitRecord record;
  record.cause = server.exit_cause();
  record.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  record.pid = getpid();
  record.since_ms = record.time_ms;
  // An outage that outlasts several GCS starts began with the first of them.
  if (auto previous = halo::ReadExitRecord(settings.session_dir); previous && previous->cause == record.cause) {
    record.since_ms = previous->since_ms;
  }
  record.message = std::string(reason.message());
  halo::Status written = halo::WriteExitRecord(settings.session_dir, record);
  if (!written.ok()) SPDLOG_WARN("cannot record why the GCS ends: {}", std::string(written.message()));
}

// Longest a graceful stop may take: giving the lease up (1 s at most) and draining calls (2 s at most).
constexpr int64_t kShutdownBoundMs = 5000;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"halo-gcs: the Halo control-plane server"};
  int exit_code = 0;
  std::optional<halo::Settings> loaded = halo::LoadDaemonSettings(app, "halo-gcs", argc, argv, &exit_code);
  if (!loaded) return exit_code;
  const halo::Settings& settings = *loaded;

  // Stop signals are blocked in every thread; a dedicated thread waits for them.
  const sigset_t stop_signals = halo::BlockStopSignals();
  const bool supervised_child = std::getenv(halo::gcs::kSupervisedChildEnv) != nullptr;
  const bool supervisor = settings.gcs_restarts_max != 0 && !supervised_child;
  // The supervisor owns gcs.pid; the GCS it runs does not write it.
  halo::Status prepared = halo::PrepareDaemonSession(settings, "gcs", /*write_pid=*/!supervised_child);
  if (!prepared.ok()) return Fail(std::string(prepared.message()));
  halo::Status serving_security = halo::rpc::CheckServingSecurity(settings);
  if (!serving_security.ok()) return Fail(std::string(serving_security.message()));
  auto security = halo::rpc::LoadClusterSecurity(settings, settings.session_dir);
  if (!security.ok()) return Fail(std::string(security.status().message()));
  halo::rpc::SetProcessSecurity(*std::move(security));
  halo::StartMemoryTrimmer(settings.memory_trim_interval_ms);
  if (supervisor) {
    halo::ExitDaemon(halo::gcs::SuperviseGcs(settings, std::vector<std::string>(argv, argv + argc), stop_signals));
  }
  std::string storage_path = settings.storage_path;
  if (storage_path.empty()) {
    storage_path = settings.session_dir.empty() ? "halo-storage" : settings.session_dir + "/storage";
  }

  halo::gcs::GcsServer server(settings, storage_path);
  // A stop signal before the server serves (it may be waiting for storage) ends the process at once;
  // after that it asks for a graceful stop.
  std::atomic<bool> serving{false};
  std::thread signal_waiter([&server, &serving, stop_signals] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    if (!serving.load()) {
      std::cerr << "halo-gcs: error: stopped by signal " << signal_number << " before serving" << std::endl;
      _exit(1);
    }
    server.RequestStop(halo::OkStatus());
  });
  signal_waiter.detach();
  // head_mode ha: a standby listens (and can be stopped gracefully) before it leads.
  server.SetListeningCallback([&settings, &serving](const std::string& address) {
    if (!settings.session_dir.empty()) {
      auto written = halo::WriteFileAtomically(settings.session_dir + "/gcs.address", address + "\n");
      if (!written.ok()) std::cerr << "halo-gcs: warning: " << written.message() << std::endl;
    }
    std::cout << "halo-gcs standing by at " << address << " (head candidate)" << std::endl;
    serving.store(true);
  });
  halo::Status started = server.Start();
  if (started.code() == absl::StatusCode::kCancelled) {
    SPDLOG_INFO("GCS stopping: requested while standing by");
    server.Shutdown();
    halo::ExitDaemon(0);
  }
  if (!started.ok()) {
    RecordExit(settings, server, started);
    server.Shutdown();
    return Fail(std::string(started.message()));
  }
  if (!settings.session_dir.empty()) {
    auto written = halo::WriteFileAtomically(settings.session_dir + "/gcs.address", server.address() + "\n");
    if (!written.ok()) return Fail(std::string(written.message()));
  }
  std::cout << "halo-gcs serving at " << server.address() << std::endl;
  serving.store(true);

  halo::Status reason = server.Wait();
  SPDLOG_INFO("GCS stopping: {}", reason.ok() ? "requested" : std::string(reason.message()));
  if (!reason.ok()) {
    RecordExit(settings, server, reason);
    // Deposed, or storage failed for good: stop serving at once, as a crash would (everything acknowledged
    // is already durable). Draining calls would keep answering reads for a while as if still the leader.
    halo::ExitDaemon(Fail(std::string(reason.message())));
  }
  // A graceful stop answers what it can; if some call cannot be finished it is not waited for forever.
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(kShutdownBoundMs));
    SPDLOG_WARN("GCS stopping: shutdown did not finish within {} ms; exiting anyway", kShutdownBoundMs);
    halo::ExitDaemon(0);
  }).detach();
  server.Shutdown();
  halo::ExitDaemon(0);
}
