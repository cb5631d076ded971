#include "common/leader_redirect.h"

#include "absl/strings/str_cat.h"

namespace halo {
namespace {
constexpr char kMarker[] = "[leader=";
constexpr size_t kMarkerSize = sizeof(kMarker) - 1;
}  // namespace

std::string StandbyRefusalMessage(const std::string& leader_address, int64_t epoch) {
  if (leader_address.empty()) {
    return "this head candidate is a standby and no leader is known yet; try again or another candidate";
  }
  return absl::StrCat("this head candidate is a standby; the leader (epoch ", epoch, ") is at ", leader_address, " ",
                      kMarker, leader_address, "]");
}

std::optional<std::string> RedirectTarget(const std::string& message) {
  const size_t start = message.rfind(kMarker);
  if (start == std::string::npos) return std::nullopt;
  const size_t begin = start + kMarkerSize;
  const size_t end = message.find(']', begin);
  if (end == std::string::npos || end == begin) return std::nullopt;
  return std::string(message.substr(begin, end - begin));
}

}  // namespace halo
