// The dashboard's JSON API, answered from the GCS managers on the GCS executor:
//   /api/cluster   who this GCS is: leader or standby, epoch, the leader's address, storage, recovery time
//   /api/nodes     every node: state, resources, death reason and message
//   /api/actors    every actor: state, node, restarts, last death
//   /api/jobs      every job
//   /api/services  every service's deployments: target, healthy, replaced
//   /api/events?after=N&limit=M   the cluster event log after sequence N (limit bounded by the log)
// A standby (managers null) answers /api/cluster, and 503 with the leader's address for the rest.
#pragma once

#include <string>

#include "dashboard/http_api_server.h"
#include "gcs/gcs_assembly.h"
#include "proto/gcs.pb.h"

namespace halo::gcs {

dashboard::HttpReply DashboardApiReply(const std::string& path, const std::string& query,
                                       const rpc::GetClusterInfoReply& info, GcsAssembly* managers);

}  // namespace halo::gcs
