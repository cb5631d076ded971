// Starts and stops a real head (`halo start --head`) in its own session directory, and reaches its GCS.
#pragma once

#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "common/process.h"
#include "rpc/gcs_client.h"
#include "support/test_env.h"

namespace halo::testing {

class Head {
 public:
  // extra_args are passed to `halo start --head` after --session-dir and --port 0.
  explicit Head(std::vector<std::string> extra_args = {}, std::string session_dir = "")
      : extra_args_(std::move(extra_args)),
        session_dir_(session_dir.empty() ? dir_.path() + "/session" : std::move(session_dir)) {}
  ~Head() {
    for (pid_t pid : {NodePid(), GcsPid()}) {
      if (pid > 0 && ProcessAlive(pid)) {
        kill(pid, SIGCONT);
        kill(pid, SIGKILL);
        WaitForProcessExit(pid, 5000);
      }
    }
  }

  // The first start picks a free port; later starts (a restart) reuse it, as a real head's fixed port.
  CommandResult Start() {
    const std::string previous = address();
    const std::string port =
        previous.empty() ? std::to_string(FreePort()) : previous.substr(previous.rfind(':') + 1);
    std::vector<std::string> args = {"start", "--head", "--session-dir", session_dir_, "--port", port};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    // Tests control GCS deaths themselves: unsupervised unless a test asks for supervision.
    if (!default_supervision_ && std::find(args.begin(), args.end(), "--gcs-restarts-max") == args.end()) {
      args.insert(args.end(), {"--gcs-restarts-max", "0"});
    }
    return RunHalo(args);
  }
  // Start as a user would: `halo start --head` supervises its GCS by default.
  void UseDefaultSupervision() { default_supervision_ = true; }
  CommandResult Stop() { return RunHalo({"stop", "--session-dir", session_dir_}); }

  std::string address() const { return ReadTrimmedFile(session_dir_ + "/gcs.address"); }
  pid_t GcsPid() const { return PidFile("gcs.pid"); }
  pid_t NodePid() const { return PidFile("node.pid"); }
  std::string NodeId() const { return ReadTrimmedFile(session_dir_ + "/node.id"); }
  // Sends sig to the GCS and waits (bounded) until it is gone.
  bool KillGcs(int sig = SIGKILL) {
    pid_t pid = GcsPid();
    if (pid <= 0) return false;
    kill(pid, sig);
    return WaitForProcessExit(pid, 20000);
  }
  std::unique_ptr<GcsClient> Client(int64_t timeout_ms = 10000) const {
    return std::make_unique<GcsClient>(address(), timeout_ms);
  }
  const std::string& session_dir() const { return session_dir_; }
  std::string GcsOutput() const {
    auto text = ReadFileToString(session_dir_ + "/logs/gcs.out");
    return text.ok() ? *text : "";
  }

 private:
  pid_t PidFile(const std::string& name) const {
    const std::string pid = ReadTrimmedFile(session_dir_ + "/" + name);
    return pid.empty() ? -1 : std::atoi(pid.c_str());
  }
  TempDir dir_;
  std::vector<std::string> extra_args_;
  std::string session_dir_;
  bool default_supervision_ = false;
};

}  // namespace halo::testing
