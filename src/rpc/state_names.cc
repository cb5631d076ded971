#include "rpc/state_names.h"

#include <algorithm>
#include <cctype>

namespace halo {

const char* NodeStateName(rpc::NodeState state) {
  switch (state) {
    case rpc::ALIVE: return "ALIVE";
    case rpc::SUSPECTED: return "SUSPECTED";
    case rpc::DRAINING: return "DRAINING";
    case rpc::DEAD: return "DEAD";
    default: return "UNKNOWN";
  }
}

const char* DeathReasonName(rpc::DeathReason reason) {
  switch (reason) {
    case rpc::EXPECTED_TERMINATION: return "EXPECTED_TERMINATION";
    case rpc::UNEXPECTED_TERMINATION: return "UNEXPECTED_TERMINATION";
    case rpc::DRAINED: return "DRAINED";
    default: return "";
  }
}

const char* ActorStateName(rpc::ActorState state) {
  switch (state) {
    case rpc::DEPENDENCIES_UNREADY: return "DEPENDENCIES_UNREADY";
    case rpc::PENDING_CREATION: return "PENDING_CREATION";
    case rpc::ACTOR_ALIVE: return "ALIVE";
    case rpc::RESTARTING: return "RESTARTING";
    case rpc::ACTOR_DEAD: return "DEAD";
    default: return "UNKNOWN";
  }
}

const char* ActorDeathCauseName(rpc::ActorDeathCause cause) {
  switch (cause) {
    case rpc::CAUSE_WORKER_DIED: return "worker_died";
    case rpc::CAUSE_NODE_DIED: return "node_died";
    case rpc::CAUSE_OWNER_DIED: return "owner_died";
    case rpc::CAUSE_KILLED: return "killed";
    case rpc::CAUSE_CREATION_FAILED: return "creation_failed";
    case rpc::CAUSE_OUT_OF_SCOPE: return "out_of_scope";
    case rpc::CAUSE_EXITED: return "exited";
    case rpc::CAUSE_WORKER_UNREACHABLE: return "worker_unreachable";
    default: return "";
  }
}

namespace {
constexpr char kEventKindPrefix[] = "EVENT_";
}  // namespace

std::string EventKindName(rpc::ClusterEventKind kind) {
  if (kind == rpc::EVENT_KIND_UNSPECIFIED || !rpc::ClusterEventKind_IsValid(kind)) return "unknown";
  std::string name = rpc::ClusterEventKind_Name(kind).substr(sizeof(kEventKindPrefix) - 1);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

bool ParseEventKind(const std::string& name, rpc::ClusterEventKind* kind) {
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  rpc::ClusterEventKind parsed;
  if (!rpc::ClusterEventKind_Parse(kEventKindPrefix + upper, &parsed) || parsed == rpc::EVENT_KIND_UNSPECIFIED) {
    return false;
  }
  *kind = parsed;
  return true;
}

}  // namespace halo
