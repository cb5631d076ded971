// Where a cluster's session lives on this machine and how commands find a running cluster.
#pragma once

#include <string>

#include "common/settings.h"
#include "common/settings_loader.h"
#include "rpc/gcs_client.h"

namespace halo {

// The session directory a new head uses: the session_dir setting, else a new
// <session_root>/session_<time>_<pid>.
std::string NewSessionDir(const Settings& settings);
// Points <session_root>/session_latest at dir (atomically).
void MarkLatestSession(const Settings& settings, const std::string& dir);
// The session an existing-cluster command means: the session_dir setting, else the latest one. Empty if none.
std::string ExistingSessionDir(const Settings& settings);
// The GCS address: --address, else HALO_ADDRESS, else the gcs.address file of ExistingSessionDir.
StatusOr<std::string> FindGcsAddress(const std::string& address_flag, const Settings& settings);
// Loads the cluster token and TLS material a command or driver of this machine uses (HALO_AUTH_TOKEN,
// auth_token_file, else the session ExistingSessionDir names) and makes them this process's
// (rpc/cluster_security.h). The session's are used only for that session's cluster: when the address is given
// (address_flag or HALO_ADDRESS), only if the session's GCS (gcs.address) or the cluster it joined
// (joined.address) is among it. Without a token, calls go out without one (a cluster with auth_mode off takes
// them; others refuse them, saying so).
Status UseClusterSecurity(const Settings& settings, const std::string& address_flag = "");
// The session file naming the GCS address a node of this machine joined.
inline constexpr char kJoinedAddressFile[] = "joined.address";
// Loads the settings and makes a client of the GCS FindGcsAddress names, with rpc_timeout_ms per call.
StatusOr<std::unique_ptr<GcsClient>> ConnectToGcs(const std::string& address_flag, const SettingsInputs& inputs);

}  // namespace halo
