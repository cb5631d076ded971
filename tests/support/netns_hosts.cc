#include "support/netns_hosts.h"

#include "support/test_env.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace halo::testing {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kCommandTimeout{10000};
constexpr milliseconds kKillTimeout{5000};
constexpr milliseconds kLinkTimeout{5000};
constexpr milliseconds kPollInterval{10};
constexpr size_t kMaxHosts = 250;      // 10.77.0.1 .. 10.77.0.250
constexpr size_t kMaxHostName = 20;    // "halot-" + pid + "-" + name stays well below NAME_MAX

std::string Joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Runs argv and throws, naming the command and quoting its stderr, unless it exits 0.
NetnsHosts::RunResult Must(const std::vector<std::string>& argv) {
  auto r = NetnsHosts::Run(argv, kCommandTimeout);
  if (r.exit_code != 0) {
    throw std::runtime_error("NetnsHosts: `" + Joined(argv) + "` failed (" +
                             (r.timed_out ? std::string("timed out") : "exit " + std::to_string(r.exit_code)) +
                             "): " + Trimmed(r.err.empty() ? r.out : r.err));
  }
  return r;
}

// Absolute path of an executable: PATH first, then the sbin directories a non-login PATH may lack.
std::string FindProgram(const std::string& name) {
  const char* env = getenv("PATH");
  std::string dirs = std::string(env ? env : "") + ":/usr/sbin:/sbin";
  std::stringstream in(dirs);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (dir.empty()) continue;
    std::string path = dir + "/" + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  throw std::runtime_error("NetnsHosts: '" + name + "' not found in PATH, /usr/sbin or /sbin " +
                           "(install it with scripts/install-deps.sh)");
}

std::vector<int> ParsePids(const std::string& text) {
  std::vector<int> pids;
  std::stringstream in(text);
  int pid = 0;
  while (in >> pid) {
    if (pid > 0 && pid != getpid() && !ProcessExited(pid)) pids.push_back(pid);
  }
  return pids;
}

std::vector<int> PidsIn(const std::string& ip, const std::string& ns) {
  return ParsePids(Must({ip, "netns", "pids", ns}).out);
}

// SIGKILLs every process in ns until none is left or the deadline passes. Returns what is still there.
std::vector<int> KillAllIn(const std::string& ip, const std::string& ns) {
  const auto deadline = Clock::now() + kKillTimeout;
  while (true) {
    std::vector<int> pids = PidsIn(ip, ns);
    if (pids.empty() || Clock::now() >= deadline) return pids;
    for (int pid : pids) kill(pid, SIGKILL);
    std::this_thread::sleep_for(kPollInterval);
  }
}

// Empties and deletes ns; throws if a process survives or the deletion fails.
void Destroy(const std::string& ip, const std::string& ns) {
  if (access(("/run/netns/" + ns).c_str(), F_OK) != 0 && errno == ENOENT) return;  // already gone
  std::vector<int> left = KillAllIn(ip, ns);
  if (!left.empty()) {
    throw std::runtime_error("NetnsHosts: " + std::to_string(left.size()) + " process(es) in " + ns +
                             " (first pid " + std::to_string(left[0]) + ") survived SIGKILL for " +
                             std::to_string(kKillTimeout.count()) + " ms");
  }
  Must({ip, "netns", "del", ns});
}

