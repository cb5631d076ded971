// `halo start --head` and `halo stop`.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "common/process.h"
#include "rpc/gcs_client.h"

namespace halo::cli {
namespace {

constexpr char kGcsBinary[] = "halo-gcs";

// The pid recorded in <session>/<name>.pid if that process is alive and is the expected daemon.
std::optional<pid_t> LiveDaemonPid(const std::string& session, const std::string& name, const std::string& binary) {
  auto text = ReadFileToString(session + "/" + name + ".pid");
  if (!text.ok()) return std::nullopt;
  pid_t pid = std::atoi(std::string(absl::StripAsciiWhitespace(*text)).c_str());
  if (pid <= 0 || !ProcessAlive(pid)) return std::nullopt;
  if (ProcessCommandLine(pid).find(binary) == std::string::npos) return std::nullopt;  // pid was reused
  return pid;
}

// The last "halo-gcs: error:" line the daemon printed, or its last line.
std::string DaemonError(const std::string& output_path) {
  auto text = ReadFileToString(output_path);
  if (!text.ok()) return "it exited without saying why";
  std::istringstream lines(*text);
  std::string line, last, error;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    last = line;
    auto pos = line.find("halo-gcs: error: ");
    if (pos != std::string::npos) error = line.substr(pos + 17);
  }
  if (!error.empty()) return error;
  return last.empty() ? "it exited without saying why" : last;
}

}  // namespace

int Fail(const std::string& message) {
  std::cerr << "halo: error: " << message << std::endl;
  return 1;
}

int RunStart(const StartOptions& options, const SettingsInputs& inputs) {
  if (!options.head) {
    return Fail(options.address.empty()
                    ? "say what to start: `halo start --head` starts a head (GCS) on this machine"
                    : "joining a node to a cluster (--address) is not available yet; start a head with --head");
  }
  auto loaded = LoadSettings(inputs);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  const Settings& settings = loaded->values;

  const std::string session = NewSessionDir(settings);
  std::error_code ec;
  std::filesystem::create_directories(session + "/logs", ec);
  if (ec) return Fail(absl::StrCat("cannot create session directory ", session, ": ", ec.message()));
  if (auto running = LiveDaemonPid(session, "gcs", kGcsBinary)) {
    return Fail(absl::StrCat("the GCS of session ", session, " is already running (pid ", *running,
                             "); stop it first with `halo stop --session-dir ", session, "`"));
  }
  std::filesystem::remove(session + "/gcs.address", ec);

  SpawnOptions spawn;
  spawn.argv = {ExecutableDir() + "/" + kGcsBinary};
  for (size_t i = 0; i < options.passthrough.size(); ++i) {
    if (options.passthrough[i] == "--session-dir") {
      ++i;  // replaced by the resolved directory below
      continue;
    }
    spawn.argv.push_back(options.passthrough[i]);
  }
  spawn.argv.push_back("--session-dir");
  spawn.argv.push_back(session);
  spawn.output_path = session + "/logs/gcs.out";
  auto pid = Spawn(spawn);
  if (!pid.ok()) return Fail(std::string(pid.status().message()));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(settings.gcs_start_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ReapIfExited(*pid).has_value() || !ProcessAlive(*pid)) {
      return Fail(absl::StrCat("the GCS could not start: ", DaemonError(spawn.output_path), " (log: ", session,
                               "/logs/)"));
    }
    auto address = ReadFileToString(session + "/gcs.address");
    if (address.ok()) {
      GcsClient client(std::string(absl::StripAsciiWhitespace(*address)), 1000);
      auto info = client.GetClusterInfo();
      if (info.ok()) {
        MarkLatestSession(session);
        std::cout << "Halo head started.\n"
                  << "  GCS address:  " << info->address() << "\n"
                  << "  cluster id:   " << info->cluster_id() << "\n"
                  << "  storage:      " << info->storage_kind() << " " << info->storage_location()
                  << " (namespace " << info->storage_namespace() << ")\n"
                  << "  recovered in: " << info->recovery_ms() << " ms\n"
                  << "  session:      " << session << "\n"
                  << "  GCS pid:      " << info->pid() << "\n"
                  << "Next: halo status --address " << info->address() << "\n";
        return 0;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(*pid, SIGKILL);
  return Fail(absl::StrCat("the GCS did not serve within gcs_start_timeout_ms (", settings.gcs_start_timeout_ms,
                           " ms); it was killed. Log: ", session, "/logs/"));
}

int RunStop(const SettingsInputs& inputs) {
  auto loaded = LoadSettings(inputs);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  const Settings& settings = loaded->values;
  const std::string session = ExistingSessionDir(settings);
  if (session.empty()) return Fail("no session found: pass --session-dir");
  auto pid = LiveDaemonPid(session, "gcs", kGcsBinary);
  if (!pid) {
    std::cout << "Nothing to stop: no daemon of session " << session << " is running.\n";
    return 0;
  }
  kill(*pid, SIGTERM);
  if (WaitForProcessExit(*pid, settings.stop_grace_period_ms)) {
    std::cout << "Stopped halo-gcs (pid " << *pid << ") of session " << session << ".\n";
    return 0;
  }
  kill(*pid, SIGKILL);
  if (!WaitForProcessExit(*pid, 5000)) return Fail(absl::StrCat("halo-gcs (pid ", *pid, ") survived SIGKILL"));
  std::cout << "Killed halo-gcs (pid " << *pid << ") of session " << session << " after "
            << settings.stop_grace_period_ms << " ms without a graceful exit.\n";
  return 0;
}

}  // namespace halo::cli
