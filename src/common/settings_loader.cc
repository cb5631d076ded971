#include "common/settings_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace halo {
namespace {

Status ApplyText(LoadedSettings& loaded, const std::string& name, const std::string& text,
                 const std::string& source) {
  const SettingInfo* info = FindSetting(name);
  if (info == nullptr) {
    return InvalidArgumentError(absl::StrCat("unknown setting '", name, "' (", source, ")"));
  }
  Status status = info->parse(loaded.values, text);
  if (!status.ok()) return InvalidArgumentError(absl::StrCat(status.message(), " (", source, ")"));
  loaded.source[name] = source;
  return OkStatus();
}

StatusOr<std::string> ScalarText(const YAML::Node& node, const std::string& key, const std::string& path) {
  if (!node.IsScalar()) {
    return InvalidArgumentError(absl::StrCat("setting '", key, "' in ", path, " must be a single value"));
  }
  return node.Scalar();
}

// The section managed Ray services use: gcs_external_storage {enabled, address, certificate_path, namespace}.
Status ApplyExternalStorageSection(LoadedSettings& loaded, const YAML::Node& section, const std::string& path) {
  const std::string source = absl::StrCat("file ", path, " (gcs_external_storage)");
  if (!section.IsMap()) {
    return InvalidArgumentError(absl::StrCat("'gcs_external_storage' in ", path, " must be a mapping"));
  }
  bool enabled = true;
  std::string address, certificate_path, name_space;
  for (const auto& item : section) {
    const std::string key = item.first.as<std::string>();
    auto text = ScalarText(item.second, "gcs_external_storage." + key, path);
    if (!text.ok()) return text.status();
    if (key == "enabled") {
      if (*text == "true" || *text == "True") {
        enabled = true;
      } else if (*text == "false" || *text == "False") {
        enabled = false;
      } else {
        return InvalidArgumentError(absl::StrCat("setting 'gcs_external_storage.enabled' in ", path,
                                                 " expects true or false, got '", *text, "'"));
      }
    } else if (key == "address") {
      address = *text;
    } else if (key == "certificate_path") {
      certificate_path = *text;
    } else if (key == "namespace") {
      name_space = *text;
    } else {
      return InvalidArgumentError(absl::StrCat("unknown setting 'gcs_external_storage.", key, "' in ", path,
                                               " (known: enabled, address, certificate_path, namespace)"));
    }
  }
  if (!enabled) return OkStatus();
  if (address.empty()) {
    return InvalidArgumentError(
        absl::StrCat("setting 'gcs_external_storage.address' is required when enabled (", path, ")"));
  }
  if (address.find("://") == std::string::npos) address = "redis://" + address;
  HALO_RETURN_IF_ERROR(ApplyText(loaded, "storage", address, source));
  if (!certificate_path.empty()) HALO_RETURN_IF_ERROR(ApplyText(loaded, "redis_ca_cert", certificate_path, source));
  if (!name_space.empty()) HALO_RETURN_IF_ERROR(ApplyText(loaded, "storage_namespace", name_space, source));
  return OkStatus();
}

Status ApplyYamlFile(LoadedSettings& loaded, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return InvalidArgumentError(absl::StrCat("cannot read config file '", path, "'"));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(absl::StrCat("config file '", path, "' is not valid YAML: ", e.what()));
  }
  if (root.IsNull()) return OkStatus();
  if (!root.IsMap()) {
    return InvalidArgumentError(absl::StrCat("config file '", path, "' must be a mapping of setting: value"));
  }
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>();
    if (key == "gcs_external_storage") {
      HALO_RETURN_IF_ERROR(ApplyExternalStorageSection(loaded, item.second, path));
      continue;
    }
    auto text = ScalarText(item.second, key, path);
    if (!text.ok()) {
      if (FindSetting(key) == nullptr) {
        return InvalidArgumentError(absl::StrCat("unknown setting '", key, "' (file ", path, ")"));
      }
      return text.status();
    }
    HALO_RETURN_IF_ERROR(ApplyText(loaded, key, *text, absl::StrCat("file ", path)));
  }
  return OkStatus();
}

}  // namespace

std::string FlagName(const std::string& setting_name) {
  std::string out = setting_name;
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

std::string EnvName(const std::string& setting_name) {
  std::string out = "HALO_";
  for (char c : setting_name) out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

StatusOr<LoadedSettings> LoadSettings(const SettingsInputs& inputs) {
  LoadedSettings loaded;
  for (const auto& info : AllSettings()) loaded.source[info.name] = "default";
  if (!inputs.config_path.empty()) HALO_RETURN_IF_ERROR(ApplyYamlFile(loaded, inputs.config_path));
  if (inputs.read_environment) {
    for (const auto& info : AllSettings()) {
      const std::string env = EnvName(info.name);
      if (const char* value = std::getenv(env.c_str())) {
        HALO_RETURN_IF_ERROR(ApplyText(loaded, info.name, value, "env " + env));
      }
    }
  }
  for (const auto& [name, text] : inputs.flags) {
    HALO_RETURN_IF_ERROR(ApplyText(loaded, name, text, "flag --" + FlagName(name)));
  }
  HALO_RETURN_IF_ERROR(ValidateSettings(loaded.values));
  return loaded;
}

}  // namespace halo
