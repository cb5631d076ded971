// A real Redis Sentinel deployment on loopback for tests: one primary and replicas (Debian's redis-server,
// append-only with fsync always) and sentinels (Debian's redis-sentinel) monitoring them under one master
// name, each on a free port in its own directory. Every process is killed when the group is destroyed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/test_env.h"

namespace halo::testing {

class RedisSentinelGroup {
 public:
  // Starts everything and waits until each sentinel knows the primary, every replica and the other sentinels
  // (only then can they agree on a failover).
  explicit RedisSentinelGroup(int replicas = 2, int sentinels = 3, std::string master_name = "halo");
  ~RedisSentinelGroup();

  // redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,.../MASTER
  std::string Uri() const;
  const std::string& master_name() const { return master_name_; }
  std::vector<int> sentinel_ports() const;
  // The port of the server the first live sentinel names the primary (0 if none answers).
  int PrimaryPort() const;
  // SIGKILLs the server on port (primary or replica) and waits until it is gone.
  void KillServer(int port);
  // Starts the server that was on port again, on its data directory (as a replica of nobody: Sentinel
  // reconfigures it).
  void RestartServer(int port);
  // SIGKILLs the sentinel at index.
  void KillSentinel(size_t index);
  // Polls until the primary the sentinels name has every live replica online and every live sentinel knows
  // them (after a failover and a restarted server's return).
  bool WaitUntilHealthy(std::chrono::milliseconds timeout) const;
  // Polls until the sentinels name a primary other than old_port and it answers ROLE as master.
  bool WaitForFailover(int old_port, std::chrono::milliseconds timeout) const;
  // redis-cli against the server or sentinel on port; its output, trimmed.
  std::string Cli(int port, const std::vector<std::string>& args) const;

 private:
  struct Process {
    int port = 0;
    pid_t pid = -1;
    std::string dir;
    std::vector<std::string> argv;
  };
  void StartProcess(Process& process, bool is_sentinel);
  Process* ServerOn(int port);

  std::string master_name_;
  TempDir dir_;
  std::vector<Process> servers_;  // [0] starts as the primary
  std::vector<Process> sentinels_;
};

}  // namespace halo::testing
