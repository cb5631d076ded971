#include "support/test_env.h"

#include <fstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <thread>

#include "common/process.h"

namespace halo::testing {
namespace {

// Every cluster a test starts, and every client in the test process, share this token unless a test says
// otherwise (children inherit it): the whole suite runs with authentication on. Tests of the token itself
// give their children another one, or none.
const bool kClusterTokenSet = [] {
  setenv("HALO_AUTH_TOKEN", "halo-test-suite-token-0123456789abcdef", /*overwrite=*/0);
  return true;
}();

// Tests run several node agents on one host: unless a test says otherwise, each one's HTTP ingress takes a
// free port (the default, 8000, fits one agent per host). Children inherit the environment.
const bool kIngressOnFreePorts = [] {
  setenv("HALO_SERVE_HTTP_PORT", "0", /*overwrite=*/0);
  return true;
}();

}  // namespace

std::string BinDir() { return HALO_TEST_BIN_DIR; }

TempDir::TempDir() {
  char pattern[] = "/tmp/halo-test-XXXXXX";
  char* made = mkdtemp(pattern);
  if (made == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int FreePort() {
  // Below the kernel's ephemeral range (32768 and up by default), so no outgoing connection takes the port
  // between this check and the server binding it, or between a server's crash and its restart on it.
  static std::mt19937 random(static_cast<unsigned>(getpid()) * 7919u + static_cast<unsigned>(time(nullptr)));
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = 20000 + static_cast<int>(random() % 12000);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (free) return port;
  }
  throw std::runtime_error("no free loopback port in 20000..31999");
}

bool ProcessExited(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool ProcessStopped(int pid) {
  std::error_code error;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", error);
  if (error) return false;
  bool any = false;
  for (const auto& task : tasks) {
    auto stat = ReadFileToString(task.path().string() + "/stat");
    if (!stat.ok()) continue;  // that thread ended meanwhile
    // "tid (comm) S ...": the state follows the last ')' (comm may hold anything).
    const size_t close = stat->rfind(')');
    if (close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] != 'T') return false;
    any = true;
  }
  return any;
}

bool PauseProcess(int pid, std::chrono::milliseconds timeout) {
  if (kill(pid, SIGSTOP) != 0) return false;
  return WaitUntil([pid] { return ProcessStopped(pid); }, timeout);
}

CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::map<std::string, std::string>& env) {
  TempDir dir;
  SpawnOptions spawn;
  spawn.argv = argv;
  spawn.env = env;
  spawn.output_path = dir.path() + "/output";
  spawn.new_session = false;
  CommandResult result;
  auto pid = Spawn(spawn);
  if (!pid.ok()) {
    result.output = std::string(pid.status().message());
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(*pid, &status, WNOHANG);
    if (r == *pid) {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(*pid, SIGKILL);
      waitpid(*pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto output = ReadFileToString(spawn.output_path);
  if (output.ok()) result.output = *output;
  return result;
}

CommandResult RunHalo(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                      const std::map<std::string, std::string>& env) {
  // Sessions of tests never touch the user's /tmp/halo (nor its session_latest link).
  static TempDir session_root;
  std::map<std::string, std::string> full_env = env;
  full_env.emplace("HALO_SESSION_ROOT", session_root.path());
  std::vector<std::string> argv = {BinDir() + "/halo"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout, full_env);
}

namespace {

void MustRun(const std::vector<std::string>& argv) {
  auto result = RunCommand(argv, std::chrono::seconds(60));
  if (result.exit_code != 0) throw std::runtime_error("command failed: " + argv[0] + ": " + result.output);
}

}  // namespace

TlsFiles MakeTlsFiles(const std::string& dir, const std::vector<std::string>& extra_ips) {
  TlsFiles files{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key", dir + "/other-ca.pem",
                 dir + "/client.pem", dir + "/client.key"};
  const std::string ext = dir + "/san.ext";
  std::string names = "subjectAltName=IP:127.0.0.1,DNS:localhost";
  for (const auto& ip : extra_ips) names += ",IP:" + ip;
  auto written = WriteFileAtomically(ext, names + "\n");
  if (!written.ok()) throw std::runtime_error("cannot write " + ext);
  MustRun({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
           "/CN=halo-test-ca", "-keyout", dir + "/ca.key", "-out", files.ca_cert});
  MustRun({"/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout",
           files.server_key, "-out", dir + "/server.csr"});
  MustRun({"/usr/bin/openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", files.ca_cert, "-CAkey",
           dir + "/ca.key", "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", files.server_cert});
  MustRun({"/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=halo-client", "-keyout",
           files.client_key, "-out", dir + "/client.csr"});
  MustRun({"/usr/bin/openssl", "x509", "-req", "-in", dir + "/client.csr", "-CA", files.ca_cert, "-CAkey",
           dir + "/ca.key", "-CAcreateserial", "-days", "2", "-out", files.client_cert});
  MustRun({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
           "/CN=unrelated-ca", "-keyout", dir + "/other-ca.key", "-out", files.other_ca_cert});
  return files;
}

namespace {

int PortFor(const RedisServerOptions& options) {
  int port = FreePort();
  // Cluster mode also listens on port + 10000 (the cluster bus), which must be a valid port.
  for (int attempt = 0; options.cluster_enabled && attempt < 1000 && port + 10000 > 65535; ++attempt) {
    port = FreePort();
  }
  return port;
}

}  // namespace

RedisServer::RedisServer(RedisServerOptions options) : options_(std::move(options)) {
  if (options_.tls) tls_ = MakeTlsFiles(dir_.path());
  // A port found free may be taken before redis-server binds it: then try another one.
  for (int attempt = 0;; ++attempt) {
    port_ = PortFor(options_);
    try {
      Start();
      return;
    } catch (const std::exception&) {
      if (attempt == 4) throw;
    }
  }
}

RedisServer::~RedisServer() {
  if (pid_ > 0) Kill();
}

std::string RedisServer::Uri() const {
  return std::string(options_.tls ? "rediss://" : "redis://") +
         (options_.password.empty() ? "" : ":" + options_.password + "@") + "127.0.0.1:" + std::to_string(port_);
}

void RedisServer::Start() {
  std::vector<std::string> argv = {"/usr/bin/redis-server", "--bind", "127.0.0.1", "--dir", dir_.path(),
                                   "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                                   "--protected-mode", "no", "--daemonize", "no", "--logfile",
                                   dir_.path() + "/redis.log"};
  if (options_.tls) {
    argv.insert(argv.end(), {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file", tls_.server_cert,
                             "--tls-key-file", tls_.server_key, "--tls-ca-cert-file", tls_.ca_cert,
                             "--tls-auth-clients", options_.require_client_cert ? "yes" : "no"});
  } else {
    argv.insert(argv.end(), {"--port", std::to_string(port_)});
  }
  if (!options_.password.empty()) argv.insert(argv.end(), {"--requirepass", options_.password});
  if (options_.cluster_enabled) argv.insert(argv.end(), {"--cluster-enabled", "yes"});
  SpawnOptions spawn;
  spawn.argv = argv;
  spawn.output_path = dir_.path() + "/redis.out";
  spawn.die_with_parent = true;
  auto pid = Spawn(spawn);
  if (!pid.ok()) throw std::runtime_error(std::string(pid.status().message()));
  pid_ = *pid;
  // Ours answers, not some other server on this port: check its process id.
  const std::string ours = "process_id:" + std::to_string(pid_);
  bool up = WaitUntil(
      [&] { return ProcessAlive(pid_) && Cli({"INFO", "server"}).find(ours) != std::string::npos; },
      std::chrono::seconds(20));
  if (!up) {
    Kill();
    throw std::runtime_error("redis-server did not answer on port " + std::to_string(port_));
  }
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGCONT);
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServer::Pause() { kill(pid_, SIGSTOP); }

void RedisServer::Resume() { kill(pid_, SIGCONT); }

std::string RedisCli(int port, const std::vector<std::string>& options, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port)};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = RunCommand(argv, std::chrono::seconds(10));
  std::string out = result.output;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string RedisServer::Cli(const std::vector<std::string>& args) const {
  std::vector<std::string> options;
  if (options_.tls) {
    options.insert(options.end(),
                   {"--tls", "--cacert", tls_.ca_cert, "--cert", tls_.client_cert, "--key", tls_.client_key});
  }
  if (!options_.password.empty()) options.insert(options.end(), {"--no-auth-warning", "-a", options_.password});
  return RedisCli(port_, options, args);
}

}  // namespace halo::testing
