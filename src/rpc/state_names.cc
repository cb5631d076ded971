#include "rpc/state_names.h"

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

}  // namespace halo
