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

  // node_hosts: n1..nN. node_args are given to every `halo start --address`, head_args to `halo start --head`.
  explicit MultiHostCluster(int node_hosts = 3, std::vector<std::string> node_args = {},
                            std::vector<std::string> head_args = {})
      : net_(HostNames(node_hosts)), node_args_(std::move(node_args)), head_args_(std::move(head_args)) {
    for (int i = 1; i <= node_hosts; ++i) node_hosts_.push_back("n" + std::to_string(i));
  }

  NetnsHosts& net() { return net_; }
  const std::vector<std::string>& node_hosts() const { return node_hosts_; }
  std::string GcsAddress() const { return absl::StrCat(net_.Address(kHead), ":", kGcsPort); }
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
    std::vector<std::string> head = {"start", "--head", "--host", net_.Address(kHead), "--port",
                                     std::to_string(kGcsPort), "--session-dir", SessionDir(kHead),
                                     "--gcs-restarts-max", "0", "--num-cpus", "1"};
    head.insert(head.end(), head_args_.begin(), head_args_.end());
    Check(HaloIn(kHead, head), "the head");
    for (const auto& host : node_hosts_) StartNode(host);
  }
  // A node agent on host (again after its earlier one ended: a new session directory, a new node id).
  void StartNode(const std::string& host, std::vector<std::string> extra = {}) {
    const std::string session = SessionDir(host) + "-" + std::to_string(++starts_[host]);
    std::vector<std::string> args = {"start", "--address", GcsAddress(), "--session-dir", session,
                                     "--num-cpus", "2", "--resources", absl::StrCat("host_", host, "=1,beacon=1")};
    args.insert(args.end(), node_args_.begin(), node_args_.end());
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
  static std::vector<std::string> HostNames(int node_hosts) {
    std::vector<std::string> hosts = {kHead};
    for (int i = 1; i <= node_hosts; ++i) hosts.push_back("n" + std::to_string(i));
    hosts.push_back(kDriver);
    return hosts;
  }
  static void Check(const CommandResult& result, const std::string& what) {
    if (result.exit_code != 0) {
      throw std::runtime_error(absl::StrCat(what, " did not start (exit ", result.exit_code, "): ", result.output));
    }
  }

  TempDir dir_;
  NetnsHosts net_;
  std::vector<std::string> node_args_;
  std::vector<std::string> head_args_;
  std::vector<std::string> node_hosts_;
  std::map<std::string, int> starts_;
  std::map<std::string, std::string> node_sessions_;
};

}  // namespace halo::testing
