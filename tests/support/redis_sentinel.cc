#include "support/redis_sentinel.h"

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/process.h"

namespace halo::testing {

RedisSentinelGroup::RedisSentinelGroup(int replicas, int sentinels, std::string master_name)
    : master_name_(std::move(master_name)) {
  for (int i = 0; i <= replicas; ++i) {
    Process server;
    server.port = FreePort();
    server.dir = absl::StrCat(dir_.path(), "/server", i);
    std::filesystem::create_directories(server.dir);
    server.argv = {"/usr/bin/redis-server", "--port", std::to_string(server.port), "--bind", "127.0.0.1", "--dir",
                   server.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode",
                   "no", "--daemonize", "no", "--logfile", server.dir + "/redis.log"};
    if (i > 0) {
      server.argv.insert(server.argv.end(), {"--replicaof", "127.0.0.1", std::to_string(servers_[0].port)});
    }
    servers_.push_back(server);
    StartProcess(servers_.back(), false);
  }
  // Connected and done with their first sync: only then do they acknowledge writes (WAIT counts them).
  const bool replicas_synced = WaitUntil(
      [&] {
        const std::string info = Cli(servers_[0].port, {"INFO", "replication"});
        int online = 0;
        for (size_t at = info.find("state=online"); at != std::string::npos; at = info.find("state=online", at + 1)) {
          ++online;
        }
        return online == replicas;
      },
      std::chrono::seconds(30));
  if (!replicas_synced) throw std::runtime_error("the replicas did not connect to the primary");
  for (int i = 0; i < sentinels; ++i) {
    Process sentinel;
    sentinel.port = FreePort();
    sentinel.dir = absl::StrCat(dir_.path(), "/sentinel", i);
    std::filesystem::create_directories(sentinel.dir);
    const std::string config = sentinel.dir + "/sentinel.conf";
    const std::string text = absl::StrCat(
        "port ", sentinel.port, "\nbind 127.0.0.1\nprotected-mode no\ndir ", sentinel.dir, "\nlogfile ",
        sentinel.dir, "/sentinel.log\nsentinel monitor ", master_name_, " 127.0.0.1 ", servers_[0].port, " ",
        sentinels / 2 + 1, "\nsentinel down-after-milliseconds ", master_name_, " 1000\nsentinel failover-timeout ",
        master_name_, " 10000\nsentinel parallel-syncs ", master_name_, " 1\n");
    if (!WriteFileAtomically(config, text).ok()) throw std::runtime_error("cannot write " + config);
    sentinel.argv = {"/usr/bin/redis-sentinel", config};
    sentinels_.push_back(sentinel);
    StartProcess(sentinels_.back(), true);
  }
  const bool acquainted = WaitUntil(
      [&] {
        for (const auto& s : sentinels_) {
          const std::string master = Cli(s.port, {"SENTINEL", "master", master_name_});
          auto count = [&](const std::string& field) {
            auto at = master.find(field + "\n");
            int value = -1;
            if (at == std::string::npos) return -1;
            auto end = master.find('\n', at + field.size() + 1);
            absl::SimpleAtoi(master.substr(at + field.size() + 1, end - at - field.size() - 1), &value);
            return value;
          };
          if (count("num-slaves") != replicas || count("num-other-sentinels") != sentinels - 1) return false;
        }
        return true;
      },
      std::chrono::seconds(30));
  if (!acquainted) throw std::runtime_error("the sentinels did not find the replicas and each other");
}

RedisSentinelGroup::~RedisSentinelGroup() {
  for (auto* group : {&sentinels_, &servers_}) {
    for (auto& p : *group) {
      if (p.pid <= 0) continue;
      kill(p.pid, SIGCONT);
      kill(p.pid, SIGKILL);
      int status = 0;
      waitpid(p.pid, &status, 0);
    }
  }
}

void RedisSentinelGroup::StartProcess(Process& process, bool is_sentinel) {
  SpawnOptions spawn;
  spawn.argv = process.argv;
  spawn.output_path = process.dir + "/out";
  spawn.die_with_parent = true;
  auto pid = Spawn(spawn);
  if (!pid.ok()) throw std::runtime_error(std::string(pid.status().message()));
  process.pid = *pid;
  const std::string ours = "process_id:" + std::to_string(process.pid);
  const bool up = WaitUntil(
      [&] { return ProcessAlive(process.pid) && Cli(process.port, {"INFO", "server"}).find(ours) != std::string::npos; },
      std::chrono::seconds(20));
  if (!up) {
    throw std::runtime_error(absl::StrCat(is_sentinel ? "redis-sentinel" : "redis-server", " did not answer on port ",
                                          process.port));
  }
}

std::string RedisSentinelGroup::Uri() const {
  std::string uri = "redis+sentinel://";
  for (size_t i = 0; i < sentinels_.size(); ++i) {
    absl::StrAppend(&uri, i == 0 ? "" : ",", "127.0.0.1:", sentinels_[i].port);
  }
  return absl::StrCat(uri, "/", master_name_);
}

std::vector<int> RedisSentinelGroup::sentinel_ports() const {
  std::vector<int> ports;
  for (const auto& s : sentinels_) ports.push_back(s.port);
  return ports;
}

int RedisSentinelGroup::PrimaryPort() const {
  for (const auto& s : sentinels_) {
    if (s.pid <= 0) continue;
    std::vector<std::string> lines =
        absl::StrSplit(Cli(s.port, {"SENTINEL", "get-master-addr-by-name", master_name_}), '\n');
    int port = 0;
    if (lines.size() == 2 && absl::SimpleAtoi(lines[1], &port)) return port;
  }
  return 0;
}

RedisSentinelGroup::Process* RedisSentinelGroup::ServerOn(int port) {
  for (auto& s : servers_) {
    if (s.port == port) return &s;
  }
  return nullptr;
}

void RedisSentinelGroup::KillServer(int port) {
  Process* server = ServerOn(port);
  if (server == nullptr || server->pid <= 0) throw std::runtime_error(absl::StrCat("no server runs on ", port));
  kill(server->pid, SIGKILL);
  int status = 0;
  waitpid(server->pid, &status, 0);
  server->pid = -1;
}

void RedisSentinelGroup::RestartServer(int port) {
  Process* server = ServerOn(port);
  if (server == nullptr || server->pid > 0) throw std::runtime_error(absl::StrCat("no stopped server on ", port));
  StartProcess(*server, false);
}

void RedisSentinelGroup::KillSentinel(size_t index) {
  Process& sentinel = sentinels_.at(index);
  if (sentinel.pid <= 0) return;
  kill(sentinel.pid, SIGKILL);
  int status = 0;
  waitpid(sentinel.pid, &status, 0);
  sentinel.pid = -1;
}

bool RedisSentinelGroup::WaitUntilHealthy(std::chrono::milliseconds timeout) const {
  int live_replicas = -1;
  for (const auto& s : servers_) live_replicas += s.pid > 0 ? 1 : 0;
  return WaitUntil(
      [&] {
        const int primary = PrimaryPort();
        if (primary == 0) return false;
        const std::string info = Cli(primary, {"INFO", "replication"});
        if (info.find("role:master") == std::string::npos) return false;
        int online = 0;
        for (size_t at = info.find("state=online"); at != std::string::npos; at = info.find("state=online", at + 1)) {
          ++online;
        }
        return online == live_replicas;
      },
      timeout);
}

bool RedisSentinelGroup::WaitForFailover(int old_port, std::chrono::milliseconds timeout) const {
  return WaitUntil(
      [&] {
        const int port = PrimaryPort();
        return port != 0 && port != old_port && Cli(port, {"ROLE"}).rfind("master", 0) == 0;
      },
      timeout);
}

std::string RedisSentinelGroup::Cli(int port, const std::vector<std::string>& args) const {
  return RedisCli(port, {}, args);
}

}  // namespace halo::testing
