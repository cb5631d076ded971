// Proves NetnsHosts with real traffic between its namespaces: TCP and UDP sockets are opened inside host
// namespaces (a short-lived thread enters the namespace, makes the socket, leaves) and bound to the hosts'
// 10.77.0.k addresses, so no packet touches the root namespace's interfaces. Needs root; never skips.
#include "support/netns_hosts.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

using halo::testing::NetnsHosts;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const std::vector<std::string> kHosts = {"head", "n1", "n2", "n3", "driver"};
// How long a packet gets to show up when it should (resent meanwhile), and when it should not.
constexpr milliseconds kReachable{3000};
constexpr milliseconds kUnreachable{400};

bool PollUntil(const std::function<bool()>& pred, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// A non-blocking socket living in network namespace ns, bound to addr:0. setns() moves only the calling
// thread, so a throwaway thread enters ns, makes the socket and ends; the socket keeps its namespace.
std::unique_ptr<Fd> SocketIn(const std::string& ns, int type, const std::string& addr) {
  int fd = -1;
  std::string error;
  std::thread([&] {
    int nsfd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
      error = "enter " + ns + ": " + strerror(errno);
    } else if ((fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
      error = std::string("socket: ") + strerror(errno);
    }
    if (nsfd >= 0) close(nsfd);
  }).join();
  if (fd < 0) throw std::runtime_error(error);
  auto sock = std::make_unique<Fd>(fd);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    throw std::runtime_error("bind " + addr + " in " + ns + ": " + strerror(errno));
  }
  return sock;
}

sockaddr_in LocalAddress(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return sa;
}

std::string Ip(const sockaddr_in& sa) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &sa.sin_addr, buf, sizeof buf);
  return buf;
}

