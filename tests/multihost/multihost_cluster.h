// A real Halo cluster across hosts: a head host (GCS and its node agent), node hosts, and a driver host, each
// a network namespace of NetnsHosts joined by a bridge. Every daemon is started as the README says, inside its
// host: `halo start --head --host <head address>` and `halo start --address <GCS>` (no --host: a node finds
// its own address from its route to the GCS). The test process itself becomes the driver on the driver host
// (EnterDriverHost, before halo::Init), so its calls cross the bridge like any remote client's.
// Everything the cluster started lives in the namespaces and dies with them (NetnsHosts cleans up).
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/process.h"
#include "rpc/gcs_client.h"
#include "support/netns_hosts.h"
#include "support/test_env.h"

namespace halo::testing {

class MultiHostCluster {
 public:
  static constexpr const char* kHead = "head";
  static constexpr const char* kDriver = "drv";
  static constexpr int kGcsPort = 6480;
  // Every node agent's HTTP ingress, on its host's address (the default port: each host has its own).
  static constexpr int kHttpPort = 8000;
  static constexpr int kGcsMetricsPort = 9480;
  static constexpr int kNodeMetricsPort = 9481;

  static constexpr const char* kStandbyHead = "head2";
  static constexpr const char* kStore = "store";
  static constexpr int kRedisPort = 6379;

  struct Options {
    int node_hosts = 3;
    // Two head candidates (head, head2) on a redis-server of their own host (store), `--ha`; node agents and
    // the driver are given both candidates.
    bool ha = false;
    // Every GCS serves metrics on kGcsMetricsPort and every node agent on kNodeMetricsPort, at its host's address.
    bool metrics = false;
  };
  explicit MultiHostCluster(Options options) : options_(options), net_(HostNames(options)) {
    for (int i = 1; i <= options.node_hosts; ++i) node_hosts_.push_back("n" + std::to_string(i));
  }
  explicit MultiHostCluster(int node_hosts = 3) : MultiHostCluster(Options{node_hosts, false, false}) {}
  ~MultiHostCluster() {
    if (redis_pid_ > 0) kill(redis_pid_, SIGKILL);  // the namespace's cleanup would too; this is sooner
  }

  NetnsHosts& net() { return net_; }
  const std::vector<std::string>& node_hosts() const { return node_hosts_; }
  // Every head candidate, comma-separated (as node agents and drivers are given them).
  std::string GcsAddress() const {
    std::string address = absl::StrCat(net_.Address(kHead), ":", kGcsPort);
    if (options_.ha) absl::StrAppend(&address, ",", net_.Address(kStandbyHead), ":", kGcsPort);
    return address;
  }
  std::string CandidateAddress(const std::string& host) const { return absl::StrCat(net_.Address(host), ":", kGcsPort); }
  std::string SessionDir(const std::string& host) const { return dir_.path() + "/" + host; }
  const std::string& dir() const { return dir_.path(); }

  // `halo <args>` run inside host.
  CommandResult HaloIn(const std::string& host, std::vector<std::string> args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60)) const {
    args.insert(args.begin(), BinDir() + "/halo");
    return RunCommand(net_.Wrap(host, args), timeout);
  }

