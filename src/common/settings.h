// Settings: a plain struct generated from settings_def.h, plus a descriptor per setting that parses and
// formats its value, so loaders and `halo config` never list settings by hand.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace halo {

struct Settings {
#define HALO_SETTING(type, name, default_value, doc) type name = default_value;
#include "common/settings_def.h"
#undef HALO_SETTING
};

enum class SettingType { kInt, kBool, kString };

struct SettingInfo {
  std::string name;
  SettingType type;
  std::string doc;
  std::string default_text;
  // Parses text into the field; InvalidArgument naming the setting on a value of the wrong type.
  std::function<Status(Settings&, const std::string& text)> parse;
  std::function<std::string(const Settings&)> format;
};

// Every setting, in definition order.
const std::vector<SettingInfo>& AllSettings();
// nullptr when no setting has this name.
const SettingInfo* FindSetting(const std::string& name);
const char* TypeName(SettingType type);

// Checks constraints a type cannot express (ranges, forbidden characters).
Status ValidateSettings(const Settings& settings);

}  // namespace halo
