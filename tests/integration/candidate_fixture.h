// One head candidate for head_mode 'ha' tests: a halo-gcs process started directly (its own port and session,
// unsupervised, so the test decides its fate), competing for the leader lease in the given Redis.
#pragma once

#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"
#include "rpc/gcs_client.h"
#include "support/test_env.h"

namespace halo::testing {

class Candidate {
 public:
  explicit Candidate(const RedisServer& redis, std::vector<std::string> extra_args = {}) : port_(FreePort()) {
    SpawnOptions spawn;
    spawn.argv = {BinDir() + "/halo-gcs", "--storage", redis.Uri(), "--head-mode", "ha", "--port",
                  std::to_string(port_), "--session-dir", dir_.path()};
    spawn.argv.insert(spawn.argv.end(), extra_args.begin(), extra_args.end());
    spawn.output_path = dir_.path() + "/gcs.out";
    spawn.die_with_parent = true;
    auto pid = Spawn(spawn);
    EXPECT_TRUE(pid.ok()) << pid.status();
    pid_ = pid.ok() ? *pid : -1;
  }
  ~Candidate() {
    if (pid_ > 0 && ProcessAlive(pid_)) {
      kill(pid_, SIGCONT);
      kill(pid_, SIGKILL);
      WaitForProcessExit(pid_, 5000);
    }
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  const std::string& session_dir() const { return dir_.path(); }
  // What this candidate says of itself (a standby answers too), or nullopt if it does not answer.
  std::optional<rpc::GetClusterInfoReply> Info() const {
    auto info = GcsClient(address(), 500).GetClusterInfo();
    return info.ok() ? std::optional<rpc::GetClusterInfoReply>(*info) : std::nullopt;
  }
  bool Leads() const {
    auto info = Info();
    return info && info->is_leader();
  }
  bool WaitLeading(std::chrono::milliseconds timeout) const { return WaitUntil([&] { return Leads(); }, timeout); }
  bool WaitStandingBy(std::chrono::milliseconds timeout) const {
    return WaitUntil([&] { return Info().has_value(); }, timeout);
  }
  // A standby that has read who leads.
  bool WaitUntilKnowsLeader(const std::string& leader, std::chrono::milliseconds timeout) const {
    return WaitUntil([&] {
      auto info = Info();
      return info && info->leader_address() == leader;
    }, timeout);
  }
  // What it printed, then its log.
  std::string Output() const {
    std::string all;
    for (const char* file : {"/gcs.out", "/logs/gcs.log"}) {
      auto text = ReadFileToString(dir_.path() + file);
      if (text.ok()) all += *text;
    }
    return all;
  }

 private:
  TempDir dir_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace halo::testing
