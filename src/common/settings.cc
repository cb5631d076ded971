#include "common/settings.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace halo {
namespace {

Status ParseInto(const std::string& name, const std::string& text, int64_t* out) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return InvalidArgumentError(absl::StrCat("setting '", name, "' expects an integer, got '", text, "'"));
  }
  *out = value;
  return OkStatus();
}

[[maybe_unused]] Status ParseInto(const std::string& name, const std::string& text, bool* out) {
  if (text == "true" || text == "1" || text == "yes") {
    *out = true;
  } else if (text == "false" || text == "0" || text == "no") {
    *out = false;
  } else {
    return InvalidArgumentError(absl::StrCat("setting '", name, "' expects true or false, got '", text, "'"));
  }
  return OkStatus();
}

Status ParseInto(const std::string&, const std::string& text, std::string* out) {
  *out = text;
  return OkStatus();
}

std::string Format(int64_t v) { return std::to_string(v); }
[[maybe_unused]] std::string Format(bool v) { return v ? "true" : "false"; }
std::string Format(const std::string& v) { return v; }

SettingType TypeOf(int64_t*) { return SettingType::kInt; }
[[maybe_unused]] SettingType TypeOf(bool*) { return SettingType::kBool; }
SettingType TypeOf(std::string*) { return SettingType::kString; }

std::vector<SettingInfo> BuildSettingInfos() {
  std::vector<SettingInfo> infos;
  Settings defaults;
#define HALO_SETTING(type, name, default_value, doc)                                               \
  infos.push_back(SettingInfo{                                                                      \
      #name, TypeOf(static_cast<type*>(nullptr)), doc, Format(defaults.name),                      \
      [](Settings& s, const std::string& text) { return ParseInto(#name, text, &s.name); },        \
      [](const Settings& s) { return Format(s.name); }});
#include "common/settings_def.h"
#undef HALO_SETTING
  return infos;
}

Status RequireAtLeast(const char* name, int64_t value, int64_t minimum) {
  if (value < minimum) {
    return InvalidArgumentError(
        absl::StrCat("setting '", name, "' must be at least ", minimum, ", got ", value));
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
    case SettingType::kBool: return "boolean";
    case SettingType::kString: return "string";
  }
  return "?";
}

Status ValidateSettings(const Settings& s) {
  if (s.port < 0 || s.port > 65535) {
    return InvalidArgumentError(absl::StrCat("setting 'port' must be 0..65535, got ", s.port));
  }
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
  HALO_RETURN_IF_ERROR(RequireAtLeast("gcs_start_timeout_ms", s.gcs_start_timeout_ms, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("stop_grace_period_ms", s.stop_grace_period_ms, 0));
  HALO_RETURN_IF_ERROR(RequireAtLeast("rpc_timeout_ms", s.rpc_timeout_ms, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("storage_unavailable_timeout_ms", s.storage_unavailable_timeout_ms, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("storage_connect_timeout_ms", s.storage_connect_timeout_ms, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("storage_reply_timeout_ms", s.storage_reply_timeout_ms, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("storage_retry_initial_ms", s.storage_retry_initial_ms, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("storage_retry_max_ms", s.storage_retry_max_ms, s.storage_retry_initial_ms));
  HALO_RETURN_IF_ERROR(RequireAtLeast("storage_pending_ops_max", s.storage_pending_ops_max, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("rocksdb_write_batch_max", s.rocksdb_write_batch_max, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("health_check_initial_delay_ms", s.health_check_initial_delay_ms, 0));
  HALO_RETURN_IF_ERROR(RequireAtLeast("health_check_period_ms", s.health_check_period_ms, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("health_check_timeout_ms", s.health_check_timeout_ms, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("health_check_failure_threshold", s.health_check_failure_threshold, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("dead_nodes_max", s.dead_nodes_max, 0));
  HALO_RETURN_IF_ERROR(RequireAtLeast("gcs_reconnect_timeout_ms", s.gcs_reconnect_timeout_ms, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("gcs_retry_initial_ms", s.gcs_retry_initial_ms, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("gcs_retry_max_ms", s.gcs_retry_max_ms, s.gcs_retry_initial_ms));
  HALO_RETURN_IF_ERROR(RequireAtLeast("pubsub_poll_wait_ms", s.pubsub_poll_wait_ms, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("pubsub_buffer_events_max", s.pubsub_buffer_events_max, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("pubsub_subscribers_max", s.pubsub_subscribers_max, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("node_start_timeout_ms", s.node_start_timeout_ms, 1));
  if (s.node_port < 0 || s.node_port > 65535) {
    return InvalidArgumentError(absl::StrCat("setting 'node_port' must be 0..65535, got ", s.node_port));
  }
  if (s.num_cpus < -1) return InvalidArgumentError(absl::StrCat("setting 'num_cpus' must be -1 or more, got ", s.num_cpus));
  HALO_RETURN_IF_ERROR(RequireAtLeast("kv_value_max_bytes", s.kv_value_max_bytes, 1));
  HALO_RETURN_IF_ERROR(RequireAtLeast("kv_list_max_keys", s.kv_list_max_keys, 1));
  return OkStatus();
}

}  // namespace halo
