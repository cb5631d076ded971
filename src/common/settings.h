// Settings: a plain struct generated from settings_def.h, plus a descriptor per setting that parses and
// formats its value, so loaders and `halo config` never list settings by hand.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace halo {

// For HALO_INT_SETTING entries without an upper bound.
inline constexpr int64_t kNoMaximum = INT64_MAX;

struct Settings {
#define HALO_INT_SETTING(name, default_value, minimum, maximum, doc) int64_t name = default_value;
#define HALO_STRING_SETTING(name, default_value, doc) std::string name = default_value;
#include "common/settings_def.h"
#undef HALO_INT_SETTING
#undef HALO_STRING_SETTING
};

enum class SettingType { kInt, kString };

struct SettingInfo {
  std::string name;
  SettingType type;
  std::string doc;
  std::string default_text;
  // Parses text into the field; InvalidArgument naming the setting on a value of the wrong type or, for an
  // integer, outside its range.
  std::function<Status(Settings&, const std::string& text)> parse;
  std::function<std::string(const Settings&)> format;
};

// Every setting, in definition order.
const std::vector<SettingInfo>& AllSettings();
// nullptr when no setting has this name.
const SettingInfo* FindSetting(const std::string& name);
const char* TypeName(SettingType type);

// Checks what one value's range cannot express: forbidden characters, allowed words, relations between
// settings.
Status ValidateSettings(const Settings& settings);

}  // namespace halo
