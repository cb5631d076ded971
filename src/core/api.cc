// halo::Init / Shutdown and the process-wide runtime: a driver joins the cluster; a process started by a node
// agent (HALO_WORKER_MODE=1) becomes a worker and never returns from Init.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <spdlog/sinks/stdout_color_sinks.h>

#include "common/advertised_address.h"
#include "common/logging.h"
#include "common/settings_loader.h"
#include "common/sha256.h"
#include "core/core_worker.h"
#include "halo/halo.h"
#include "rpc/cluster_security.h"
#include "rpc/session.h"

namespace halo {
namespace {

std::atomic<core::CoreWorker*> g_runtime{nullptr};
std::mutex g_init_mutex;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

LoadedSettings LoadOrThrow() {
  SettingsInputs inputs;
  inputs.config_path = Env("HALO_CONFIG");
  auto loaded = LoadSettings(inputs);
  if (!loaded.ok()) throw RuntimeError(absl::StrCat("halo::Init: ", loaded.status().message()));
  return *std::move(loaded);
}

// The settings with host and advertise_host decided for a process of the cluster at gcs_address.
Settings WithHosts(LoadedSettings loaded, const std::string& gcs_address, const std::string& who) {
  auto hosts = ChooseHosts(loaded.values, loaded.source["host"] != "default", gcs_address, who);
  if (!hosts.ok()) throw RuntimeError(absl::StrCat("halo::Init: ", hosts.status().message()));
  loaded.values.host = hosts->bind_host;
  loaded.values.advertise_host = hosts->advertise_host;
  return loaded.values;
}

[[noreturn]] void RunWorker() {
  core::CoreWorkerOptions options;
  options.is_driver = false;
  options.gcs_address = Env("HALO_ADDRESS");
  try {
    options.settings = WithHosts(LoadOrThrow(), options.gcs_address, "the worker");
  } catch (const std::exception& error) {
    std::cerr << "halo worker: " << error.what() << std::endl;
    _exit(1);
  }
  // The node agent hands its workers the token (HALO_AUTH_TOKEN) and its TLS settings.
  auto security = rpc::LoadClusterSecurity(options.settings, "");
  if (!security.ok()) {
    std::cerr << "halo worker: " << security.status().message() << std::endl;
    _exit(1);
  }
  rpc::SetProcessSecurity(*std::move(security));
  options.node_address = Env("HALO_NODE_ADDRESS");
  options.node_id = Env("HALO_NODE_ID");
  options.worker_id = Env("HALO_WORKER_ID");
  options.driver_address = Env("HALO_DRIVER_ADDRESS");
  options.executable_sha256 = Env("HALO_EXECUTABLE_SHA256");
  options.lease_file = Env("HALO_WORKER_LEASE_FILE");
  if (!absl::SimpleAtoi(Env("HALO_JOB_ID"), &options.job_id) || options.node_address.empty() ||
      options.worker_id.empty()) {
    std::cerr << "halo worker: HALO_WORKER_MODE is set but HALO_JOB_ID, HALO_NODE_ADDRESS or HALO_WORKER_ID is "
                 "missing; workers are started by node agents"
              << std::endl;
    _exit(1);
  }
  auto worker = core::CoreWorker::Start(std::move(options));
  if (!worker.ok()) {
    std::cerr << "halo worker: " << worker.status().message() << std::endl;
    _exit(1);
  }
  core::CoreWorker* runtime = worker->release();
  g_runtime.store(runtime);
  runtime->RunTasks();
  _exit(0);
}

std::string AddressFlag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--address" && i + 1 < argc) return argv[i + 1];
    if (arg.rfind("--address=", 0) == 0) return arg.substr(10);
  }
  return "";
}

}  // namespace

