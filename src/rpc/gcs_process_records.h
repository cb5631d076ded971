// What a session directory says of its GCS processes when the GCS itself cannot (key=value lines):
// - gcs.exit: why a GCS process last ended. Read by `halo status` while the GCS restarts, and by the next GCS
//   of the session, which records a storage outage as cluster events once storage is back (and removes it).
// - gcs.supervisor: what the supervisor (gcs/supervisor.h) is doing: running its child, or waiting to restart
//   it, or given up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace halo {

enum class ExitCause {
  kStorageUnreachable,  // storage failed or could not be reached
  kDeposed,             // head_mode ha: it lost the leader lease
  kError,               // anything else that ended it with an error
};

struct ExitRecord {
  ExitCause cause = ExitCause::kError;
  int64_t time_ms = 0;   // wall clock
  int64_t since_ms = 0;  // wall clock: when the first of this run of exits of the same cause happened
  int32_t pid = 0;
  std::string message;
};

std::string ExitCauseName(ExitCause cause);  // storage_unreachable | deposed | error

// <session_dir>/gcs.exit
std::string ExitRecordPath(const std::string& session_dir);
Status WriteExitRecord(const std::string& session_dir, const ExitRecord& record);
// nullopt when there is none (or it cannot be read: it is advice, never a reason to fail).
std::optional<ExitRecord> ReadExitRecord(const std::string& session_dir);
void RemoveExitRecord(const std::string& session_dir);

struct SupervisorRecord {
  std::string state;         // running | restarting | gave_up
  int64_t restarts = 0;      // children started after the first
  int32_t child_pid = 0;     // running: the GCS it runs
  int64_t since_ms = 0;      // wall clock: when it entered this state
  int64_t next_start_ms = 0; // restarting: wall clock of the next start
};
Status WriteSupervisorRecord(const std::string& session_dir, const SupervisorRecord& record);
std::optional<SupervisorRecord> ReadSupervisorRecord(const std::string& session_dir);

}  // namespace halo
