// One cluster event as JSON, the same for `halo events --json` and the dashboard's /api/events. Header-only:
// its users (the CLI, the GCS) link nlohmann_json themselves; the runtime libraries do not need it.
#pragma once

#include <nlohmann/json.hpp>

#include "proto/gcs.pb.h"
#include "rpc/state_names.h"

namespace halo {

inline nlohmann::json ClusterEventJson(const rpc::ClusterEvent& event) {
  return {{"sequence", event.sequence()},
          {"time_ms", event.time_ms()},
          {"kind", EventKindName(event.kind())},
          {"severity", event.severity()},
          {"message", event.message()},
          {"node_id", event.node_id()},
          {"actor_id", event.actor_id()},
          {"job_id", event.job_id()},
          {"service", event.service()},
          {"duration_ms", event.duration_ms()},
          {"epoch", event.epoch()},
          {"reporter", event.reporter()}};
}

}  // namespace halo
