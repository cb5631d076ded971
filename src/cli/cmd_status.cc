// `halo status`: an operator's summary of the cluster. The top-level fields describe the GCS at the address
// asked (scripts ask each head candidate in turn); the summary comes from the leader. When no GCS answers, it
// says what the session directory knows: the supervisor restarting the GCS, and why the last one ended.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "common/process.h"
#include "rpc/gcs_client.h"
#include "rpc/gcs_process_records.h"
#include "rpc/session.h"
#include "rpc/state_names.h"

namespace halo::cli {
namespace {

// Failures shown: the newest of the last hour, at most this many.
constexpr int64_t kRecentWindowMs = 3600 * 1000;
constexpr int kRecentMax = 8;

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Candidate {
  std::string address;
  std::optional<rpc::GetClusterInfoReply> info;
  std::string error;
  bool refused_credentials = false;  // it answered, refusing this command's token
};

// Each address alone (no redirects): what it says of itself.
Candidate Ask(const std::string& address, int64_t timeout_ms) {
  Candidate candidate{address, std::nullopt, ""};
  GcsClient client(address, timeout_ms);
  auto info = client.GetClusterInfo();
  if (info.ok()) {
    candidate.info = *info;
  } else {
    candidate.error = std::string(info.status().message());
    candidate.refused_credentials = info.status().code() == absl::StatusCode::kUnauthenticated;
  }
  return candidate;
}

struct Summary {
  std::map<std::string, int> nodes, actors;
  int jobs_running = 0, jobs_finished = 0;
  nlohmann::json services = nlohmann::json::array();
  std::vector<rpc::ClusterEvent> recent;  // warnings and errors of the last hour, oldest first
  std::optional<rpc::ClusterEvent> last_recovery;
  std::vector<std::string> errors;        // parts the leader could not give
};

Summary Summarize(GcsClient& leader) {
  Summary summary;
  if (auto nodes = leader.GetAllNodes(); nodes.ok()) {
    for (const auto& node : *nodes) summary.nodes[NodeStateName(node.state())] += 1;
  } else {
    summary.errors.push_back(absl::StrCat("nodes: ", nodes.status().message()));
  }
  if (auto actors = leader.ListActors(); actors.ok()) {
    for (const auto& actor : *actors) summary.actors[ActorStateName(actor.state())] += 1;
  } else {
    summary.errors.push_back(absl::StrCat("actors: ", actors.status().message()));
  }
  if (auto jobs = leader.GetAllJobs(); jobs.ok()) {
    for (const auto& job : *jobs) (job.is_finished() ? summary.jobs_finished : summary.jobs_running) += 1;
  } else {
    summary.errors.push_back(absl::StrCat("jobs: ", jobs.status().message()));
  }
  if (auto services = leader.GetServiceStatus(""); services.ok()) {
    for (const auto& service : services->services()) {
      int64_t target = 0, healthy = 0;
      for (const auto& deployment : service.deployments()) {
        target += deployment.target();
        healthy += deployment.healthy();
      }
      summary.services.push_back(
          {{"name", service.name()}, {"version", service.version()}, {"target", target}, {"healthy", healthy}});
    }
  } else {
    summary.errors.push_back(absl::StrCat("services: ", services.status().message()));
  }
  // The log is bounded and read page by page; the newest warnings and errors of the last hour are kept.
  rpc::ListEventsRequest request;
  const int64_t since_ms = WallNowMs() - kRecentWindowMs;
  for (int page = 0; page < 100; ++page) {
    auto listed = leader.ListEvents(request);
    if (!listed.ok()) {
      summary.errors.push_back(absl::StrCat("events: ", listed.status().message()));
      break;
    }
    for (const auto& event : listed->events()) {
      if (event.kind() == rpc::EVENT_GCS_RECOVERED) summary.last_recovery = event;
      if (event.severity() == "info" || event.time_ms() < since_ms) continue;
      summary.recent.push_back(event);
      if (static_cast<int>(summary.recent.size()) > kRecentMax) summary.recent.erase(summary.recent.begin());
    }
    if (listed->events().empty() || listed->events().rbegin()->sequence() >= listed->last_sequence()) break;
    request.set_after_sequence(listed->events().rbegin()->sequence());
  }
  return summary;
}

std::string Counts(const std::map<std::string, int>& counts) {
  if (counts.empty()) return "none";
  std::vector<std::string> parts;
  for (const auto& [state, count] : counts) parts.push_back(absl::StrCat(count, " ", state));
  return absl::StrJoin(parts, ", ");
}

// What the session knows when no GCS answers: exit 1 with it.
int ExplainSilence(const std::vector<Candidate>& candidates, const Settings& settings, bool from_session, bool json) {
  std::vector<std::string> lines;
  for (const auto& candidate : candidates) lines.push_back(candidate.error);
  nlohmann::json out = {{"reachable", false}, {"errors", lines}};
  const std::string session = from_session ? ExistingSessionDir(settings) : "";
  if (!session.empty()) {
    const std::string pid_text = ReadTrimmedFile(session + "/gcs.pid");
    int pid = 0;
    const bool running = !pid_text.empty() && absl::SimpleAtoi(pid_text, &pid) && pid > 0 && ProcessAlive(pid);
    out["session"] = session;
    out["gcs_process_running"] = running;
    if (!running) lines.push_back(absl::StrCat("no GCS process runs for session ", session, " (stopped or crashed)"));
    if (auto supervisor = ReadSupervisorRecord(session); supervisor && running) {
      out["supervisor"] = {{"state", supervisor->state}, {"restarts", supervisor->restarts},
                           {"since_ms", supervisor->since_ms}, {"next_start_ms", supervisor->next_start_ms}};
      if (supervisor->state == "restarting") {
        lines.push_back(absl::StrCat("the supervisor (pid ", pid, ") restarts the GCS at ",
                                     ClockText(supervisor->next_start_ms), " (restart ", supervisor->restarts, ")"));
      } else if (supervisor->state == "running") {
        lines.push_back(absl::StrCat("the supervisor (pid ", pid, ") started GCS pid ", supervisor->child_pid, " at ",
                                     ClockText(supervisor->since_ms),
                                     "; it is not serving yet (loading storage, or waiting for it)"));
      }
    }
    if (auto exit = ReadExitRecord(session)) {
      out["last_exit"] = {{"cause", ExitCauseName(exit->cause)}, {"time_ms", exit->time_ms}, {"pid", exit->pid},
                          {"message", exit->message}};
      lines.push_back(absl::StrCat("the last GCS (pid ", exit->pid, ") ended at ", ClockText(exit->time_ms), ", ",
                                   exit->cause == ExitCause::kStorageUnreachable ? "storage unreachable"
                                   : exit->cause == ExitCause::kDeposed          ? "deposed"
                                                                                 : "with an error",
                                   ": ", exit->message));
    }
  }
  if (json) {
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return 1;
  }
  std::cerr << "halo: error: " << lines.front() << "\n";
  for (size_t i = 1; i < lines.size(); ++i) std::cerr << "  " << lines[i] << "\n";
  return 1;
}

}  // namespace

int RunStatus(const std::string& address_flag, bool json, const SettingsInputs& inputs) {
  auto loaded = LoadSettings(inputs);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  const Settings& settings = loaded->values;
  if (Status secured = UseClusterSecurity(settings, address_flag); !secured.ok()) {
    return Fail(std::string(secured.message()));
  }
  auto address = FindGcsAddress(address_flag, settings);
  if (!address.ok()) return Fail(std::string(address.status().message()));
  const bool from_session = address_flag.empty() && std::getenv("HALO_ADDRESS") == nullptr;

  std::vector<Candidate> candidates;
  for (const auto& part : absl::StrSplit(*address, ',', absl::SkipEmpty())) {
    candidates.push_back(Ask(std::string(part), settings.rpc_timeout_ms));
  }
  if (candidates.empty()) return Fail(absl::StrCat("no GCS address in '", *address, "'"));
  const Candidate* asked = nullptr;  // the first that answered
  const Candidate* leader = nullptr;
  for (const auto& candidate : candidates) {
    if (!candidate.info) continue;
    if (asked == nullptr) asked = &candidate;
    if (leader == nullptr && candidate.info->is_leader()) leader = &candidate;
  }
  if (asked == nullptr) {
    // A GCS that refused the token is up: say that, not why it might be down.
    for (const auto& candidate : candidates) {
      if (candidate.refused_credentials) return Fail(absl::StrCat(candidate.address, ": ", candidate.error));
    }
    return ExplainSilence(candidates, settings, from_session, json);
  }
  // A standby names the leader: ask it too (it is one of the candidates, listed or not).
  std::optional<Candidate> named_leader;
  if (leader == nullptr && !asked->info->leader_address().empty()) {
    named_leader = Ask(asked->info->leader_address(), settings.rpc_timeout_ms);
    if (named_leader->info && named_leader->info->is_leader()) leader = &*named_leader;
  }
  const rpc::GetClusterInfoReply& info = *asked->info;
  std::optional<Summary> summary;
  if (leader != nullptr) {
    GcsClient client(leader->address, settings.rpc_timeout_ms);
    summary = Summarize(client);
  }

  nlohmann::json candidates_json = nlohmann::json::array();
  for (const auto& candidate : candidates) {
    nlohmann::json entry = {{"address", candidate.address}, {"reachable", candidate.info.has_value()}};
    if (candidate.info) {
      entry["is_leader"] = candidate.info->is_leader();
      entry["epoch"] = candidate.info->epoch();
      entry["pid"] = candidate.info->pid();
    } else {
      entry["error"] = candidate.error;
    }
    candidates_json.push_back(entry);
  }
  if (json) {
    nlohmann::json out = {{"cluster_id", info.cluster_id()},
                          {"version", info.version()},
                          {"storage", info.storage_kind()},
                          {"storage_location", info.storage_location()},
                          {"namespace", info.storage_namespace()},
                          {"address", info.address()},
                          {"uptime_s", info.uptime_ms() / 1000},
                          {"start_time_ms", info.start_time_ms()},
                          {"gcs_pid", info.pid()},
                          {"recovery_ms", info.recovery_ms()},
                          {"is_leader", info.is_leader()},
                          {"epoch", info.epoch()},
                          {"leader_address", info.leader_address()},
                          {"candidates", candidates_json}};
    if (leader != nullptr) {
      out["leader"] = {{"address", leader->address}, {"epoch", leader->info->epoch()}, {"pid", leader->info->pid()},
                       {"recovery_ms", leader->info->recovery_ms()}, {"uptime_s", leader->info->uptime_ms() / 1000}};
    }
    if (summary) {
      out["nodes"] = summary->nodes;
      out["actors"] = summary->actors;
      out["jobs"] = {{"running", summary->jobs_running}, {"finished", summary->jobs_finished}};
      out["services"] = summary->services;
      nlohmann::json recent = nlohmann::json::array();
      for (const auto& event : summary->recent) {
        recent.push_back({{"time_ms", event.time_ms()}, {"kind", EventKindName(event.kind())},
                          {"severity", event.severity()}, {"message", event.message()},
                          {"duration_ms", event.duration_ms()}});
      }
      out["recent_failures"] = recent;
      if (summary->last_recovery) {
        out["last_recovery"] = {{"time_ms", summary->last_recovery->time_ms()},
                                {"duration_ms", summary->last_recovery->duration_ms()},
                                {"reporter", summary->last_recovery->reporter()}};
      }
      if (!summary->errors.empty()) out["errors"] = summary->errors;
    }
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return 0;
  }

  std::cout << "cluster    " << info.cluster_id() << " (halo " << info.version() << ")\n";
  std::cout << "storage    " << info.storage_kind() << " " << info.storage_location() << ", namespace "
            << info.storage_namespace() << (leader != nullptr ? " (the leader serves from it)" : "") << "\n";
  if (leader != nullptr) {
    std::cout << "leader     " << leader->address << "  epoch " << leader->info->epoch() << ", pid "
              << leader->info->pid() << ", up " << leader->info->uptime_ms() / 1000 << " s, recovered in "
              << leader->info->recovery_ms() << " ms\n";
  } else {
    std::cout << "leader     none serving"
              << (info.leader_address().empty() ? "" : absl::StrCat(" (last known: ", info.leader_address(), ")"))
              << "\n";
  }
  for (const auto& candidate : candidates) {
    if (leader != nullptr && candidate.address == leader->address) continue;
    std::cout << "candidate  " << candidate.address << "  "
              << (candidate.info ? absl::StrCat(candidate.info->is_leader() ? "leader" : "standby", ", pid ",
                                                candidate.info->pid(), ", knows epoch ", candidate.info->epoch())
                                 : absl::StrCat("unreachable: ", candidate.error))
              << "\n";
  }
  if (summary) {
    std::cout << "nodes      " << Counts(summary->nodes) << "\n"
              << "actors     " << Counts(summary->actors) << "\n"
              << "jobs       " << summary->jobs_running << " running, " << summary->jobs_finished << " finished\n";
    std::cout << "services   ";
    if (summary->services.empty()) std::cout << "none";
    for (size_t i = 0; i < summary->services.size(); ++i) {
      const auto& service = summary->services[i];
      std::cout << (i > 0 ? ", " : "") << service["name"].get<std::string>() << " " << service["healthy"].get<int64_t>()
                << "/" << service["target"].get<int64_t>() << " healthy";
    }
    std::cout << "\n";
    if (summary->last_recovery) {
      std::cout << "recovery   last GCS recovery at " << ClockText(summary->last_recovery->time_ms()) << " took "
                << summary->last_recovery->duration_ms() << " ms (" << summary->last_recovery->reporter() << ")\n";
    }
    std::cout << "failures   " << (summary->recent.empty() ? "none in the last hour" : "in the last hour:") << "\n";
    for (const auto& event : summary->recent) {
      std::cout << "  " << ClockText(event.time_ms()) << "  " << EventKindName(event.kind()) << "  " << event.message()
                << "\n";
    }
    for (const auto& error : summary->errors) std::cout << "unknown    " << error << "\n";
  }
  return 0;
}

}  // namespace halo::cli
