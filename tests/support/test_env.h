// Test helpers: temporary directories, free loopback ports, polling with a deadline, running the halo
// binaries, and a real redis-server (plain or TLS) started on a free loopback port.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace halo::testing {

// Directory of the built binaries (build/bin).
std::string BinDir();

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A loopback TCP port nobody listens on right now, outside the ephemeral range.
int FreePort();

// The process has exited: no such process, or a zombie its parent has not reaped yet (a paused parent
// cannot reap).
bool ProcessExited(int pid);

// Polls pred every 10 ms until it holds or timeout passes. Returns whether it held.
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// SIGSTOP, then waits until every thread of the process is stopped. kill() only queues the signal: the
// process runs on (and answers calls) until the thread the kernel picked to take it gets a CPU, which on a
// loaded machine can be milliseconds later. False if the process is gone or not stopped within timeout.
bool PauseProcess(int pid, std::chrono::milliseconds timeout = std::chrono::seconds(10));
// Every thread of the process is stopped (state T in /proc/PID/task/*/stat).
bool ProcessStopped(int pid);

struct CommandResult {
  int exit_code = -1;     // -1 if it had to be killed at the deadline
  std::string output;     // stdout and stderr together
};
// Runs argv (argv[0] is a path) to completion, at most timeout, capturing its output.
CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::map<std::string, std::string>& env = {});
// Runs build/bin/halo with args.
CommandResult RunHalo(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60),
                      const std::map<std::string, std::string>& env = {});

// CA, server certificate (for 127.0.0.1, localhost and extra_ips) and a second, unrelated CA, made with openssl.
struct TlsFiles {
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string other_ca_cert;  // does not verify the server
  std::string client_cert;    // signed by ca_cert, for mutual TLS
  std::string client_key;
};
TlsFiles MakeTlsFiles(const std::string& dir, const std::vector<std::string>& extra_ips = {});

// Runs redis-cli against 127.0.0.1:port with options (TLS, password) then args; its output, trimmed at the end.
std::string RedisCli(int port, const std::vector<std::string>& options, const std::vector<std::string>& args);

struct RedisServerOptions {
  bool tls = false;
  std::string password;  // requirepass
  bool cluster_enabled = false;
  bool require_client_cert = false;  // TLS only: mutual TLS
};

// A real redis-server on a free loopback port, data in its own directory (append-only, fsync always, so a
// restart in place keeps every acknowledged write). Stopped when destroyed.
class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();

  int port() const { return port_; }
  std::string Uri() const;  // redis://127.0.0.1:port or rediss://...
  const TlsFiles& tls_files() const { return tls_; }
  pid_t pid() const { return pid_; }

  // Starts (or starts again on the same port and data directory) and waits until it answers PING.
  void Start();
  // SIGKILL, then wait until the process is gone.
  void Kill();
  // SIGSTOP / SIGCONT: the server keeps its socket but answers nothing.
  void Pause();
  void Resume();
  // Runs redis-cli against this server; returns its output (trimmed).
  std::string Cli(const std::vector<std::string>& args) const;

 private:
  RedisServerOptions options_;
  TempDir dir_;
  TlsFiles tls_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace halo::testing