std::vector<std::string> ListNamespaces(const std::string& ip) {
  std::vector<std::string> names;
  std::stringstream in(Must({ip, "netns", "list"}).out);
  std::string line;
  while (std::getline(in, line)) {
    std::string name = line.substr(0, line.find(' '));  // lines look like "name (id: 3)" or "name"
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

// Deletes namespaces "halot-<pid>-..." whose pid no longer exists (runs that crashed before cleaning up).
void RemoveLeftovers(const std::string& ip) {
  const std::string prefix = NetnsHosts::kPrefix;
  for (const std::string& ns : ListNamespaces(ip)) {
    if (ns.compare(0, prefix.size(), prefix) != 0) continue;
    size_t end = prefix.size();
    while (end < ns.size() && isdigit(static_cast<unsigned char>(ns[end]))) ++end;
    if (end == prefix.size() || end - prefix.size() > 9 || end >= ns.size() || ns[end] != '-') continue;
    const pid_t pid = static_cast<pid_t>(std::stol(ns.substr(prefix.size(), end - prefix.size())));
    if (pid <= 0 || pid == getpid()) continue;
    if (kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (EPERM also means alive)
    Destroy(ip, ns);
  }
}

bool ValidHostName(const std::string& h) {
  if (h.empty() || h.size() > kMaxHostName || h == "switch") return false;
  for (char c : h) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace

NetnsHosts::RunResult NetnsHosts::Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty()) throw std::invalid_argument("NetnsHosts::Run: empty argv");
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  int out[2], err[2], failed[2];  // failed: the child writes errno there if exec fails (closed by exec)
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(failed, O_CLOEXEC) != 0) {
    throw std::runtime_error("NetnsHosts::Run: pipe: " + std::string(strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("NetnsHosts::Run: fork: " + std::string(strerror(errno)));
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execvp(cargv[0], cargv.data());
    int e = errno;
    (void)!write(failed[1], &e, sizeof e);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  close(failed[1]);

  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(failed[0], &exec_errno, sizeof exec_errno);  // 0 bytes once exec succeeded
  } while (n < 0 && errno == EINTR);
  close(failed[0]);
  if (n > 0) {
    close(out[0]);
    close(err[0]);
    waitpid(pid, nullptr, 0);  // it _exits right after writing
    throw std::runtime_error("NetnsHosts: cannot run '" + argv[0] + "': " + strerror(exec_errno));
  }

  RunResult result;
  const auto deadline = Clock::now() + timeout;
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  // Reads what is available now; marks a pipe done at EOF (poll then ignores its negative fd).
  auto read_available = [&](int wait_ms) {
    if (fds[0].fd < 0 && fds[1].fd < 0) {  // both pipes closed: it is exiting, check again very soon
      if (wait_ms > 0) std::this_thread::sleep_for(milliseconds(1));
      return false;
    }
    if (poll(fds, 2, wait_ms) <= 0) return false;
    bool got_data = false;
    char buf[4096];
    for (auto i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
        got_data = true;
      } else if (got == 0 || errno != EINTR) {
        fds[i].fd = -1;
      }
    }
    return got_data;
  };
  int status = 0;
  while (true) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      // Drain what it wrote, without waiting for EOF: a daemon it left behind may hold the pipes open.
      while (Clock::now() < deadline && read_available(0)) {
      }
      break;
    }
    if (Clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);  // SIGKILL cannot be caught, so this returns promptly
      result.timed_out = true;
      break;
    }
    read_available(static_cast<int>(kPollInterval.count()));
  }
  close(out[0]);
  close(err[0]);
  if (result.timed_out) result.exit_code = -1;
  else if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  else result.exit_code = 128 + WTERMSIG(status);
  return result;
}

NetnsHosts::NetnsHosts(const std::vector<std::string>& hosts) : hosts_(hosts) {
  if (hosts_.empty() || hosts_.size() > kMaxHosts) {
    throw std::invalid_argument("NetnsHosts: need 1.." + std::to_string(kMaxHosts) + " hosts, got " +
                                std::to_string(hosts_.size()));
  }
  std::set<std::string> seen;
  for (const auto& h : hosts_) {
    if (!ValidHostName(h)) throw std::invalid_argument("NetnsHosts: bad host name '" + h + "'");
    if (!seen.insert(h).second) throw std::invalid_argument("NetnsHosts: duplicate host name '" + h + "'");
  }
  ip_ = FindProgram("ip");
  iptables_ = FindProgram("iptables");
  sysctl_ = FindProgram("sysctl");
  prefix_ = std::string(kPrefix) + std::to_string(getpid()) + "-";
  RemoveLeftovers(ip_);
  try {
    Build();
  } catch (...) {
    try {
      Cleanup();
    } catch (const std::exception& e) {
      fprintf(stderr, "NetnsHosts: cleanup after a failed setup also failed: %s\n", e.what());
    }
    throw;
  }
}

