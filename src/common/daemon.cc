#include "common/daemon.h"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "common/logging.h"
#include "common/process.h"
#include "common/settings_flags.h"

namespace halo {

std::optional<Settings> LoadDaemonSettings(CLI::App& app, const char* program, int argc, char** argv,
                                           int* exit_code) {
  auto loaded = LoadDaemonSettingsWithSources(app, program, argc, argv, exit_code);
  if (!loaded) return std::nullopt;
  return loaded->values;
}

std::optional<LoadedSettings> LoadDaemonSettingsWithSources(CLI::App& app, const char* program, int argc,
                                                            char** argv, int* exit_code) {
  SettingFlags flags(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_code = app.exit(e);
    return std::nullopt;
  }
  auto loaded = LoadSettings(flags.Inputs());
  if (!loaded.ok()) {
    *exit_code = DaemonError(program, std::string(loaded.status().message()));
    return std::nullopt;
  }
  return *std::move(loaded);
}

sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return stop_signals;
}

Status PrepareDaemonSession(const Settings& settings, const std::string& name, bool write_pid) {
  std::string log_path;
  if (!settings.session_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(settings.session_dir + "/logs", ec);
    if (ec) return InvalidArgumentError("cannot create session directory " + settings.session_dir + ": " + ec.message());
    log_path = settings.session_dir + "/logs/" + name + ".log";
    if (write_pid) {
      HALO_RETURN_IF_ERROR(
          WriteFileAtomically(settings.session_dir + "/" + name + ".pid", std::to_string(getpid()) + "\n"));
    }
  }
  InitLogging(name, log_path, settings.log_level);
  return OkStatus();
}

int DaemonError(const char* program, const std::string& message) {
  std::cerr << program << ": error: " << message << std::endl;
  SPDLOG_ERROR("{}", message);
  return 1;
}

void ExitDaemon(int code) {
  std::cout.flush();
  std::cerr.flush();
  spdlog::shutdown();
  _exit(code);
}

void StartMemoryTrimmer(int64_t interval_ms) {
  std::thread([interval_ms] {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
      malloc_trim(0);
    }
  }).detach();
}

}  // namespace halo
