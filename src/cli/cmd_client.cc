// Commands that talk to a running GCS (`halo kv`, `halo jobs`) and `halo config`.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "rpc/session.h"
#include "rpc/gcs_client.h"

namespace halo::cli {

int RunConfig(const SettingsInputs& inputs, bool json) {
  auto loaded = LoadSettings(inputs);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& info : AllSettings()) {
      out.push_back({{"name", info.name},
                     {"value", info.format(loaded->values)},
                     {"source", loaded->source.at(info.name)},
                     {"default", info.default_text},
                     {"type", TypeName(info.type)},
                     {"doc", info.doc}});
    }
    std::cout << out.dump(2) << std::endl;
    return 0;
  }
  size_t width = 0;
  for (const auto& info : AllSettings()) width = std::max(width, info.name.size());
  for (const auto& info : AllSettings()) {
    std::string value = info.format(loaded->values);
    std::cout << std::left << std::setw(static_cast<int>(width)) << info.name << "  "
              << (value.empty() ? "\"\"" : value) << "  (" << loaded->source.at(info.name) << ")\n";
  }
  return 0;
}

int RunKv(const KvCommand& command, const std::string& address, const SettingsInputs& inputs) {
  auto client = ConnectToGcs(address, inputs);
  if (!client.ok()) return Fail(std::string(client.status().message()));
  GcsClient& gcs = **client;
  const std::string& ns = command.name_space;
  if (command.action == "put") {
    auto added = gcs.KvPut(ns, command.key, command.value, !command.no_overwrite);
    if (!added.ok()) return Fail(std::string(added.status().message()));
    if (command.no_overwrite && !*added) return Fail(absl::StrCat("key '", command.key, "' already exists"));
    return 0;
  }
  if (command.action == "get") {
    auto value = gcs.KvGet(ns, command.key);
    if (!value.ok()) return Fail(std::string(value.status().message()));
    if (!value->has_value()) return Fail(absl::StrCat("key '", command.key, "' not found in namespace '", ns, "'"));
    std::cout << **value << std::endl;
    return 0;
  }
  if (command.action == "del") {
    auto deleted = gcs.KvDel(ns, command.key, command.by_prefix);
    if (!deleted.ok()) return Fail(std::string(deleted.status().message()));
    std::cout << "deleted " << *deleted << std::endl;
    return 0;
  }
  if (command.action == "list") {
    auto keys = gcs.KvKeys(ns, command.key);
    if (!keys.ok()) return Fail(std::string(keys.status().message()));
    for (const auto& key : *keys) std::cout << key << "\n";
    return 0;
  }
  if (command.action == "exists") {
    auto exists = gcs.KvExists(ns, command.key);
    if (!exists.ok()) return Fail(std::string(exists.status().message()));
    std::cout << (*exists ? "true" : "false") << std::endl;
    return *exists ? 0 : 1;
  }
  return Fail("unknown kv action '" + command.action + "'");
}

int RunJobs(const std::string& address, bool json, const SettingsInputs& inputs) {
  auto client = ConnectToGcs(address, inputs);
  if (!client.ok()) return Fail(std::string(client.status().message()));
  auto jobs = (*client)->GetAllJobs();
  if (!jobs.ok()) return Fail(std::string(jobs.status().message()));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& job : *jobs) {
    out.push_back({{"job_id", job.job_id()},
                   {"entrypoint", job.entrypoint()},
                   {"driver_pid", job.driver_pid()},
                   {"start_time_ms", job.start_time_ms()},
                   {"end_time_ms", job.end_time_ms()},
                   {"is_finished", job.is_finished()},
                   {"end_reason", job.end_reason()}});
  }
  if (json) {
    std::cout << out.dump(2) << std::endl;
  } else {
    for (const auto& job : *jobs) {
      std::cout << job.job_id() << "  " << (job.is_finished() ? "FINISHED" : "RUNNING ") << "  pid "
                << job.driver_pid() << "  " << job.entrypoint()
                << (job.end_reason().empty() ? "" : "  (" + job.end_reason() + ")") << "\n";
    }
  }
  return 0;
}

}  // namespace halo::cli
