// Builds the effective Settings from their four sources, in increasing precedence:
// default < YAML file < environment HALO_<NAME> < command-line flag. Records where each value came from.
// An unknown key or a value of the wrong type is an InvalidArgument error that names the key.
#pragma once

#include <map>
#include <string>

#include "common/settings.h"

namespace halo {

struct LoadedSettings {
  Settings values;
  // setting name -> "default", "file <path>", "env HALO_<NAME>" or "flag --<name>".
  std::map<std::string, std::string> source;
};

struct SettingsInputs {
  std::string config_path;                   // empty: no YAML file
  std::map<std::string, std::string> flags;  // setting name -> text given on the command line
  bool read_environment = true;
};

StatusOr<LoadedSettings> LoadSettings(const SettingsInputs& inputs);

// "storage_path" -> "storage-path" and back.
std::string FlagName(const std::string& setting_name);
std::string EnvName(const std::string& setting_name);

}  // namespace halo
