#include "rpc/gcs_process_records.h"

#include <cstdio>
#include <fstream>
#include <map>

#include "absl/strings/numbers.h"

#include "common/process.h"

namespace halo {

std::string ExitCauseName(ExitCause cause) {
  switch (cause) {
    case ExitCause::kStorageUnreachable:
      return "storage_unreachable";
    case ExitCause::kDeposed:
      return "deposed";
    case ExitCause::kError:
      return "error";
  }
  return "error";
}

std::string ExitRecordPath(const std::string& session_dir) { return session_dir + "/gcs.exit"; }

Status WriteExitRecord(const std::string& session_dir, const ExitRecord& record) {
  std::string message = record.message;
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return WriteFileAtomically(ExitRecordPath(session_dir),
                             "cause=" + ExitCauseName(record.cause) + "\ntime_ms=" + std::to_string(record.time_ms) +
                                 "\nsince_ms=" + std::to_string(record.since_ms) +
                                 "\npid=" + std::to_string(record.pid) + "\nmessage=" + message + "\n");
}

namespace {

std::optional<std::map<std::string, std::string>> ReadFields(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::map<std::string, std::string> fields;
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return fields;
}

}  // namespace

std::optional<ExitRecord> ReadExitRecord(const std::string& session_dir) {
  auto read = ReadFields(ExitRecordPath(session_dir));
  if (!read) return std::nullopt;
  auto& fields = *read;
  ExitRecord record;
  int64_t time_ms = 0;
  int32_t pid = 0;
  if (!absl::SimpleAtoi(fields["time_ms"], &time_ms) || !absl::SimpleAtoi(fields["pid"], &pid)) return std::nullopt;
  if (fields["cause"] == ExitCauseName(ExitCause::kStorageUnreachable)) {
    record.cause = ExitCause::kStorageUnreachable;
  } else if (fields["cause"] == ExitCauseName(ExitCause::kDeposed)) {
    record.cause = ExitCause::kDeposed;
  }
  record.time_ms = time_ms;
  if (!absl::SimpleAtoi(fields["since_ms"], &record.since_ms)) record.since_ms = time_ms;
  record.pid = pid;
  record.message = fields["message"];
  return record;
}

void RemoveExitRecord(const std::string& session_dir) { std::remove(ExitRecordPath(session_dir).c_str()); }

Status WriteSupervisorRecord(const std::string& session_dir, const SupervisorRecord& record) {
  return WriteFileAtomically(session_dir + "/gcs.supervisor",
                             "state=" + record.state + "\nrestarts=" + std::to_string(record.restarts) +
                                 "\nchild_pid=" + std::to_string(record.child_pid) +
                                 "\nsince_ms=" + std::to_string(record.since_ms) +
                                 "\nnext_start_ms=" + std::to_string(record.next_start_ms) + "\n");
}

std::optional<SupervisorRecord> ReadSupervisorRecord(const std::string& session_dir) {
  auto read = ReadFields(session_dir + "/gcs.supervisor");
  if (!read) return std::nullopt;
  auto& fields = *read;
  SupervisorRecord record;
  record.state = fields["state"];
  if (record.state.empty() || !absl::SimpleAtoi(fields["restarts"], &record.restarts) ||
      !absl::SimpleAtoi(fields["child_pid"], &record.child_pid) ||
      !absl::SimpleAtoi(fields["since_ms"], &record.since_ms) ||
      !absl::SimpleAtoi(fields["next_start_ms"], &record.next_start_ms)) {
    return std::nullopt;
  }
  return record;
}

}  // namespace halo
