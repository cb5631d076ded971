#include "gcs/dashboard_api.h"

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "rpc/event_json.h"
#include "rpc/state_names.h"

namespace halo::gcs {
namespace {

using nlohmann::json;

dashboard::HttpReply Json(int status, const json& body) {
  return {status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

json ClusterJson(const rpc::GetClusterInfoReply& info, bool serving) {
  return {{"cluster_id", info.cluster_id()},       {"version", info.version()},
          {"address", info.address()},             {"pid", info.pid()},
          {"is_leader", info.is_leader() && serving}, {"epoch", info.epoch()},
          {"leader_address", info.leader_address()}, {"storage", info.storage_kind()},
          {"storage_location", info.storage_location()}, {"namespace", info.storage_namespace()},
          {"recovery_ms", info.recovery_ms()},     {"uptime_s", info.uptime_ms() / 1000}};
}

json NodesJson(const NodeManager& nodes) {
  json out = json::array();
  for (const auto& node : nodes.AllNodes()) {
    json resources = json::object();
    for (const auto& [name, amount] : node.resources()) resources[name] = amount;
    out.push_back({{"node_id", node.node_id()},
                   {"address", node.address()},
                   {"state", NodeStateName(node.state())},
                   {"is_head", node.is_head()},
                   {"resources", resources},
                   {"death_reason", node.state() == rpc::DEAD ? DeathReasonName(node.death_reason()) : ""},
                   {"death_message", node.death_message()},
                   {"death_time_ms", node.death_time_ms()},
                   {"registered_time_ms", node.registered_time_ms()}});
  }
  return out;
}

json ActorsJson(const ActorManager& actors) {
  json out = json::array();
  for (const auto& actor : actors.All()) {
    const bool ended = actor.death_cause() != rpc::ACTOR_DEATH_CAUSE_UNSPECIFIED;
    out.push_back({{"actor_id", actor.actor_id()},
                   {"name", actor.name()},
                   {"class_name", actor.class_name()},
                   {"state", ActorStateName(actor.state())},
                   {"node_id", actor.node_id()},
                   {"pid", actor.pid()},
                   {"num_restarts", actor.num_restarts()},
                   {"death_cause", ended ? ActorDeathCauseName(actor.death_cause()) : ""},
                   {"death_message", actor.death_message()}});
  }
  return out;
}

json JobsJson(JobManager& jobs) {
  json out = json::array();
  jobs.HandleGetAllJobs([&out](std::vector<rpc::JobInfo> all) {
    for (const auto& job : all) {
      out.push_back({{"job_id", job.job_id()},
                     {"entrypoint", job.entrypoint()},
                     {"is_finished", job.is_finished()},
                     {"start_time_ms", job.start_time_ms()},
                     {"end_time_ms", job.end_time_ms()},
                     {"end_reason", job.end_reason()}});
    }
  });
  return out;
}

json ServicesJson(const ServiceManager& services) {
  json out = json::array();
  auto status = services.ServiceStatus("");
  if (!status.ok()) return out;
  for (const auto& service : status->services()) {
    json deployments = json::array();
    for (const auto& deployment : service.deployments()) {
      deployments.push_back({{"name", deployment.name()},
                             {"target", deployment.target()},
                             {"healthy", deployment.healthy()},
                             {"starting", deployment.starting()},
                             {"replaced", deployment.replaced()},
                             {"route_prefix", deployment.route_prefix()}});
    }
    out.push_back({{"name", service.name()}, {"version", service.version()}, {"deployments", deployments}});
  }
  return out;
}

dashboard::HttpReply EventsReply(EventLog& events, const std::string& query) {
  rpc::ListEventsRequest request;
  int64_t after = 0, limit = 0;
  const std::string after_text = dashboard::QueryValue(query, "after");
  const std::string limit_text = dashboard::QueryValue(query, "limit");
  if ((!after_text.empty() && (!absl::SimpleAtoi(after_text, &after) || after < 0)) ||
      (!limit_text.empty() && (!absl::SimpleAtoi(limit_text, &limit) || limit < 0 || limit > INT32_MAX))) {
    return Json(400, {{"error", "after and limit must be non-negative integers"}});
  }
  request.set_after_sequence(after);
  request.set_limit(static_cast<int32_t>(limit));
  dashboard::HttpReply reply = Json(500, {{"error", "the event log did not answer"}});
  events.HandleList(request, [&reply](StatusOr<rpc::ListEventsReply> listed) {
    if (!listed.ok()) {
      reply = Json(400, {{"error", std::string(listed.status().message())}});
      return;
    }
    json out = {{"last_sequence", listed->last_sequence()},
                {"first_sequence", listed->first_sequence()},
                {"incarnation", listed->incarnation()},
                {"loaded_sequence", listed->loaded_sequence()}};
    out["events"] = json::array();
    for (const auto& event : listed->events()) out["events"].push_back(ClusterEventJson(event));
    reply = Json(200, out);
  });
  return reply;
}

}  // namespace

dashboard::HttpReply DashboardApiReply(const std::string& path, const std::string& query,
                                       const rpc::GetClusterInfoReply& info, GcsAssembly* managers) {
  const bool serving = managers != nullptr && managers->recovered();
  if (path == "/api/cluster") return Json(200, ClusterJson(info, serving));
  const bool known = path == "/api/nodes" || path == "/api/actors" || path == "/api/jobs" ||
                     path == "/api/services" || path == "/api/events";
  if (!known) return Json(404, {{"error", "no such API: " + path}});
  if (!serving) {
    return Json(503, {{"error", "this head candidate is a standby"}, {"leader_address", info.leader_address()}});
  }
  if (path == "/api/nodes") return Json(200, NodesJson(managers->nodes()));
  if (path == "/api/actors") return Json(200, ActorsJson(managers->actors()));
  if (path == "/api/jobs") return Json(200, JobsJson(managers->jobs()));
  if (path == "/api/services") return Json(200, ServicesJson(managers->services()));
  return EventsReply(managers->events(), query);
}

}  // namespace halo::gcs
