#include "node/process_worker_launcher.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <algorithm>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/process.h"
#include "common/sha256.h"
#include "absl/strings/str_split.h"
#include "proto/core.grpc.pb.h"
#include "proto/executable.grpc.pb.h"
#include "rpc/async_call.h"
#include "rpc/head_endpoints.h"
#include "rpc/cluster_channel.h"

namespace halo::node {

StatusOr<int> ProcessWorkerLauncher::Start(const std::string& executable,
                                           const std::map<std::string, std::string>& env,
                                           const std::string& worker_id) {
  SpawnOptions options;
  options.argv = {executable};
  options.env = env;
  options.output_path = log_dir_.empty() ? "" : absl::StrCat(log_dir_, "/worker-", worker_id, ".log");
  options.new_session = false;
  options.die_with_parent = true;
  return Spawn(options);
}

void ProcessWorkerLauncher::Kill(int pid) {
  if (pid > 0) kill(pid, SIGKILL);
}

void GrpcExecutableStore::Fetch(const std::string& sha256, const std::string& driver_address,
                                std::function<void(StatusOr<std::string>)> done) {
  const std::string path = absl::StrCat(cache_dir_, "/", sha256);
  if (access(path.c_str(), X_OK) == 0) {
    executor_.Post([done = std::move(done), path] { done(path); });
    return;
  }
  std::thread([this, sha256, driver_address, done = std::move(done)]() mutable {
    StatusOr<std::string> result = FetchNow(sha256, driver_address);
    executor_.Post([done = std::move(done), result = std::move(result)] { done(result); });
  }).detach();
}

void GrpcExecutableStore::Forget(const std::string& sha256) {
  if (sha256.empty() || sha256.find('/') != std::string::npos) return;
  unlink(absl::StrCat(cache_dir_, "/", sha256).c_str());  // running workers keep their open image
}

namespace {

// Writes all of data to fd.
bool WriteAll(int fd, const std::string& data) {
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = write(fd, data.data() + written, data.size() - written);
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

std::shared_ptr<grpc::Channel> FetchChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  return rpc::NewClusterChannel(address, args);
}

// The driver streams its own executable.
Status StreamFromDriver(const std::string& sha256, const std::string& driver_address, int64_t timeout_ms, int fd) {
  auto stub = rpc::CoreWorkerService::NewStub(FetchChannel(driver_address));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  rpc::FetchExecutableRequest request;
  request.set_sha256(sha256);
  auto reader = stub->FetchExecutable(&context, request);
  rpc::ExecutableChunk chunk;
  bool write_failed = false;
  while (!write_failed && reader->Read(&chunk)) write_failed = !WriteAll(fd, chunk.data());
  if (write_failed) {
    context.TryCancel();
    reader->Finish();
    return InternalError("writing the executable to the node's cache failed");
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) {
    return UnavailableError(absl::StrCat("fetching from the driver at ", driver_address, " failed: ",
                                         status.error_message()));
  }
  return OkStatus();
}

// The GCS's executable store, chunk by chunk, from whichever head candidate leads (a standby's refusal names
// the leader; each candidate is tried once, the named leader too).
Status StreamFromGcs(const std::string& sha256, const std::string& gcs_addresses, int64_t timeout_ms, int fd) {
  std::vector<std::string> candidates = absl::StrSplit(gcs_addresses, ',', absl::SkipWhitespace());
  std::string last_error = "no GCS address is known";
  const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (size_t i = 0; i < candidates.size() && i < kHeadEndpointsMax; ++i) {
    auto stub = rpc::ExecutableService::NewStub(FetchChannel(candidates[i]));
    grpc::ClientContext info_context;
    info_context.set_deadline(deadline);
    rpc::GetExecutableInfoRequest info_request;
    info_request.set_sha256(sha256);
    rpc::GetExecutableInfoReply info;
    grpc::Status status = stub->GetExecutableInfo(&info_context, info_request, &info);
    if (!status.ok()) {
      Status why = rpc_util::FromGrpc(status);
      if (auto leader = RedirectTarget(why);
          leader && std::find(candidates.begin(), candidates.end(), *leader) == candidates.end()) {
        candidates.push_back(*leader);
      }
      last_error = absl::StrCat(candidates[i], ": ", status.error_message());
      continue;
    }
    if (!info.present()) return NotFoundError(absl::StrCat("the GCS's executable store has no ", sha256));
    for (uint32_t index = 0; index < info.chunks(); ++index) {
      grpc::ClientContext context;
      context.set_deadline(deadline);
      rpc::GetExecutableChunkRequest request;
      request.set_sha256(sha256);
      request.set_index(index);
      rpc::GetExecutableChunkReply chunk;
      status = stub->GetExecutableChunk(&context, request, &chunk);
      if (!status.ok()) {
        return UnavailableError(absl::StrCat("fetching chunk ", index, " of ", info.chunks(), " from the GCS at ",
                                             candidates[i], " failed: ", status.error_message()));
      }
      if (!WriteAll(fd, chunk.data())) return InternalError("writing the executable to the node's cache failed");
    }
    return OkStatus();
  }
  return UnavailableError(absl::StrCat("no GCS answered for the executable store: ", last_error));
}

}  // namespace

StatusOr<std::string> GrpcExecutableStore::FetchNow(const std::string& sha256, const std::string& driver_address) {
  if (!IsSha256Hex(sha256)) return InvalidArgumentError(absl::StrCat("'", sha256, "' is not a SHA-256 in hex"));
  std::error_code error;
  std::filesystem::create_directories(cache_dir_, error);
  const std::string path = absl::StrCat(cache_dir_, "/", sha256);
  const std::string temp = absl::StrCat(path, ".part.", getpid(), ".", std::hash<std::thread::id>()(std::this_thread::get_id()));
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0) return InternalError(absl::StrCat("cannot create ", temp, ": ", strerror(errno)));
  const std::string source = driver_address.empty() ? "the GCS's executable store" : driver_address;
  Status streamed = driver_address.empty() ? StreamFromGcs(sha256, gcs_addresses_(), timeout_ms_, fd)
                                           : StreamFromDriver(sha256, driver_address, timeout_ms_, fd);
  close(fd);
  auto fail = [&](Status why) {
    unlink(temp.c_str());
    return why;
  };
  if (!streamed.ok()) return fail(streamed);
  auto got = Sha256OfFile(temp);
  if (!got.ok()) return fail(got.status());
  if (*got != sha256) {
    return fail(DataLossError(absl::StrCat("the executable from ", source, " has SHA-256 ", *got,
                                           ", not the ", sha256, " asked for")));
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    return fail(InternalError(absl::StrCat("cannot rename ", temp, ": ", strerror(errno))));
  }
  return path;
}

}  // namespace halo::node
