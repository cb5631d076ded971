// `halo serve validate|deploy|status|delete`: check a service config, deploy a service (its executable checks
// the config's factories and arguments, is uploaded to the GCS's executable store, and the command waits until
// every replica of the new version is healthy), show services, delete one.
#include <google/protobuf/util/json_util.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "common/process.h"
#include "common/sha256.h"
#include "rpc/session.h"
#include "serve/service_config.h"

namespace halo::cli {

int RunServeValidate(const std::string& path, bool json) {
  auto config = serve::LoadServiceConfig(path);
  if (!config.ok()) return Fail(std::string(config.status().message()));
  if (json) {
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(*config, &out, options);
    std::cout << out;
    return 0;
  }
  std::cout << "service " << config->name() << ": " << config->applications_size() << " application(s)\n";
  for (const auto& application : config->applications()) {
    std::cout << "  " << application.name() << " at " << application.route_prefix() << "\n";
    for (const auto& deployment : application.deployments()) {
      std::vector<std::string> resources;
      for (const auto& [name, amount] : deployment.resources()) resources.push_back(absl::StrCat(name, "=", amount));
      const std::string replicas =
          deployment.has_autoscaling()
              ? absl::StrCat(deployment.autoscaling().min_replicas(), "-", deployment.autoscaling().max_replicas(),
                             " replicas (autoscaling, ", deployment.autoscaling().target_ongoing_requests(),
                             " ongoing requests each)")
              : absl::StrCat(deployment.num_replicas(), " replica(s)");
      std::cout << "    " << deployment.name() << ": " << deployment.factory() << "(" << absl::StrJoin(deployment.args(), ", ")
                << "), " << replicas << ", max_ongoing_requests " << deployment.max_ongoing_requests()
                << ", resources " << absl::StrJoin(resources, ",") << "\n";
    }
  }
  return 0;
}

namespace {

constexpr int64_t kConvertTimeoutMs = 30000;

// Runs `executable --halo-serve-convert FACTORY ARGS...` and fills the deployment's packed arguments, handler
// and health method from what it prints (halo::serve::Main).
Status ConvertWithExecutable(const std::string& executable, rpc::DeploymentConfig& deployment) {
  char pattern[] = "/tmp/halo-serve-convert-XXXXXX";
  const int fd = mkstemp(pattern);
  if (fd < 0) return InternalError("cannot make a temporary file");
  close(fd);
  const std::string output_path = pattern;
  SpawnOptions options;
  options.argv = {executable, "--halo-serve-convert", deployment.factory()};
  for (const auto& arg : deployment.args()) options.argv.push_back(arg);
  options.output_path = output_path;
  options.new_session = false;
  StatusOr<pid_t> pid = Spawn(options);
  if (!pid.ok()) {
    unlink(output_path.c_str());
    return Status(pid.status().code(), absl::StrCat("cannot run ", executable, ": ", pid.status().message()));
  }
  int wait_status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kConvertTimeoutMs);
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(*pid, &wait_status, WNOHANG) == *pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!exited) {
    kill(*pid, SIGKILL);
    waitpid(*pid, &wait_status, 0);
  }
  StatusOr<std::string> output = ReadFileToString(output_path);
  unlink(output_path.c_str());
  if (!exited) {
    return DeadlineExceededError(absl::StrCat(executable, " did not answer `--halo-serve-convert` within ",
                                              kConvertTimeoutMs / 1000, " s"));
  }
  std::string handler, health, error;
  std::vector<std::string> packed;
  for (absl::string_view line : absl::StrSplit(output.ok() ? *output : "", '\n')) {
    if (absl::ConsumePrefix(&line, "halo-serve-handler ")) handler = std::string(line);
    else if (absl::ConsumePrefix(&line, "halo-serve-health ")) health = std::string(line);
    else if (absl::ConsumePrefix(&line, "halo-serve-arg ")) packed.push_back(absl::HexStringToBytes(line));
    else if (absl::ConsumePrefix(&line, "halo-serve-error ")) error = std::string(line);
  }
  if (!error.empty()) return InvalidArgumentError(absl::StrCat("deployment '", deployment.name(), "': ", error));
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0 || handler.empty()) {
    return InvalidArgumentError(absl::StrCat(
        executable, " is not a Halo service executable (its main must return halo::serve::Main(argc, argv)); `",
        absl::StrJoin(options.argv, " "), "` ended with ", DescribeExit(wait_status)));
  }
  deployment.clear_packed_args();
  for (auto& one : packed) deployment.add_packed_args(std::move(one));
  deployment.set_handler(handler);
  deployment.set_health_method(health);
  return OkStatus();
}

// Every deployment at its target with healthy replicas of this version only.
bool Settled(const rpc::ServiceStatusInfo& service, int64_t version, std::string* progress) {
  bool settled = service.version() == version;
  std::vector<std::string> parts;
  for (const auto& deployment : service.deployments()) {
    int64_t old_version = 0;
    for (const auto& replica : deployment.replicas()) old_version += replica.version() != version ? 1 : 0;
    parts.push_back(absl::StrCat(deployment.name(), " ", deployment.healthy(), "/", deployment.target(), " healthy",
                                 old_version > 0 ? absl::StrCat(", ", old_version, " of an older version") : ""));
    settled &= deployment.target() > 0 && deployment.healthy() >= deployment.target() && old_version == 0 &&
               deployment.starting() == 0 && deployment.replicas_size() == deployment.target();
  }
  *progress = absl::StrJoin(parts, "; ");
  return settled;
}

}  // namespace

