// The names of node and actor states, death reasons and causes, as the CLI, the logs and the GCS print them.
#pragma once

#include "proto/core.pb.h"
#include "proto/node.pb.h"

namespace halo {

const char* NodeStateName(rpc::NodeState state);
const char* DeathReasonName(rpc::DeathReason reason);
const char* ActorStateName(rpc::ActorState state);
const char* ActorDeathCauseName(rpc::ActorDeathCause cause);

}  // namespace halo
