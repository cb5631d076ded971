// What every Halo daemon does the same way: stop signals handled by one waiting thread, a session
// directory with its logs (and pid file), and a final exit that runs no destructors.
#pragma once

#include <signal.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "common/settings.h"
#include "common/settings_loader.h"

namespace halo {

// Parses argv with the app's own options plus a flag per setting, then loads the settings. On a bad command
// line or bad settings it prints why (as DaemonError) and returns nullopt with the exit code in *exit_code.
std::optional<Settings> LoadDaemonSettings(CLI::App& app, const char* program, int argc, char** argv,
                                           int* exit_code);
// The same, with where each value came from.
std::optional<LoadedSettings> LoadDaemonSettingsWithSources(CLI::App& app, const char* program, int argc,
                                                            char** argv, int* exit_code);

// Blocks SIGTERM and SIGINT in this thread and every thread it starts (call first in main), ignores SIGPIPE,
// and returns the set for sigwait().
sigset_t BlockStopSignals();

// Creates <session_dir>/logs, writes <session_dir>/<name>.pid if write_pid, and sends the log to
// <session_dir>/logs/<name>.log (stderr without a session directory).
Status PrepareDaemonSession(const Settings& settings, const std::string& name, bool write_pid);

// Prints "<program>: error: <message>" on stderr (the line `halo start` reports when a daemon could not
// start), logs it, and returns 1.
int DaemonError(const char* program, const std::string& message);

// Starts a thread that gives memory freed inside the process back to the system every interval_ms
// (malloc_trim): a burst (junk connections, a large listing) must not leave the daemon's resident memory at its
// peak for good. Once per process.
void StartMemoryTrimmer(int64_t interval_ms);

// Flushes output and logs, then ends the process without running destructors: signal and gRPC threads may
// still refer to objects of main's frame.
[[noreturn]] void ExitDaemon(int code);

}  // namespace halo
