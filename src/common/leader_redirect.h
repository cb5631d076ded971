// How a standby head candidate tells a caller where the leader is, and how callers read it back. The refusal
// is UNAVAILABLE (the call was not applied, so it may go to another candidate); the leader's address travels
// in a field of its own, never inside the message: gRPC's error details on the wire, a payload of the Status
// (kLeaderRedirectPayload) once received. The message says the same for people.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace halo {

inline constexpr char kLeaderRedirectPayload[] = "type.halo.dev/leader-redirect";

// The message a standby answers every call but GetClusterInfo with. Empty leader_address: nobody leads yet
// (or this candidate is taking over): no redirect, the caller tries again or elsewhere.
std::string StandbyRefusalMessage(const std::string& leader_address, int64_t epoch);

// An UNAVAILABLE status that redirects to leader_address (none when it is empty).
Status LeaderRedirect(const std::string& message, const std::string& leader_address);
// The leader a refusal redirects to, if it is one.
std::optional<std::string> RedirectTarget(const Status& status);

}  // namespace halo