// Whether a TCP connection from -> to is established, and accepted by a listener on `to`, within timeout.
bool TcpConnects(const NetnsHosts& net, const std::string& from, const std::string& to, milliseconds timeout) {
  auto listener = SocketIn(net.Namespace(to), SOCK_STREAM, net.Address(to));
  if (listen(listener->get(), 4) != 0) throw std::runtime_error("listen failed");
  auto client = SocketIn(net.Namespace(from), SOCK_STREAM, net.Address(from));
  sockaddr_in dst = LocalAddress(listener->get());
  if (connect(client->get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS) {
    return false;
  }
  pollfd p{client->get(), POLLOUT, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  int so_error = 0;
  socklen_t len = sizeof so_error;
  getsockopt(client->get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (so_error != 0) return false;
  pollfd q{listener->get(), POLLIN, 0};
  if (poll(&q, 1, static_cast<int>(timeout.count())) <= 0) return false;
  sockaddr_in peer{};
  socklen_t peer_len = sizeof peer;
  Fd accepted(accept4(listener->get(), reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC));
  return accepted.get() >= 0 && Ip(peer) == net.Address(from);
}

// Whether a UDP datagram sent from -> to arrives within timeout. It is resent every 20 ms, so a single
// lost packet does not decide the answer; the receiver checks the payload and the source address.
bool UdpArrives(const NetnsHosts& net, const std::string& from, const std::string& to, milliseconds timeout) {
  auto rx = SocketIn(net.Namespace(to), SOCK_DGRAM, net.Address(to));
  auto tx = SocketIn(net.Namespace(from), SOCK_DGRAM, net.Address(from));
  sockaddr_in dst = LocalAddress(rx->get());
  const std::string payload = "datagram " + from + " -> " + to;
  const auto deadline = Clock::now() + timeout;
  for (int attempt = 0; attempt < 1000 && Clock::now() < deadline; ++attempt) {
    sendto(tx->get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
    pollfd p{rx->get(), POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    char buf[128];
    sockaddr_in src{};
    socklen_t len = sizeof src;
    ssize_t n = recvfrom(rx->get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&src), &len);
    if (n > 0 && std::string(buf, static_cast<size_t>(n)) == payload && Ip(src) == net.Address(from)) return true;
  }
  return false;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string MustRun(const std::vector<std::string>& argv) {
  auto r = NetnsHosts::Run(argv);
  if (r.exit_code != 0) throw std::runtime_error(argv[0] + " failed: " + r.err);
  return r.out;
}

// Namespaces in `ip netns list` whose name starts with prefix.
std::vector<std::string> NamespacesWithPrefix(const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& line : Lines(MustRun({"ip", "netns", "list"}))) {
    std::string name = line.substr(0, line.find(' '));
    if (name.compare(0, prefix.size(), prefix) == 0) found.push_back(name);
  }
  return found;
}

// Interface names of the root namespace (ids and flags vary, names must not).
std::vector<std::string> RootLinkNames() {
  std::vector<std::string> names;
  for (const auto& line : Lines(MustRun({"ip", "-o", "link", "show"}))) {
    std::stringstream in(line);
    std::string index, name;
    in >> index >> name;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string RunPrefix() { return std::string(NetnsHosts::kPrefix) + std::to_string(getpid()) + "-"; }

// Process state letter from /proc/<pid>/stat ('S', 'T', 'Z', ...), or 0 if there is no such process.
char ProcState(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);  // through the stream: a read failing as the process exits is not thrown
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() ? 0 : stat[paren + 2];
}

bool Gone(int pid) {
  char s = ProcState(pid);
  return s == 0 || s == 'Z' || s == 'X';  // an orphan may linger as a zombie until init reaps it
}

// Forks and execs argv (argv[0] a path), stdio on /dev/null. The caller reaps it.
pid_t Spawn(const std::vector<std::string>& argv) {
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  return pid;
}

bool Reaped(pid_t pid, milliseconds timeout) {
  return PollUntil([&] { return waitpid(pid, nullptr, WNOHANG) == pid; }, timeout);
}

// Starts a daemon (forked into the background, its parent gone) in a host and returns its pid.
int StartDaemon(const std::vector<std::string>& wrapped_sh) {
  auto out = MustRun(wrapped_sh);
  return std::stoi(out);
}
std::vector<std::string> DaemonCommand() {
  return {"sh", "-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo $!"};
}

bool Contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

class NetnsHostsTest : public ::testing::Test {
 protected:
  void SetUp() override { net_ = std::make_unique<NetnsHosts>(kHosts); }
  void TearDown() override { net_.reset(); }

  bool Tcp(const std::string& from, const std::string& to, milliseconds t) { return TcpConnects(*net_, from, to, t); }
  bool Udp(const std::string& from, const std::string& to, milliseconds t) { return UdpArrives(*net_, from, to, t); }
  // Both directions flow (TCP handshake and a datagram each way).
  void ExpectConnected(const std::string& a, const std::string& b) {
    EXPECT_TRUE(Tcp(a, b, kReachable)) << "TCP " << a << " -> " << b;
    EXPECT_TRUE(Tcp(b, a, kReachable)) << "TCP " << b << " -> " << a;
    EXPECT_TRUE(Udp(a, b, kReachable)) << "UDP " << a << " -> " << b;
    EXPECT_TRUE(Udp(b, a, kReachable)) << "UDP " << b << " -> " << a;
  }

  std::unique_ptr<NetnsHosts> net_;
};

TEST_F(NetnsHostsTest, NamesAddressesAndLayout) {
  const std::string prefix = RunPrefix();
  EXPECT_EQ(net_->Address("head"), "10.77.0.1");
  EXPECT_EQ(net_->Address("driver"), "10.77.0.5");
  EXPECT_EQ(net_->Namespace("n2"), prefix + "n2");
  EXPECT_EQ(net_->SwitchNamespace(), prefix + "switch");
  EXPECT_THROW(net_->Address("nope"), std::invalid_argument);

  auto listed = NamespacesWithPrefix(prefix);
  EXPECT_EQ(listed.size(), kHosts.size() + 1);
  for (const auto& h : kHosts) {
    EXPECT_NE(std::find(listed.begin(), listed.end(), net_->Namespace(h)), listed.end()) << h;
    auto addr = MustRun({"ip", "-n", net_->Namespace(h), "-o", "-4", "addr", "show", "dev", "eth0"});
    EXPECT_NE(addr.find("inet " + net_->Address(h) + "/24"), std::string::npos) << addr;
    auto v6 = MustRun({"ip", "-n", net_->Namespace(h), "-o", "-6", "addr", "show", "dev", "eth0"});
    EXPECT_EQ(v6, "") << "IPv6 would bypass the IPv4 cuts";
    auto lo = MustRun({"ip", "-n", net_->Namespace(h), "-o", "link", "show", "dev", "lo"});
    EXPECT_NE(lo.find("UP"), std::string::npos) << lo;
  }
  auto ports = Lines(MustRun({"ip", "-n", net_->SwitchNamespace(), "-o", "link", "show", "master", "br0"}));
  EXPECT_EQ(ports.size(), kHosts.size());

  auto wrapped = net_->Wrap("n1", {"hostname", "-I"});
  ASSERT_EQ(wrapped.size(), 6u);
  EXPECT_EQ(wrapped[1], "netns");
  EXPECT_EQ(wrapped[2], "exec");
  EXPECT_EQ(wrapped[3], net_->Namespace("n1"));
  EXPECT_EQ(wrapped[4], "hostname");
  // A wrapped command really runs inside the host: it sees eth0 with n1's address.
  auto seen = MustRun(net_->Wrap("n1", {"ip", "-o", "-4", "addr", "show", "dev", "eth0"}));
  EXPECT_NE(seen.find("10.77.0.2/24"), std::string::npos) << seen;
}

TEST_F(NetnsHostsTest, FullMeshReachableAtStart) {
  for (const auto& a : kHosts) {
    for (const auto& b : kHosts) {
      if (a == b) continue;
      EXPECT_TRUE(Tcp(a, b, kReachable)) << "TCP " << a << " -> " << b;
      EXPECT_TRUE(Udp(a, b, kReachable)) << "UDP " << a << " -> " << b;
    }
  }
}

TEST_F(NetnsHostsTest, CutBothWaysBlocksOnlyThatPair) {
  ExpectConnected("head", "n1");
  net_->CutBothWays("head", "n1");
  EXPECT_FALSE(Tcp("head", "n1", kUnreachable));
  EXPECT_FALSE(Tcp("n1", "head", kUnreachable));
  EXPECT_FALSE(Udp("head", "n1", kUnreachable));
  EXPECT_FALSE(Udp("n1", "head", kUnreachable));
  ExpectConnected("head", "n2");
  ExpectConnected("n1", "n2");
  net_->Heal("head", "n1");
  ExpectConnected("head", "n1");
}

TEST_F(NetnsHostsTest, ControlsAreIdempotent) {
  net_->CutBothWays("n1", "n2");
  net_->CutBothWays("n1", "n2");
  net_->CutOneWay("n1", "n2");
  // One rule per direction, however often it was asked for.
  auto rules = MustRun(net_->Wrap("n2", {"iptables", "-w", "5", "-S", "INPUT"}));
  EXPECT_EQ(std::count(rules.begin(), rules.end(), '\n'), 2) << rules;  // policy line + one DROP
  EXPECT_FALSE(Udp("n1", "n2", kUnreachable));
  net_->Heal("n1", "n2");
  ExpectConnected("n1", "n2");
  net_->Heal("n1", "n2");  // healing what is healed is fine
  net_->HealAll();
  ExpectConnected("n1", "n2");
}

TEST_F(NetnsHostsTest, CutOneWayDropsOnlyOneDirection) {
  net_->CutOneWay("head", "n1");  // head -> n1 dropped, n1 -> head flows
  EXPECT_TRUE(Udp("n1", "head", kReachable));
  EXPECT_FALSE(Udp("head", "n1", kUnreachable));
  // A handshake needs both directions, so TCP fails both ways under a one-way cut.
  EXPECT_FALSE(Tcp("head", "n1", kUnreachable));
  EXPECT_FALSE(Tcp("n1", "head", kUnreachable));
  ExpectConnected("head", "n2");
  net_->Heal("n1", "head");  // argument order does not matter
  ExpectConnected("head", "n1");
}

TEST_F(NetnsHostsTest, IsolateCutsFromEveryoneAndHealAllRestores) {
  net_->Isolate("n2");
  for (const auto& other : kHosts) {
    if (other == "n2") continue;
    EXPECT_FALSE(Udp("n2", other, kUnreachable)) << "n2 -> " << other;
    EXPECT_FALSE(Udp(other, "n2", kUnreachable)) << other << " -> n2";
  }
  EXPECT_FALSE(Tcp("head", "n2", kUnreachable));
  ExpectConnected("head", "n1");
  ExpectConnected("n3", "driver");
  net_->HealAll();
  for (const auto& other : kHosts) {
    if (other != "n2") ExpectConnected("n2", other);
  }
}

TEST_F(NetnsHostsTest, PidsAndSignalAll) {
  pid_t child = Spawn(net_->Wrap("n3", {"sleep", "60"}));
  ASSERT_GT(child, 0);
  int daemon = StartDaemon(net_->Wrap("n3", DaemonCommand()));
  ASSERT_TRUE(PollUntil([&] { auto p = net_->Pids("n3"); return Contains(p, child) && Contains(p, daemon); },
                        milliseconds(3000)));
  EXPECT_FALSE(Contains(net_->Pids("n2"), child));
  EXPECT_TRUE(net_->Pids("n2").empty());

  net_->SignalAll("n3", SIGSTOP);
  EXPECT_TRUE(PollUntil([&] { return ProcState(child) == 'T' && ProcState(daemon) == 'T'; }, milliseconds(3000)))
      << ProcState(child) << ProcState(daemon);
  net_->SignalAll("n3", SIGCONT);
  EXPECT_TRUE(PollUntil([&] { return ProcState(child) != 'T' && ProcState(daemon) != 'T'; }, milliseconds(3000)));

  net_->SignalAll("n3", SIGKILL);
  EXPECT_TRUE(Reaped(child, milliseconds(3000)));
  EXPECT_TRUE(PollUntil([&] { return Gone(daemon); }, milliseconds(3000)));
  EXPECT_TRUE(PollUntil([&] { return net_->Pids("n3").empty(); }, milliseconds(3000)));
}

TEST(NetnsHostsLifecycle, CleanupKillsEverythingAndLeavesNothing) {
  const auto root_links = RootLinkNames();
  const auto t0 = Clock::now();
  auto net = std::make_unique<NetnsHosts>(kHosts);
  const auto t1 = Clock::now();
  EXPECT_EQ(RootLinkNames(), root_links) << "nothing may be created in the root namespace";
  pid_t child = Spawn(net->Wrap("head", {"sleep", "60"}));
  int daemon = StartDaemon(net->Wrap("n1", DaemonCommand()));
  ASSERT_TRUE(PollUntil([&] { return Contains(net->Pids("head"), child); }, milliseconds(3000)));
  net->SignalAll("n1", SIGSTOP);  // a stopped process must die too

  const auto t2 = Clock::now();
  net->Cleanup();
  const auto t3 = Clock::now();
  EXPECT_NO_THROW(net->Cleanup());
  EXPECT_TRUE(Reaped(child, milliseconds(3000)));
  EXPECT_TRUE(PollUntil([&] { return Gone(daemon); }, milliseconds(3000)));
  EXPECT_TRUE(NamespacesWithPrefix(RunPrefix()).empty());
  net.reset();  // the destructor after Cleanup() does nothing
  EXPECT_TRUE(NamespacesWithPrefix(RunPrefix()).empty());
  EXPECT_EQ(RootLinkNames(), root_links);

  auto ms = [](auto d) { return std::chrono::duration_cast<milliseconds>(d).count(); };
  printf("[ timing ] 5 hosts: setup %lld ms, teardown (2 processes to kill) %lld ms\n",
         static_cast<long long>(ms(t1 - t0)), static_cast<long long>(ms(t3 - t2)));
  ::testing::Test::RecordProperty("setup_ms", static_cast<int>(ms(t1 - t0)));
  ::testing::Test::RecordProperty("teardown_ms", static_cast<int>(ms(t3 - t2)));
}

TEST(NetnsHostsLifecycle, DestructorDeletesItsNamespaces) {
  pid_t child = -1;
  {
    NetnsHosts net({"a", "b"});
    EXPECT_EQ(NamespacesWithPrefix(RunPrefix()).size(), 3u);
    child = Spawn(net.Wrap("b", {"sleep", "60"}));
    ASSERT_TRUE(PollUntil([&] { return Contains(net.Pids("b"), child); }, milliseconds(3000)));
  }
  EXPECT_TRUE(NamespacesWithPrefix(RunPrefix()).empty());
  EXPECT_TRUE(Reaped(child, milliseconds(3000)));
}

TEST(NetnsHostsLifecycle, ConstructorRemovesLeftoversOfDeadRuns) {
  // A pid that is certainly not running: a child that has exited and been reaped.
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_TRUE(Reaped(dead, milliseconds(3000)));
  const std::string stale = std::string(NetnsHosts::kPrefix) + std::to_string(dead) + "-old";
  const std::string live = std::string(NetnsHosts::kPrefix) + std::to_string(getppid()) + "-live";
  MustRun({"ip", "netns", "add", stale});
  MustRun({"ip", "netns", "add", live});
  auto daemon_argv = DaemonCommand();
  std::vector<std::string> in_stale = {"ip", "netns", "exec", stale};
  in_stale.insert(in_stale.end(), daemon_argv.begin(), daemon_argv.end());
  int daemon = StartDaemon(in_stale);
  ASSERT_FALSE(Gone(daemon));

  {
    NetnsHosts net({"a"});
    auto stale_left = NamespacesWithPrefix(stale);
    EXPECT_TRUE(stale_left.empty()) << "leftover of dead pid " << dead << " not removed";
    EXPECT_TRUE(PollUntil([&] { return Gone(daemon); }, milliseconds(3000))) << "process in leftover survived";
    EXPECT_EQ(NamespacesWithPrefix(live).size(), 1u) << "namespace of a live pid must be kept";
  }
  MustRun({"ip", "netns", "del", live});
  EXPECT_TRUE(NamespacesWithPrefix(live).empty());
}

TEST(NetnsHostsLifecycle, FailsLoudlyWithoutPrivileges) {
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t child = fork();
  if (child == 0) {
    close(pipefd[0]);
    std::string message = "constructed without privileges";
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) {
      message = "could not drop privileges";
    } else {
      try {
        NetnsHosts net({"a", "b"});
      } catch (const std::runtime_error& e) {
        message = std::string("runtime_error: ") + e.what();
      } catch (...) {
        message = "some other exception";
      }
    }
    (void)!write(pipefd[1], message.data(), message.size());
    _exit(0);
  }
  close(pipefd[1]);
  ASSERT_TRUE(Reaped(child, milliseconds(20000)));
  std::string message;
  char buf[1024];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) message.append(buf, static_cast<size_t>(n));
  close(pipefd[0]);
  printf("[ message ] %s\n", message.c_str());
  EXPECT_EQ(message.rfind("runtime_error: NetnsHosts: `", 0), 0u) << message;
  EXPECT_NE(message.find("netns add"), std::string::npos) << message;
}

TEST(NetnsHostsLifecycle, RunReportsMissingCommandsAndDeadlines) {
  EXPECT_THROW(NetnsHosts::Run({"/nonexistent/halo-no-such-tool"}), std::runtime_error);
  auto r = NetnsHosts::Run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  const auto t0 = Clock::now();
  auto slow = NetnsHosts::Run({"sleep", "30"}, milliseconds(200));
  EXPECT_TRUE(slow.timed_out);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace
