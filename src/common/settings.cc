#include "common/settings.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace halo {
namespace {

Status ParseInteger(const std::string& name, const std::string& text, int64_t minimum, int64_t maximum,
                    int64_t* out) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return InvalidArgumentError(absl::StrCat("setting '", name, "' expects an integer, got '", text, "'"));
  }
  if (value < minimum || value > maximum) {
    return InvalidArgumentError(absl::StrCat("setting '", name, "' must be ",
                                             maximum == kNoMaximum ? absl::StrCat("at least ", minimum)
                                                                   : absl::StrCat(minimum, "..", maximum),
                                             ", got ", value));
  }
  *out = value;
  return OkStatus();
}

std::vector<SettingInfo> BuildSettingInfos() {
  std::vector<SettingInfo> infos;
  Settings defaults;
#define HALO_INT_SETTING(name, default_value, minimum, maximum, doc)                                       \
  infos.push_back(SettingInfo{                                                                              \
      #name, SettingType::kInt, doc, std::to_string(defaults.name),                                        \
      [](Settings& s, const std::string& text) { return ParseInteger(#name, text, minimum, maximum, &s.name); }, \
      [](const Settings& s) { return std::to_string(s.name); }});
#define HALO_STRING_SETTING(name, default_value, doc)                                                      \
  infos.push_back(SettingInfo{                                                                              \
      #name, SettingType::kString, doc, defaults.name,                                                     \
      [](Settings& s, const std::string& text) {                                                           \
        s.name = text;                                                                                     \
        return OkStatus();                                                                                 \
      },                                                                                                   \
      [](const Settings& s) { return s.name; }});
#include "common/settings_def.h"
#undef HALO_INT_SETTING
#undef HALO_STRING_SETTING
  return infos;
}

Status RequireAtLeast(const char* name, int64_t value, const char* other, int64_t other_value) {
  if (value < other_value) {
    return InvalidArgumentError(
        absl::StrCat("setting '", name, "' must be at least ", other, " (", other_value, "), got ", value));
  }
  return OkStatus();
}

}  // namespace

const std::vector<SettingInfo>& AllSettings() {
  static const std::vector<SettingInfo> infos = BuildSettingInfos();
  return infos;
}

const SettingInfo* FindSetting(const std::string& name) {
  for (const auto& info : AllSettings()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

const char* TypeName(SettingType type) {
  switch (type) {
    case SettingType::kInt: return "integer";
    case SettingType::kString: return "string";
  }
  return "?";
}

Status ValidateSettings(const Settings& s) {
  if (s.storage_namespace.empty()) {
    return InvalidArgumentError("setting 'storage_namespace' must not be empty");
  }
  if (s.storage_namespace.find('@') != std::string::npos) {
    return InvalidArgumentError(absl::StrCat("setting 'storage_namespace' must not contain '@', got '",
                                             s.storage_namespace, "'"));
  }
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error"};
  bool level_ok = false;
  for (const char* level : kLevels) level_ok |= s.log_level == level;
  if (!level_ok) {
    return InvalidArgumentError(
        absl::StrCat("setting 'log_level' must be one of trace, debug, info, warn, error; got '", s.log_level, "'"));
  }
  // A WAIT blocks its connection: it must end well before the watchdog takes the silence for a hung server.
  if (s.storage_replicas_ack > 0 && s.storage_replicas_ack_timeout_ms * 2 > s.storage_reply_timeout_ms) {
    return InvalidArgumentError(absl::StrCat("setting 'storage_replicas_ack_timeout_ms' (",
                                             s.storage_replicas_ack_timeout_ms,
                                             ") must be at most half of 'storage_reply_timeout_ms' (",
                                             s.storage_reply_timeout_ms, ")"));
  }
  if (s.auth_mode != "token" && s.auth_mode != "off") {
    return InvalidArgumentError(absl::StrCat("setting 'auth_mode' must be token or off; got '", s.auth_mode, "'"));
  }
  const int tls_given = !s.tls_cert.empty() + !s.tls_key.empty() + !s.tls_ca.empty();
  if (tls_given != 0 && tls_given != 3) {
    return InvalidArgumentError("settings 'tls_cert', 'tls_key' and 'tls_ca' go together: give all three or none");
  }
  HALO_RETURN_IF_ERROR(RequireAtLeast("storage_retry_max_ms", s.storage_retry_max_ms, "storage_retry_initial_ms",
                                      s.storage_retry_initial_ms));
  HALO_RETURN_IF_ERROR(
      RequireAtLeast("gcs_retry_max_ms", s.gcs_retry_max_ms, "gcs_retry_initial_ms", s.gcs_retry_initial_ms));
  HALO_RETURN_IF_ERROR(RequireAtLeast("actor_restart_delay_max_ms", s.actor_restart_delay_max_ms,
                                      "actor_restart_delay_initial_ms", s.actor_restart_delay_initial_ms));
  // The leader counts its lease minus a 10 % safety margin (gcs/leader_election): two renewal intervals must
  // fit in that, so one lost renewal does not depose it.
  if (s.leader_renew_interval_ms * 2 >= s.leader_lease_ms - s.leader_lease_ms / 10) {
    return InvalidArgumentError(absl::StrCat(
        "setting 'leader_renew_interval_ms' (", s.leader_renew_interval_ms, ") must be under 45% of 'leader_lease_ms' (",
        s.leader_lease_ms, "), so one lost renewal does not depose the leader"));
  }
  // Node leases (gcs/node_lease_table.h): grants acknowledged within two renewals keep a node from vouching;
  // a node asks for vouches early enough to collect them before its lease (minus the 10 % margin) runs out.
  if (s.node_lease_renew_interval_ms * 3 > s.node_vouch_after_ms) {
    return InvalidArgumentError(absl::StrCat("setting 'node_vouch_after_ms' (", s.node_vouch_after_ms,
                                             ") must be at least three times 'node_lease_renew_interval_ms' (",
                                             s.node_lease_renew_interval_ms, ")"));
  }
  if (s.node_vouch_after_ms + 2 * s.node_lease_renew_interval_ms > s.node_lease_ms - s.node_lease_ms / 10) {
    return InvalidArgumentError(absl::StrCat(
        "setting 'node_lease_ms' (", s.node_lease_ms, ") must leave, after its 10% margin, room for "
        "'node_vouch_after_ms' (", s.node_vouch_after_ms, ") and two renewals of 'node_lease_renew_interval_ms' (",
        s.node_lease_renew_interval_ms, ")"));
  }
  if (s.leader_retry_interval_ms > s.leader_lease_ms) {
    return InvalidArgumentError(absl::StrCat("setting 'leader_retry_interval_ms' (", s.leader_retry_interval_ms,
                                             ") must not exceed 'leader_lease_ms' (", s.leader_lease_ms, ")"));
  }
  return OkStatus();
}

}  // namespace halo