int RunServeDeploy(const std::string& executable, const std::string& config_path, const std::string& address,
                   const SettingsInputs& inputs) {
  auto config = serve::LoadServiceConfig(config_path);
  if (!config.ok()) return Fail(std::string(config.status().message()));
  if (access(executable.c_str(), X_OK) != 0) return Fail(absl::StrCat("cannot run ", executable, ": ", strerror(errno)));
  for (auto& application : *config->mutable_applications()) {
    for (auto& deployment : *application.mutable_deployments()) {
      Status converted = ConvertWithExecutable(executable, deployment);
      if (!converted.ok()) return Fail(std::string(converted.message()));
    }
  }
  auto settings = LoadSettings(inputs);
  if (!settings.ok()) return Fail(std::string(settings.status().message()));
  auto sha = Sha256OfFile(executable);
  if (!sha.ok()) return Fail(std::string(sha.status().message()));
  auto client = ConnectToGcs(address, inputs);
  if (!client.ok()) return Fail(std::string(client.status().message()));
  Status uploaded = (*client)->UploadExecutable(executable, *sha, settings->values.executable_chunk_bytes);
  if (!uploaded.ok()) return Fail(absl::StrCat("uploading ", executable, ": ", uploaded.message()));
  rpc::DeployServiceRequest request;
  *request.mutable_config() = *config;
  request.set_executable_sha256(*sha);
  request.set_entrypoint(executable.substr(executable.find_last_of('/') + 1));
  auto version = (*client)->DeployService(request);
  if (!version.ok()) return Fail(std::string(version.status().message()));
  std::cout << "service " << config->name() << " version " << *version << " deploying (executable "
            << sha->substr(0, 12) << ")" << std::endl;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(settings->values.serve_deploy_timeout_ms);
  std::string progress = "no answer from the GCS yet";
  std::string shown;  // the progress last shown (on stderr, when it changes: stdout is the result)
  while (std::chrono::steady_clock::now() < deadline) {
    auto status = (*client)->GetServiceStatus(config->name());
    if (status.ok() && status->services_size() == 1 && Settled(status->services(0), *version, &progress)) {
      std::cout << "service " << config->name() << " version " << *version << " is serving: " << progress
                << std::endl;
      return 0;
    }
    if (!status.ok()) progress = std::string(status.status().message());
    if (progress != shown) {
      std::cerr << "halo: waiting for version " << *version << " to serve: " << progress << std::endl;
      shown = progress;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Fail(absl::StrCat("service ", config->name(), " version ", *version, " is not healthy after ",
                           settings->values.serve_deploy_timeout_ms / 1000, " s (serve_deploy_timeout_ms): ",
                           progress));
}

int RunServeStatus(const std::string& name, bool json, const std::string& address, const SettingsInputs& inputs) {
  auto client = ConnectToGcs(address, inputs);
  if (!client.ok()) return Fail(std::string(client.status().message()));
  auto status = (*client)->GetServiceStatus(name);
  if (!status.ok()) return Fail(std::string(status.status().message()));
  if (json) {
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.always_print_primitive_fields = true;
    options.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(*status, &out, options);
    std::cout << out;
    return 0;
  }
  if (status->services().empty()) {
    std::cout << "no services are deployed\n";
    return 0;
  }
  for (const auto& service : status->services()) {
    std::cout << "service " << service.name() << " version " << service.version() << " (" << service.entrypoint()
              << ", executable " << service.executable_sha256().substr(0, 12) << ")\n";
    std::cout << "  " << std::left << std::setw(20) << "DEPLOYMENT" << std::setw(16) << "ROUTE" << std::setw(8)
              << "TARGET" << std::setw(9) << "HEALTHY" << std::setw(10) << "STARTING" << std::setw(10) << "REPLACED"
              << "NODES\n";
    for (const auto& deployment : service.deployments()) {
      int64_t restarts = 0;
      for (const auto& replica : deployment.replicas()) restarts += replica.restarts();
      std::cout << "  " << std::left << std::setw(20) << deployment.name() << std::setw(16)
                << deployment.route_prefix() << std::setw(8) << deployment.target() << std::setw(9)
                << deployment.healthy() << std::setw(10) << deployment.starting() << std::setw(10)
                << deployment.replaced() << absl::StrJoin(deployment.nodes(), ",") << "  (restarts " << restarts
                << ")\n";
    }
  }
  return 0;
}

int RunServeDelete(const std::string& name, const std::string& address, const SettingsInputs& inputs) {
  auto client = ConnectToGcs(address, inputs);
  if (!client.ok()) return Fail(std::string(client.status().message()));
  Status deleted = (*client)->DeleteService(name);
  if (!deleted.ok()) return Fail(std::string(deleted.message()));
  std::cout << "service " << name << " deleted\n";
  return 0;
}

}  // namespace halo::cli
