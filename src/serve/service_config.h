// service.yaml, read and checked: every error is one line naming where in the file it is and what is wrong
// ("applications[0].deployments[1].num_replica: unknown key (known: name, factory, ...)"), and nothing is
// accepted half. Defaults follow Ray Serve's where it has one: one replica, max_ongoing_requests 100,
// health checks every 10 s with a 30 s timeout, one CPU per replica. Route prefixes start with "/", are
// unique across the file's applications, and each application needs at least one deployment (the first
// answers its route). Whether a factory exists is for the executable to say at deploy time.
#pragma once

#include <string>

#include "common/status.h"
#include "proto/serve.pb.h"

namespace halo::serve {

StatusOr<rpc::ServiceConfig> ParseServiceConfig(const std::string& yaml_text);
// Reads the file, then parses it; errors start with the path.
StatusOr<rpc::ServiceConfig> LoadServiceConfig(const std::string& path);

}  // namespace halo::serve
