// The halo command's subcommands. Each returns the process exit code and prints one line
// "halo: error: ..." on failure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/settings_loader.h"

namespace halo::cli {

struct StartOptions {
  bool head = false;
  bool ha = false;  // the head is one of several candidates (head_mode ha)
  std::string address;  // node agents join this cluster (a later release)
  std::vector<std::string> passthrough;  // given setting flags, for the daemon
};

int RunStart(const StartOptions& options, const SettingsInputs& inputs);
int RunStop(const SettingsInputs& inputs);
int RunStatus(const std::string& address, bool json, const SettingsInputs& inputs);
int RunConfig(const SettingsInputs& inputs, bool json);

struct KvCommand {
  std::string action;  // put | get | del | list | exists
  std::string key;
  std::string value;
  std::string name_space = "default";
  bool no_overwrite = false;
  bool by_prefix = false;
};
int RunKv(const KvCommand& command, const std::string& address, const SettingsInputs& inputs);
int RunJobs(const std::string& address, bool json, const SettingsInputs& inputs);
int RunStorageCleanup(const SettingsInputs& inputs);
int RunListNodes(const std::string& address, bool json, const SettingsInputs& inputs);
int RunListActors(const std::string& address, bool json, const SettingsInputs& inputs);
int RunDrain(const std::string& node_id, const std::string& reason, double deadline_s, const std::string& address,
             const SettingsInputs& inputs);
struct EventsOptions {
  bool follow = false;
  bool json = false;                // one JSON object per line
  std::vector<std::string> kinds;   // node_dead, actor_restarted, ... or a prefix (node, actor); none: every kind
  int64_t last = 100;               // start with at most this many of the newest events
  std::string address;
};
// The cluster event log; with follow, keeps printing new events (across GCS restarts and failovers).
int RunEvents(const EventsOptions& options, const SettingsInputs& inputs);

// Prints what the service config at path would deploy, or the one line naming its mistake (exit 1).
int RunServeValidate(const std::string& path, bool json);
// Checks the config against the executable, uploads it, deploys, and waits until the new version serves.
int RunServeDeploy(const std::string& executable, const std::string& config_path, const std::string& address,
                   const SettingsInputs& inputs);
int RunServeStatus(const std::string& name, bool json, const std::string& address, const SettingsInputs& inputs);
int RunServeDelete(const std::string& name, const std::string& address, const SettingsInputs& inputs);

struct MicrobenchmarkOptions {
  std::string address;     // empty: start a local cluster for the run
  double duration_s = 2;   // per metric
  int clients = 2;         // multi_client_tasks_async
};
int RunMicrobenchmark(const MicrobenchmarkOptions& options);

// HH:MM:SS.mmm of a wall-clock time, in local time.
std::string ClockText(int64_t wall_ms);

// Prints "halo: error: <message>" to stderr and returns 1.
int Fail(const std::string& message);

}  // namespace halo::cli
