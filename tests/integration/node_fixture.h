// A real node agent (`halo start --address GCS`) in its own session directory.
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "common/process.h"
#include "support/test_env.h"

namespace halo::testing {

class Node {
 public:
  ~Node() {
    if (pid_ > 0 && ProcessAlive(pid_)) {
      kill(pid_, SIGCONT);
      kill(pid_, SIGKILL);
      WaitForProcessExit(pid_, 5000);
    }
  }
  CommandResult Start(const std::string& gcs_address, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"start", "--address", gcs_address, "--session-dir", dir_.path()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto result = RunHalo(args);
    const std::string pid = ReadTrimmedFile(dir_.path() + "/node.pid");
    pid_ = pid.empty() ? -1 : std::atoi(pid.c_str());
    id_ = ReadTrimmedFile(dir_.path() + "/node.id");
    return result;
  }
  pid_t pid() const { return pid_; }
  const std::string& id() const { return id_; }
  std::string Output() const {
    auto text = ReadFileToString(dir_.path() + "/logs/node.out");
    return text.ok() ? *text : "";
  }
  std::string Log() const {
    auto text = ReadFileToString(dir_.path() + "/logs/node.log");
    return text.ok() ? *text : "";
  }
  const std::string& session_dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::string id_;
};

}  // namespace halo::testing
