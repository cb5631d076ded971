// Process and file helpers shared by the CLI, daemons and tests: spawning a detached daemon, checking
// liveness, waiting with a deadline, and small atomic file writes.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace halo {

struct SpawnOptions {
  std::vector<std::string> argv;              // argv[0] is the executable path
  std::map<std::string, std::string> env;     // added to (or replacing in) the inherited environment
  std::string output_path;                    // stdout and stderr are appended here; empty: /dev/null
  bool new_session = true;                    // setsid(): survives the parent's terminal and process group
  bool die_with_parent = false;               // SIGKILL when the spawning thread's process dies (tests)
};

// Starts a child process. Fails (without a child) if the executable cannot be run.
StatusOr<pid_t> Spawn(const SpawnOptions& options);

// True while the process exists and is not a zombie.
bool ProcessAlive(pid_t pid);
// The process' command line with arguments joined by spaces; empty if it is gone.
std::string ProcessCommandLine(pid_t pid);
// Reaps our own child if it exited (no-op for non-children). Returns its exit status if reaped.
std::optional<int> ReapIfExited(pid_t pid);
// "exit code 3", "killed by signal 9 (Killed)": a waitpid status for people.
std::string DescribeExit(int wait_status);
// Polls until the process is gone or timeout_ms passes. True if it is gone.
bool WaitForProcessExit(pid_t pid, int64_t timeout_ms);

// Directory holding the running executable (for finding sibling binaries such as halo-gcs).
std::string ExecutableDir();

StatusOr<std::string> ReadFileToString(const std::string& path);
// The file's content without surrounding white space (pid, address and id files); empty if unreadable.
std::string ReadTrimmedFile(const std::string& path);
// Writes to path.tmp then renames, so readers see the old or the new content, never a torn one.
Status WriteFileAtomically(const std::string& path, const std::string& content);
// The same with the file's permission bits set to mode from its creation on (0600 for a secret).
Status WriteFileAtomically(const std::string& path, const std::string& content, mode_t mode);

}  // namespace halo
