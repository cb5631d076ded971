#include "common/leader_redirect.h"

#include "absl/strings/str_cat.h"

namespace halo {

std::string StandbyRefusalMessage(const std::string& leader_address, int64_t epoch) {
  if (leader_address.empty()) {
    return "this head candidate is a standby and no leader is known yet; try again or another candidate";
  }
  return absl::StrCat("this head candidate is a standby; the leader (epoch ", epoch, ") is at ", leader_address);
}

Status LeaderRedirect(const std::string& message, const std::string& leader_address) {
  Status status = UnavailableError(message);
  if (!leader_address.empty()) status.SetPayload(kLeaderRedirectPayload, absl::Cord(leader_address));
  return status;
}

std::optional<std::string> RedirectTarget(const Status& status) {
  if (status.code() != absl::StatusCode::kUnavailable) return std::nullopt;
  auto payload = status.GetPayload(kLeaderRedirectPayload);
  if (!payload || payload->empty()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace halo