  // The head, then every node host. Throws with the daemon's own words when one does not start.
  void Start() {
    if (options_.ha) StartRedis();
    StartHead(kHead);
    if (options_.ha) StartHead(kStandbyHead);
    for (const auto& host : node_hosts_) StartNode(host);
  }
  // `halo start --head` on host (again, in its session, after its GCS died: only the GCS starts).
  void StartHead(const std::string& host) {
    std::vector<std::string> head = {"start", "--head", "--host", net_.Address(host), "--port",
                                     std::to_string(kGcsPort), "--session-dir", SessionDir(host),
                                     "--gcs-restarts-max", "0", "--num-cpus", "1",
                                     "--serve-http-port", std::to_string(kHttpPort)};
    if (options_.ha) {
      head.insert(head.end(), {"--ha", "--storage", absl::StrCat("redis://", net_.Address(kStore), ":", kRedisPort)});
    }
    if (options_.metrics) {
      head.insert(head.end(), {"--gcs-metrics-port", std::to_string(kGcsMetricsPort), "--node-metrics-port",
                               std::to_string(kNodeMetricsPort)});
    }
    Check(HaloIn(host, head), "the head on " + host);
  }
  pid_t GcsPid(const std::string& host) const {
    const std::string pid = ReadTrimmedFile(SessionDir(host) + "/gcs.pid");
    return pid.empty() ? -1 : std::atoi(pid.c_str());
  }
  // A node agent on host (again after its earlier one ended: a new session directory, a new node id).
  void StartNode(const std::string& host, std::vector<std::string> extra = {}) {
    const std::string session = SessionDir(host) + "-" + std::to_string(++starts_[host]);
    std::vector<std::string> args = {"start", "--address", GcsAddress(), "--session-dir", session,
                                     "--num-cpus", "2", "--resources", absl::StrCat("host_", host, "=1,beacon=1"),
                                     "--serve-http-port", std::to_string(kHttpPort)};
    if (options_.metrics) args.insert(args.end(), {"--node-metrics-port", std::to_string(kNodeMetricsPort)});
    args.insert(args.end(), extra.begin(), extra.end());
    Check(HaloIn(host, args), "the node agent on " + host);
    node_sessions_[host] = session;
  }
  std::string NodeId(const std::string& host) const {
    return ReadTrimmedFile(node_sessions_.at(host) + "/node.id");
  }
  pid_t NodeAgentPid(const std::string& host) const {
    const std::string pid = ReadTrimmedFile(node_sessions_.at(host) + "/node.pid");
    return pid.empty() ? -1 : std::atoi(pid.c_str());
  }
  std::string NodeLog(const std::string& host) const {
    auto text = ReadFileToString(node_sessions_.at(host) + "/logs/node.log");
    return text.ok() ? *text : "";
  }
  std::string GcsLog() const {
    auto text = ReadFileToString(SessionDir(kHead) + "/logs/gcs.log");
    return text.ok() ? *text : "";
  }
  // The host whose address the node registered with ("" if none).
  std::string HostOfAddress(const std::string& address) const {
    for (const auto& host : net_.Hosts()) {
      if (address.rfind(net_.Address(host) + ":", 0) == 0) return host;
    }
    return "";
  }

  // Moves this process into the driver host's network namespace. Call before halo::Init and before this
  // process starts any thread (setns applies to the calling thread; threads started later inherit it).
  void EnterDriverHost() {
    const std::string path = "/run/netns/" + net_.Namespace(kDriver);
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
      throw std::runtime_error("cannot enter the driver host's namespace " + path + ": " + strerror(errno));
    }
    close(fd);
  }

  std::unique_ptr<GcsClient> Client(int64_t timeout_ms = 5000) const {
    return std::make_unique<GcsClient>(GcsAddress(), timeout_ms);
  }

 private:
  static std::vector<std::string> HostNames(const Options& options) {
    std::vector<std::string> hosts = {kHead};
    for (int i = 1; i <= options.node_hosts; ++i) hosts.push_back("n" + std::to_string(i));
    hosts.push_back(kDriver);
    if (options.ha) {
      hosts.push_back(kStandbyHead);
      hosts.push_back(kStore);
    }
    return hosts;
  }
  // A real redis-server on the store host (append-only, fsync always), waited for until it answers PING.
  void StartRedis() {
    const std::string dir = dir_.path() + "/redis";
    std::filesystem::create_directories(dir);
    SpawnOptions spawn;
    spawn.argv = net_.Wrap(kStore, {"/usr/bin/redis-server", "--bind", net_.Address(kStore), "--port",
                                    std::to_string(kRedisPort), "--dir", dir, "--save", "", "--appendonly", "yes",
                                    "--appendfsync", "always", "--protected-mode", "no"});
    spawn.output_path = dir + "/redis.log";
    auto pid = Spawn(spawn);
    if (!pid.ok()) throw std::runtime_error("cannot start redis-server: " + std::string(pid.status().message()));
    redis_pid_ = *pid;
    const bool up = WaitUntil(
        [&] {
          auto ping = RunCommand(net_.Wrap(kStore, {"/usr/bin/redis-cli", "-h", net_.Address(kStore), "-p",
                                                    std::to_string(kRedisPort), "ping"}),
                                 std::chrono::seconds(2));
          return ping.output.find("PONG") != std::string::npos;
        },
        std::chrono::seconds(15));
    if (!up) throw std::runtime_error("redis-server on the store host did not answer PING");
  }
  static void Check(const CommandResult& result, const std::string& what) {
    if (result.exit_code != 0) {
      throw std::runtime_error(absl::StrCat(what, " did not start (exit ", result.exit_code, "): ", result.output));
    }
  }

  Options options_;
  TempDir dir_;
  NetnsHosts net_;
  std::vector<std::string> node_hosts_;
  pid_t redis_pid_ = -1;
  std::map<std::string, int> starts_;
  std::map<std::string, std::string> node_sessions_;
};

}  // namespace halo::testing