NetnsHosts::~NetnsHosts() {
  try {
    Cleanup();
  } catch (const std::exception& e) {
    fprintf(stderr, "NetnsHosts: cleanup failed: %s\n", e.what());
  }
}

void NetnsHosts::Build() {
  const std::string sw = SwitchNamespace();
  auto add_namespace = [&](const std::string& ns) {
    Must({ip_, "netns", "add", ns});
    created_.push_back(ns);
    Must({ip_, "-n", ns, "link", "set", "lo", "up"});
  };
  add_namespace(sw);
  Must({ip_, "-n", sw, "link", "add", "br0", "type", "bridge"});  // STP off: ports forward at once
  Must({ip_, "-n", sw, "link", "set", "br0", "up"});
  for (size_t k = 0; k < hosts_.size(); ++k) {
    const std::string ns = Namespace(hosts_[k]);
    const std::string port = "v" + std::to_string(k + 1);  // switch side; interface names max 15 chars
    add_namespace(ns);
    Must(Wrap(hosts_[k], {sysctl_, "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                          "net.ipv6.conf.default.disable_ipv6=1"}));
    // Created inside the switch namespace with its peer placed straight into the host: never in the root.
    Must({ip_, "-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns});
    Must({ip_, "-n", sw, "link", "set", port, "master", "br0", "up"});
    Must({ip_, "-n", ns, "addr", "add", Address(hosts_[k]) + "/24", "dev", "eth0"});
    Must({ip_, "-n", ns, "link", "set", "eth0", "up"});
  }
  // Fail here, not at the first cut, if iptables cannot work inside a namespace.
  Must(Iptables(0, {"-S", "INPUT"}));
  // Both veth ends up is not instant carrier: wait until every eth0 reports LOWER_UP.
  const auto deadline = Clock::now() + kLinkTimeout;
  for (size_t k = 0; k < hosts_.size(); ++k) {
    while (true) {
      auto link = Must({ip_, "-n", Namespace(hosts_[k]), "-o", "link", "show", "dev", "eth0"}).out;
      if (link.find("LOWER_UP") != std::string::npos) break;
      if (Clock::now() >= deadline) {
        throw std::runtime_error("NetnsHosts: eth0 of " + hosts_[k] + " not up after " +
                                 std::to_string(kLinkTimeout.count()) + " ms: " + Trimmed(link));
      }
      std::this_thread::sleep_for(kPollInterval);
    }
  }
}

size_t NetnsHosts::Index(const std::string& host) const {
  for (size_t k = 0; k < hosts_.size(); ++k) {
    if (hosts_[k] == host) return k;
  }
  throw std::invalid_argument("NetnsHosts: unknown host '" + host + "'");
}

std::string NetnsHosts::Address(const std::string& host) const {
  return "10.77.0." + std::to_string(Index(host) + 1);
}

std::string NetnsHosts::Namespace(const std::string& host) const { return prefix_ + hosts_[Index(host)]; }

std::string NetnsHosts::SwitchNamespace() const { return prefix_ + "switch"; }

std::vector<std::string> NetnsHosts::Wrap(const std::string& host, const std::vector<std::string>& argv) const {
  std::vector<std::string> wrapped = {ip_, "netns", "exec", Namespace(host)};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::vector<std::string> NetnsHosts::Iptables(size_t in_host, const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {iptables_, "-w", "5"};  // -w: wait for the xtables lock, at most 5 s
  argv.insert(argv.end(), args.begin(), args.end());
  return Wrap(hosts_[in_host], argv);
}

// The rule dropping from -> to lives in to's INPUT chain: the packet crosses the wire and is lost on
// arrival, so the sender gets no error (a DROP in OUTPUT would make send() fail with EPERM instead).
bool NetnsHosts::HasDrop(size_t from, size_t to) const {
  auto r = Run(Iptables(to, {"-C", "INPUT", "-s", Address(hosts_[from]) + "/32", "-j", "DROP"}), kCommandTimeout);
  if (r.exit_code == 0) return true;
  if (r.exit_code == 1) return false;  // "Bad rule (does a matching rule exist in that chain?)"
  throw std::runtime_error("NetnsHosts: iptables -C in " + hosts_[to] + " failed (exit " +
                           std::to_string(r.exit_code) + "): " + Trimmed(r.err));
}

void NetnsHosts::Drop(size_t from, size_t to) {
  if (from == to || HasDrop(from, to)) return;
  Must(Iptables(to, {"-A", "INPUT", "-s", Address(hosts_[from]) + "/32", "-j", "DROP"}));
  if (!HasDrop(from, to)) {
    throw std::runtime_error("NetnsHosts: cut " + hosts_[from] + " -> " + hosts_[to] + " not in place after -A");
  }
}

void NetnsHosts::Undrop(size_t from, size_t to) {
  // Drop never adds a duplicate, but a test may have; remove every copy (bounded).
  for (int i = 0; i < 100 && HasDrop(from, to); ++i) {
    Must(Iptables(to, {"-D", "INPUT", "-s", Address(hosts_[from]) + "/32", "-j", "DROP"}));
  }
  if (HasDrop(from, to)) {
    throw std::runtime_error("NetnsHosts: cut " + hosts_[from] + " -> " + hosts_[to] + " still in place");
  }
}

void NetnsHosts::CutOneWay(const std::string& from, const std::string& to) { Drop(Index(from), Index(to)); }

void NetnsHosts::CutBothWays(const std::string& a, const std::string& b) {
  Drop(Index(a), Index(b));
  Drop(Index(b), Index(a));
}

void NetnsHosts::Isolate(const std::string& host) {
  const size_t h = Index(host);
  for (size_t k = 0; k < hosts_.size(); ++k) {
    if (k == h) continue;
    Drop(h, k);
    Drop(k, h);
  }
}

void NetnsHosts::Heal(const std::string& a, const std::string& b) {
  Undrop(Index(a), Index(b));
  Undrop(Index(b), Index(a));
}

void NetnsHosts::HealAll() {
  for (size_t k = 0; k < hosts_.size(); ++k) {
    Must(Iptables(k, {"-F", "INPUT"}));  // the fixture owns these namespaces: INPUT holds only its cuts
    auto rules = Must(Iptables(k, {"-S", "INPUT"})).out;
    if (rules.find("-A INPUT") != std::string::npos) {
      throw std::runtime_error("NetnsHosts: INPUT of " + hosts_[k] + " not empty after -F: " + Trimmed(rules));
    }
  }
}

std::vector<int> NetnsHosts::Pids(const std::string& host) const { return PidsIn(ip_, Namespace(host)); }

void NetnsHosts::SignalAll(const std::string& host, int signal) const {
  // Re-list until no new process appears, so a child forked meanwhile is signalled too; each pid once.
  std::set<int> signalled;
  for (int round = 0; round < 10; ++round) {
    bool any_new = false;
    for (int pid : Pids(host)) {
      if (!signalled.insert(pid).second) continue;
      any_new = true;
      kill(pid, signal);  // ESRCH: it exited meanwhile, fine
    }
    if (!any_new) return;
  }
}

void NetnsHosts::Cleanup() {
  std::string errors;
  std::vector<std::string> kept;
  // Hosts first (newest first), the switch last; each deletion also removes its veth pairs.
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    try {
      Destroy(ip_, *it);
    } catch (const std::exception& e) {
      errors += std::string(errors.empty() ? "" : "; ") + e.what();
      kept.insert(kept.begin(), *it);
    }
  }
  created_ = kept;
  if (!errors.empty()) throw std::runtime_error(errors);
}

}  // namespace halo::testing
