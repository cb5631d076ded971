// `halo start --head`, `halo start --address GCS` and `halo stop`.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "rpc/cluster_security.h"
#include "rpc/session.h"
#include "common/process.h"
#include "rpc/gcs_client.h"

namespace halo::cli {
namespace {

struct Daemon {
  const char* name;    // file prefix in the session: <name>.pid, logs/<name>.out
  const char* binary;  // executable next to `halo`
};
constexpr Daemon kGcs{"gcs", "halo-gcs"};
constexpr Daemon kNode{"node", "halo-node"};

// The pid recorded in <session>/<name>.pid if that process is alive and is the expected daemon.
std::optional<pid_t> LiveDaemonPid(const std::string& session, const Daemon& daemon) {
  pid_t pid = std::atoi(ReadTrimmedFile(session + "/" + daemon.name + ".pid").c_str());
  if (pid <= 0 || !ProcessAlive(pid)) return std::nullopt;
  if (ProcessCommandLine(pid).find(daemon.binary) == std::string::npos) return std::nullopt;  // pid was reused
  return pid;
}

// The last "<binary>: error:" line the daemon printed, or its last line.
std::string DaemonError(const std::string& output_path, const Daemon& daemon) {
  auto text = ReadFileToString(output_path);
  if (!text.ok()) return "it exited without saying why";
  const std::string marker = absl::StrCat(daemon.binary, ": error: ");
  std::istringstream lines(*text);
  std::string line, last, error;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    last = line;
    auto pos = line.find(marker);
    if (pos != std::string::npos) error = line.substr(pos + marker.size());
  }
  if (!error.empty()) return error;
  return last.empty() ? "it exited without saying why" : last;
}

// The last line a starting daemon logged (logs/<name>.log), for progress; "" when none yet.
std::string LastLogLine(const std::string& session, const Daemon& daemon) {
  auto text = ReadFileToString(absl::StrCat(session, "/logs/", daemon.name, ".log"));
  if (!text.ok()) return "";
  std::istringstream lines(*text);
  std::string line, last;
  while (std::getline(lines, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

// How often a start that takes a while says what it still waits for (on stderr; stdout is the result).
constexpr int64_t kProgressIntervalMs = 2000;

// Starts a daemon of the session and waits until ready() or it exits or the timeout passes, saying on stderr
// what it waits for (waiting_for: "the GCS to serve") once it takes longer than kProgressIntervalMs, with the
// daemon's last log line. On failure returns the message to print (and kills the daemon if it still runs).
std::optional<std::string> StartDaemon(const Daemon& daemon, const std::string& session,
                                       std::vector<std::string> args, int64_t timeout_ms,
                                       const std::string& waiting_for, const std::function<bool()>& ready) {
  SpawnOptions spawn;
  spawn.argv = {ExecutableDir() + "/" + daemon.binary};
  spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
  spawn.output_path = session + "/logs/" + daemon.name + ".out";
  auto pid = Spawn(spawn);
  if (!pid.ok()) return std::string(pid.status().message());
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::milliseconds(timeout_ms);
  auto next_progress = started + std::chrono::milliseconds(kProgressIntervalMs);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ReapIfExited(*pid).has_value() || !ProcessAlive(*pid)) {
      return absl::StrCat("the ", daemon.binary, " could not start: ", DaemonError(spawn.output_path, daemon),
                          " (log: ", session, "/logs/)");
    }
    if (ready()) return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_progress) {
      const auto waited_s = std::chrono::duration_cast<std::chrono::seconds>(now - started).count();
      const std::string last = LastLogLine(session, daemon);
      std::cerr << "halo: waiting for " << waiting_for << " (" << waited_s << " s of " << timeout_ms / 1000 << " s)"
                << (last.empty() ? "" : absl::StrCat("; its log says: ", last)) << std::endl;
      next_progress = now + std::chrono::milliseconds(kProgressIntervalMs);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(*pid, SIGKILL);
  return absl::StrCat(daemon.binary, " was not ready within ", timeout_ms, " ms (its last words: ",
                      DaemonError(spawn.output_path, daemon), "); it was killed. Log: ", session, "/logs/");
}

// Setting flags for a daemon: what was given, minus --session-dir (replaced by the resolved one).
std::vector<std::string> DaemonArgs(const std::vector<std::string>& passthrough, const std::string& session) {
  std::vector<std::string> args;
  for (size_t i = 0; i < passthrough.size(); ++i) {
    if (passthrough[i] == "--session-dir") {
      ++i;
      continue;
    }
    args.push_back(passthrough[i]);
  }
  args.push_back("--session-dir");
  args.push_back(session);
  return args;
}

std::optional<std::string> StartNode(const std::string& session, const std::string& gcs_address, bool is_head,
                                     const std::vector<std::string>& passthrough, const Settings& settings) {
  std::error_code ec;
  std::filesystem::remove(session + "/node.id", ec);
  auto args = DaemonArgs(passthrough, session);
  args.insert(args.end(), {"--gcs-address", gcs_address});
  if (is_head) args.push_back("--is-head");
  return StartDaemon(kNode, session, args, settings.node_start_timeout_ms,
                     absl::StrCat("the node agent to register with the GCS at ", gcs_address),
                     [&] { return !ReadTrimmedFile(session + "/node.id").empty(); });
}

}  // namespace

int Fail(const std::string& message) {
  std::cerr << "halo: error: " << message << std::endl;
  return 1;
}

int RunStart(const StartOptions& options, const SettingsInputs& inputs) {
  if (!options.head && options.address.empty()) {
    return Fail("say what to start: `halo start --head` starts a head on this machine, "
                "`halo start --address GCS_ADDRESS` joins this machine to a cluster");
  }
  if (options.head && !options.address.empty()) return Fail("give either --head or --address, not both");
  if (options.ha && !options.head) return Fail("--ha applies to a head: give --head --ha");
  SettingsInputs effective = inputs;
  if (options.ha) {
    auto given = effective.flags.find("head_mode");
    if (given != effective.flags.end() && given->second != "ha") {
      return Fail(absl::StrCat("--ha contradicts --head-mode ", given->second));
    }
    effective.flags["head_mode"] = "ha";
  }
  auto loaded = LoadSettings(effective);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  const Settings& settings = loaded->values;

  const std::string session = NewSessionDir(settings);
  std::error_code ec;
  std::filesystem::create_directories(session + "/logs", ec);
  if (ec) return Fail(absl::StrCat("cannot create session directory ", session, ": ", ec.message()));
  const std::optional<pid_t> running_gcs = LiveDaemonPid(session, kGcs);
  const std::optional<pid_t> running_node = LiveDaemonPid(session, kNode);
  if (running_gcs || (!options.head && running_node)) {
    const pid_t pid = running_gcs ? *running_gcs : *running_node;
    return Fail(absl::StrCat("the ", running_gcs ? kGcs.binary : kNode.binary, " of session ", session,
                             " is already running (pid ", pid, "); stop it first with `halo stop --session-dir ",
                             session, "`"));
  }

  // The cluster token: a head takes the one it is given (or its session's, after a restart) or makes one; a
  // joining machine must be given it. Either way the session keeps it, for the daemons and local commands.
  auto security = options.head ? rpc::LoadClusterSecurityMaybeWithoutToken(settings, session)
                               : rpc::LoadClusterSecurity(settings, session);
  if (!security.ok()) return Fail(std::string(security.status().message()));
  if (Status serving = rpc::CheckServingSecurity(settings); !serving.ok()) return Fail(std::string(serving.message()));
  if (security->check_token && security->token.empty() && settings.head_mode == "ha") {
    // A candidate with a token of its own would, once it leads, refuse every process that holds the others'.
    return Fail("head candidates (--ha) must share one cluster token: give every candidate the same one with "
                "HALO_AUTH_TOKEN or --auth-token-file (make one with `openssl rand -hex 32`)");
  }
  if (security->check_token && security->token.empty()) {
    security->token = rpc::NewClusterToken();
    security->token_origin = "new";
  }
  // A joining machine keeps the token once the cluster has taken it (below); a head now, for its daemons.
  const std::string token = security->token;
  if (options.head) {
    if (Status recorded = rpc::RecordSecurityInSession(session, token, settings); !recorded.ok()) {
      return Fail(std::string(recorded.message()));
    }
  }
  const std::string token_line =
      !security->check_token
          ? std::string("  auth:         off (auth_mode off: calls are not checked)\n")
          : absl::StrCat("  auth token:   ", session, "/", rpc::kSessionTokenFile,
                         security->token_origin == "new" ? " (new)" : "", "\n");
  rpc::SetProcessSecurity(*std::move(security));

  if (!options.head) {
    GcsClient probe(options.address, settings.rpc_timeout_ms);
    auto info = probe.GetClusterInfo();
    if (!info.ok()) return Fail(std::string(info.status().message()));
    if (Status recorded = rpc::RecordSecurityInSession(session, token, settings); !recorded.ok()) {
      return Fail(std::string(recorded.message()));
    }
    if (Status joined = WriteFileAtomically(session + "/" + kJoinedAddressFile, options.address + "\n"); !joined.ok()) {
      return Fail(std::string(joined.message()));
    }
    if (auto error = StartNode(session, options.address, false, options.passthrough, settings)) return Fail(*error);
    MarkLatestSession(settings, session);
    std::cout << "Node " << ReadTrimmedFile(session + "/node.id") << " joined cluster " << info->cluster_id() << ".\n"
              << "  node address: " << ReadTrimmedFile(session + "/node.address") << "\n"
              << "  GCS address:  " << options.address << "\n"
              << "  session:      " << session << "\n"
              << token_line;
    return 0;
  }

  // A node agent of this session that outlived its GCS will reconnect to the address it knows: give the
  // new GCS that same port when the settings leave the choice to us (port 0).
  std::vector<std::string> gcs_args = DaemonArgs(options.passthrough, session);
  if (options.ha && inputs.flags.count("head_mode") == 0) gcs_args.insert(gcs_args.end(), {"--head-mode", "ha"});
  // A head heals itself: its GCS is supervised unless the settings say otherwise.
  if (loaded->source["gcs_restarts_max"] == "default") gcs_args.insert(gcs_args.end(), {"--gcs-restarts-max", "-1"});
  const bool candidate = settings.head_mode == "ha";
  const std::string previous_address = ReadTrimmedFile(session + "/gcs.address");
  if (running_node && settings.port == 0 && !previous_address.empty()) {
    gcs_args.insert(gcs_args.end(), {"--port", previous_address.substr(previous_address.rfind(':') + 1)});
  }
  std::filesystem::remove(session + "/gcs.address", ec);
  rpc::GetClusterInfoReply info;
  auto gcs_error = StartDaemon(kGcs, session, gcs_args, settings.gcs_start_timeout_ms,
                               candidate ? "the head candidate to lead or find its leader"
                                         : "the GCS to load its storage and serve",
                               [&] {
                                 std::string address = ReadTrimmedFile(session + "/gcs.address");
                                 if (address.empty()) return false;
                                 auto reply = GcsClient(address, 1000).GetClusterInfo();
                                 if (!reply.ok()) return false;
                                 info = *reply;
                                 // A candidate is ready once it leads or knows who does.
                                 return !candidate || reply->is_leader() ||
                                        (!reply->leader_address().empty() && reply->leader_address() != address);
                               });
  if (gcs_error) return Fail(*gcs_error);
  if (running_node) {
    // The GCS was restarted under a head node agent that kept running: the agent reconnects by itself.
    MarkLatestSession(settings, session);
    std::cout << "Halo head GCS restarted.\n"
              << "  GCS address:  " << info.address() << "\n"
              << "  cluster id:   " << info.cluster_id() << "\n"
              << "  recovered in: " << info.recovery_ms() << " ms\n"
              << "  head node:    " << ReadTrimmedFile(session + "/node.id") << " (still running, pid " << *running_node
              << "; it reconnects)\n";
    return 0;
  }
  if (auto error = StartNode(session, info.address(), true, options.passthrough, settings)) {
    return Fail(absl::StrCat(*error, " (the GCS is running; `halo stop --session-dir ", session, "` stops it)"));
  }
  MarkLatestSession(settings, session);
  if (candidate && !info.is_leader()) {
    // A standby does not load the tables: the cluster's identity comes from the leader.
    auto leader = GcsClient(info.leader_address(), settings.rpc_timeout_ms).GetClusterInfo();
    if (leader.ok()) info.set_cluster_id(leader->cluster_id());
  }
  if (candidate) {
    std::cout << "Halo head candidate started: "
              << (info.is_leader() ? absl::StrCat("it leads (epoch ", info.epoch(), ")")
                                   : absl::StrCat("standby; the leader is at ", info.leader_address(), " (epoch ",
                                                  info.epoch(), ")"))
              << ".\n";
  } else {
    std::cout << "Halo head started.\n";
  }
  std::cout
            << "  GCS address:  " << info.address() << "\n"
            << "  cluster id:   " << info.cluster_id() << "\n"
            << "  storage:      " << info.storage_kind() << " " << info.storage_location() << " (namespace "
            << info.storage_namespace() << ")\n"
            << "  recovered in: " << info.recovery_ms() << " ms\n"
            << "  head node:    " << ReadTrimmedFile(session + "/node.id") << "\n"
            << "  session:      " << session << "\n"
            << "  GCS pid:      " << info.pid() << "\n"
            << token_line
            << "Join another machine: HALO_AUTH_TOKEN=<the token> halo start --address " << info.address()
            << " (or --auth-token-file FILE)\n";
  return 0;
}

int RunStop(const SettingsInputs& inputs) {
  auto loaded = LoadSettings(inputs);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  const Settings& settings = loaded->values;
  const std::string session = ExistingSessionDir(settings);
  if (session.empty()) return Fail("no session found: pass --session-dir");
  int stopped = 0;
  // The node agent first, so it can tell the GCS it is leaving (EXPECTED_TERMINATION).
  for (const Daemon* daemon : {&kNode, &kGcs}) {
    auto pid = LiveDaemonPid(session, *daemon);
    if (!pid) continue;
    ++stopped;
    kill(*pid, SIGTERM);
    if (WaitForProcessExit(*pid, settings.stop_grace_period_ms)) {
      std::cout << "Stopped " << daemon->binary << " (pid " << *pid << ") of session " << session << ".\n";
      continue;
    }
    kill(*pid, SIGKILL);
    if (!WaitForProcessExit(*pid, 5000)) return Fail(absl::StrCat(daemon->binary, " (pid ", *pid, ") survived SIGKILL"));
    std::cout << "Killed " << daemon->binary << " (pid " << *pid << ") of session " << session << " after "
              << settings.stop_grace_period_ms << " ms without a graceful exit.\n";
  }
  if (stopped == 0) std::cout << "Nothing to stop: no daemon of session " << session << " is running.\n";
  return 0;
}

}  // namespace halo::cli
