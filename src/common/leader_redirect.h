// How a standby head candidate tells a caller where the leader is, and how callers read it back. The refusal
// is UNAVAILABLE (the call was not applied, so it may go to another candidate) and its message ends with
// "[leader=host:port]", which works the same for blocking and asynchronous callers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace halo {

// The message a standby answers every call but GetClusterInfo with. Empty leader_address: nobody leads yet
// (or this candidate is taking over): no redirect, the caller tries again or elsewhere.
std::string StandbyRefusalMessage(const std::string& leader_address, int64_t epoch);

// The leader address a standby's refusal names, if message is one.
std::optional<std::string> RedirectTarget(const std::string& message);

}  // namespace halo
