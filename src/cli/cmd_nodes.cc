// `halo list nodes`, `halo list actors` and `halo drain`.
#include <algorithm>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "rpc/session.h"
#include "rpc/state_names.h"
#include "rpc/gcs_client.h"

namespace halo::cli {
namespace {

nlohmann::json NodeJson(const rpc::NodeInfo& node) {
  nlohmann::json resources = nlohmann::json::object();
  for (const auto& [name, amount] : node.resources()) resources[name] = amount;
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [key, value] : node.labels()) labels[key] = value;
  return {{"node_id", node.node_id()},
          {"address", node.address()},
          {"state", NodeStateName(node.state())},
          {"death_reason", node.state() == rpc::DEAD ? DeathReasonName(node.death_reason()) : ""},
          {"death_message", node.death_message()},
          {"death_time_ms", node.death_time_ms()},
          {"resources", resources},
          {"labels", labels},
          {"is_head", node.is_head()},
          {"pid", node.pid()},
          {"registered_time_ms", node.registered_time_ms()},
          {"drain_deadline_ms", node.drain_deadline_ms()}};
}

std::string ActorName(const rpc::ActorInfo& actor) {
  return actor.name().empty() ? "" : absl::StrCat(actor.namespace_(), "/", actor.name());
}

nlohmann::json ActorJson(const rpc::ActorInfo& actor) {
  return {{"actor_id", actor.actor_id()},
          {"name", ActorName(actor)},
          {"class_name", actor.class_name()},
          {"state", ActorStateName(actor.state())},
          {"job_id", actor.job_id()},
          {"node_id", actor.node_id()},
          {"pid", actor.pid()},
          {"detached", actor.detached()},
          {"num_restarts", actor.num_restarts()},
          {"max_restarts", actor.max_restarts()},
          {"death_cause", ActorDeathCauseName(actor.death_cause())},
          {"death_message", actor.death_message()},
          {"quick_deaths", actor.quick_deaths()},
          {"next_attempt_time_ms", actor.next_attempt_time_ms()}};
}



}  // namespace

int RunListNodes(const std::string& address, bool json, const SettingsInputs& inputs) {
  auto client = ConnectToGcs(address, inputs);
  if (!client.ok()) return Fail(std::string(client.status().message()));
  auto nodes = (*client)->GetAllNodes();
  if (!nodes.ok()) return Fail(std::string(nodes.status().message()));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& node : *nodes) out.push_back(NodeJson(node));
    std::cout << out.dump(2) << std::endl;
    return 0;
  }
  std::cout << std::left << std::setw(30) << "NODE_ID" << std::setw(11) << "STATE" << std::setw(22) << "ADDRESS"
            << std::setw(6) << "HEAD" << "RESOURCES / DEATH\n";
  for (const auto& node : *nodes) {
    std::string detail;
    if (node.state() == rpc::DEAD) {
      detail = absl::StrCat(DeathReasonName(node.death_reason()), ": ", node.death_message(), " at ",
                            ClockText(node.death_time_ms()));
    } else {
      for (const auto& [name, amount] : node.resources()) absl::StrAppend(&detail, detail.empty() ? "" : ",", name, "=", amount);
    }
    std::cout << std::left << std::setw(30) << node.node_id() << std::setw(11) << NodeStateName(node.state())
              << std::setw(22) << node.address() << std::setw(6) << (node.is_head() ? "yes" : "") << detail << "\n";
  }
  return 0;
}

int RunListActors(const std::string& address, bool json, const SettingsInputs& inputs) {
  auto client = ConnectToGcs(address, inputs);
  if (!client.ok()) return Fail(std::string(client.status().message()));
  auto actors = (*client)->ListActors();
  if (!actors.ok()) return Fail(std::string(actors.status().message()));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& actor : *actors) out.push_back(ActorJson(actor));
    // actor_id is a bytes field: never let a stray byte abort the listing.
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return 0;
  }
  size_t name_width = 4;
  for (const auto& actor : *actors) name_width = std::max(name_width, ActorName(actor).size());
  const int name_column = static_cast<int>(name_width) + 2;
  std::cout << std::left << std::setw(30) << "ACTOR_ID" << std::setw(name_column) << "NAME" << std::setw(22)
            << "STATE" << std::setw(30) << "NODE_ID" << std::setw(9) << "PID" << std::setw(10) << "RESTARTS"
            << "DEATH\n";
  for (const auto& actor : *actors) {
    // DEATH is why the last instance ended: set while the actor restarts too.
    std::cout << std::left << std::setw(30) << actor.actor_id() << std::setw(name_column) << ActorName(actor)
              << std::setw(22) << ActorStateName(actor.state()) << std::setw(30) << actor.node_id()
              << std::setw(9) << (actor.pid() > 0 ? std::to_string(actor.pid()) : "") << std::setw(10)
              << actor.num_restarts() << ActorDeathCauseName(actor.death_cause());
    if (actor.state() == rpc::RESTARTING && actor.next_attempt_time_ms() > 0) {
      std::cout << "  (next attempt at " << ClockText(actor.next_attempt_time_ms()) << ")";
    }
    if (actor.state() != rpc::ACTOR_ALIVE && !actor.death_message().empty()) {
      std::cout << "  " << actor.death_message();
    }
    std::cout << "\n";
  }
  return 0;
}

int RunDrain(const std::string& node_id, const std::string& reason, double deadline_s, const std::string& address,
             const SettingsInputs& inputs) {
  if (deadline_s < 0) return Fail(absl::StrCat("--deadline-s must not be negative, got ", deadline_s));
  auto client = ConnectToGcs(address, inputs);
  if (!client.ok()) return Fail(std::string(client.status().message()));
  Status drained = (*client)->DrainNode(node_id, reason, static_cast<int64_t>(deadline_s * 1000));
  if (!drained.ok()) return Fail(std::string(drained.message()));
  std::cout << "Node " << node_id << " is DRAINING"
            << (deadline_s > 0 ? absl::StrCat("; it leaves when idle, at the latest in ", deadline_s, " s")
                               : "; it leaves when idle")
            << ".\n";
  return 0;
}

std::string ClockText(int64_t wall_ms) {
  std::time_t seconds = wall_ms / 1000;
  char text[32];
  std::strftime(text, sizeof(text), "%H:%M:%S", std::localtime(&seconds));
  return absl::StrCat(text, ".", absl::Dec(wall_ms % 1000, absl::kZeroPad3));
}

}  // namespace halo::cli
