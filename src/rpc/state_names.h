// The names of node and actor states, death reasons and causes, as the CLI, the logs and the GCS print them.
#pragma once

#include <string>

#include "proto/core.pb.h"
#include "proto/gcs.pb.h"
#include "proto/node.pb.h"

namespace halo {

const char* NodeStateName(rpc::NodeState state);
const char* DeathReasonName(rpc::DeathReason reason);
const char* ActorStateName(rpc::ActorState state);
const char* ActorDeathCauseName(rpc::ActorDeathCause cause);
// "node_dead" for EVENT_NODE_DEAD; "unknown" for a value this build does not know.
std::string EventKindName(rpc::ClusterEventKind kind);
// The kind named in EventKindName's form; false if the name is unknown.
bool ParseEventKind(const std::string& name, rpc::ClusterEventKind* kind);

}  // namespace halo
