// NetnsHosts: a throwaway multi-host IPv4 network for tests, made of Linux network namespaces.
//
// What it promises:
//  - One network namespace per host, named "halot-<pid>-<host>" (pid of the creating process), plus one
//    switch namespace "halot-<pid>-switch" holding the bridge br0. The k-th host (1-based, constructor
//    order) has eth0 = 10.77.0.k/24, up, whose veth peer sits in the switch namespace on br0. Loopback is
//    up everywhere; IPv6 is disabled in the host namespaces, so cuts (IPv4 rules) cannot be bypassed.
//    Nothing is created in the root namespace: deleting the namespaces removes every link and rule.
//  - Before creating anything, namespaces left by crashed runs (prefix "halot-" followed by the pid of a
//    process that no longer exists) are emptied (every process SIGKILLed) and deleted.
//  - Cleanup(), also run by the destructor, SIGKILLs every process in its namespaces (daemons included),
//    waits with a deadline until none is left, and deletes the namespaces. Calling it again does nothing.
//  - Any failure to build the network (not root, no permission, ip/iptables/sysctl missing) throws
//    std::runtime_error naming the command that failed and its error output. Unknown host names throw
//    std::invalid_argument. Nothing is silently skipped.
//  - Partitions are iptables DROP rules in the INPUT chain of the receiving host's namespace, so lost
//    packets vanish silently, as on a real broken link (the sender sees no error). The controls are
//    idempotent and return only once the rule is verified in place (or verified gone).
//  - Every command it runs is fork/exec'ed with an argv (no shell) and killed at a deadline.
//
// Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), iproute2, iptables and procps' sysctl
// (scripts/install-deps.sh).
// Not thread-safe. At most one live instance per process, since names embed only the pid.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace halo::testing {

class NetnsHosts {
 public:
  // hosts: 1..250 distinct names of letters, digits, '_' or '-', at most 20 characters, not "switch".
  explicit NetnsHosts(const std::vector<std::string>& hosts);
  ~NetnsHosts();  // Cleanup(); a failure there is printed to stderr, never thrown.
  NetnsHosts(const NetnsHosts&) = delete;
  NetnsHosts& operator=(const NetnsHosts&) = delete;

  static constexpr const char* kPrefix = "halot-";

  const std::vector<std::string>& Hosts() const { return hosts_; }
  std::string Address(const std::string& host) const;    // "10.77.0.k"
  std::string Namespace(const std::string& host) const;  // "halot-<pid>-<host>"
  std::string SwitchNamespace() const;                   // "halot-<pid>-switch"

  // {"/usr/sbin/ip", "netns", "exec", Namespace(host), argv...}: runs argv inside host (the first element
  // is the absolute path of ip, so spawners that execve argv[0] work). `ip netns exec` execs the program,
  // so the pid of the spawned process is the program's; whatever it forks stays in the namespace.
  std::vector<std::string> Wrap(const std::string& host, const std::vector<std::string>& argv) const;

  // Partition controls. Each is idempotent and returns once the kernel holds (or no longer holds) the rule.
  void CutOneWay(const std::string& from, const std::string& to);  // drop packets from -> to only
  void CutBothWays(const std::string& a, const std::string& b);
  void Isolate(const std::string& host);                // cut both ways from every other host
  void Heal(const std::string& a, const std::string& b);  // remove cuts between a and b, both directions
  void HealAll();

  // Processes whose network namespace is host's (`ip netns pids`), never including this process.
  std::vector<int> Pids(const std::string& host) const;
  // Sends signal once to every process of host, including ones forked while it runs (SIGSTOP, SIGCONT,
  // SIGKILL, ...).
  void SignalAll(const std::string& host, int signal) const;

  // Kills everything in the namespaces and deletes them. Safe to call twice. Throws std::runtime_error
  // if a process would not die or a namespace could not be deleted (after trying all of them).
  void Cleanup();

  // Result of Run: exit status (128 + signal if killed by one, -1 if killed at the deadline).
  struct RunResult {
    int exit_code = -1;
    bool timed_out = false;
    std::string out;  // stdout
    std::string err;  // stderr
  };
  // Runs argv (argv[0] looked up in PATH) without a shell, stdin from /dev/null, for at most timeout.
  // Stops reading once the command exits, so daemons it leaves behind holding the pipes do not block.
  // Throws std::runtime_error if argv[0] cannot be executed.
  static RunResult Run(const std::vector<std::string>& argv,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  size_t Index(const std::string& host) const;
  void Build();
  void Drop(size_t from, size_t to);
  void Undrop(size_t from, size_t to);
  bool HasDrop(size_t from, size_t to) const;
  std::vector<std::string> Iptables(size_t in_host, const std::vector<std::string>& args) const;

  std::string ip_;        // absolute paths, resolved once
  std::string iptables_;
  std::string sysctl_;
  std::string prefix_;    // "halot-<pid>-"
  std::vector<std::string> hosts_;
  std::vector<std::string> created_;  // namespaces to delete, in creation order
};

}  // namespace halo::testing