void Init(int argc, char** argv) {
  // The runtime's own messages go to standard error, leaving standard output to the program (unless the
  // program set up spdlog's default logger itself).
  if (spdlog::default_logger()->name().empty()) spdlog::set_default_logger(spdlog::stderr_color_mt("halo"));
  if (Env("HALO_WORKER_MODE") == "1") RunWorker();
  std::lock_guard<std::mutex> lock(g_init_mutex);
  if (g_runtime.load() != nullptr) throw RuntimeError("halo::Init: already initialised");
  core::CoreWorkerOptions options;
  options.is_driver = true;
  LoadedSettings loaded = LoadOrThrow();
  if (Status secured = UseClusterSecurity(loaded.values, AddressFlag(argc, argv)); !secured.ok()) {
    throw RuntimeError(absl::StrCat("halo::Init: ", secured.message()));
  }
  auto address = FindGcsAddress(AddressFlag(argc, argv), loaded.values);
  if (!address.ok()) throw RuntimeError(absl::StrCat("halo::Init: ", address.status().message()));
  options.gcs_address = *address;
  options.settings = WithHosts(std::move(loaded), options.gcs_address, "the driver");
  // A driver serves too (its objects and executable): the same rule as for daemons.
  if (Status serving = rpc::CheckServingSecurity(options.settings); !serving.ok()) {
    throw RuntimeError(absl::StrCat("halo::Init: ", serving.message()));
  }
  options.node_address = Env("HALO_NODE_ADDRESS");
  std::vector<std::string> words(argv, argv + argc);
  options.entrypoint = absl::StrJoin(words, " ");
  options.executable_path = "/proc/self/exe";
  auto sha = Sha256OfFile(options.executable_path);
  if (!sha.ok()) throw RuntimeError(absl::StrCat("halo::Init: ", sha.status().message()));
  options.executable_sha256 = *sha;
  auto runtime = core::CoreWorker::Start(std::move(options));
  if (!runtime.ok()) throw RuntimeError(absl::StrCat("halo::Init: ", runtime.status().message()));
  g_runtime.store(runtime->release());
}

void Init() {
  char program[] = "halo-driver";
  char* argv[] = {program, nullptr};
  Init(1, argv);
}

void Shutdown() {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  core::CoreWorker* runtime = g_runtime.exchange(nullptr);
  // Kept allocated: ObjectRefs destroyed later on other threads may still be releasing references.
  if (runtime != nullptr) runtime->Shutdown();
}

bool IsInitialized() { return g_runtime.load() != nullptr; }

bool WasCurrentActorRestarted() { return internal::RequireRuntime().WasCurrentActorRestarted(); }

RuntimeStats Stats() { return internal::RequireRuntime().Counters(); }

namespace internal {

Runtime* CurrentRuntime() { return g_runtime.load(); }

Runtime& RequireRuntime() {
  Runtime* runtime = g_runtime.load();
  if (runtime == nullptr) throw RuntimeError("halo::Init has not been called (or halo::Shutdown already was)");
  return *runtime;
}

void ThrowError(const ErrorInfo& error) {
  using Kind = ErrorInfo::Kind;
  switch (error.kind) {
    case Kind::kTaskException: throw TaskException(error.type_name, error.message, error.where);
    case Kind::kWorkerCrashed: throw WorkerCrashed(error.message);
    case Kind::kNodeDied: throw NodeDied(error.message);
    case Kind::kObjectLost: throw ObjectLost(error.message);
    case Kind::kOwnerDied: throw OwnerDied(error.message);
    case Kind::kReconstructionFailed: throw ReconstructionFailed(error.message);
    case Kind::kTaskUnschedulable: throw TaskUnschedulable(error.message);
    case Kind::kGetTimeout: throw GetTimeout(error.message);
    case Kind::kActorDied: throw ActorDied(error.message);
    case Kind::kActorUnavailable: throw ActorUnavailable(error.message);
    case Kind::kRuntime: break;
  }
  throw RuntimeError(error.message);
}

}  // namespace internal
}  // namespace halo
