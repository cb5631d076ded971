// Registers one command-line flag per setting (--storage-namespace for storage_namespace) on a CLI11
// (sub)command, plus --config, and collects what was given into SettingsInputs after parsing. A flag given
// twice takes its last value.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/settings.h"
#include "common/settings_loader.h"

namespace halo {

class SettingFlags {
 public:
  explicit SettingFlags(CLI::App* app) {
    app->add_option("--config", config_path_, "YAML file of settings (see `halo config`)");
    values_ = std::make_unique<std::vector<std::string>>(AllSettings().size());
    for (size_t i = 0; i < AllSettings().size(); ++i) {
      const auto& info = AllSettings()[i];
      // Given twice, the last one counts (as a later flag overrides an earlier one).
      options_.push_back(app->add_option("--" + FlagName(info.name), (*values_)[i], info.doc)
                             ->group("Settings")
                             ->type_name(TypeName(info.type))
                             ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast));
    }
  }

  // Call after parsing.
  SettingsInputs Inputs() const {
    SettingsInputs inputs;
    inputs.config_path = config_path_;
    for (size_t i = 0; i < options_.size(); ++i) {
      if (options_[i]->count() > 0) inputs.flags[AllSettings()[i].name] = (*values_)[i];
    }
    return inputs;
  }

  // The flags that were given, as command-line arguments to pass on to a child daemon.
  std::vector<std::string> GivenAsArguments() const {
    std::vector<std::string> args;
    if (!config_path_.empty()) {
      args.push_back("--config");
      args.push_back(config_path_);
    }
    for (const auto& [name, value] : Inputs().flags) {
      args.push_back("--" + FlagName(name));
      args.push_back(value);
    }
    return args;
  }

 private:
  std::string config_path_;
  std::unique_ptr<std::vector<std::string>> values_;
  std::vector<CLI::Option*> options_;
};

}  // namespace halo
