#include "node/process_worker_launcher.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/process.h"
#include "common/sha256.h"
#include "proto/core.grpc.pb.h"

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

StatusOr<std::string> GrpcExecutableStore::FetchNow(const std::string& sha256, const std::string& driver_address) {
  if (sha256.size() != 64 || sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return InvalidArgumentError(absl::StrCat("'", sha256, "' is not a SHA-256 in hex"));
  }
  std::error_code error;
  std::filesystem::create_directories(cache_dir_, error);
  const std::string path = absl::StrCat(cache_dir_, "/", sha256);
  const std::string temp = absl::StrCat(path, ".part.", getpid(), ".", std::hash<std::thread::id>()(std::this_thread::get_id()));
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0) return InternalError(absl::StrCat("cannot create ", temp, ": ", strerror(errno)));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(driver_address, grpc::InsecureChannelCredentials(), args);
  auto stub = rpc::CoreWorkerService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms_));
  rpc::FetchExecutableRequest request;
  request.set_sha256(sha256);
  auto reader = stub->FetchExecutable(&context, request);
  rpc::ExecutableChunk chunk;
  bool write_failed = false;
  while (reader->Read(&chunk)) {
    const std::string& data = chunk.data();
    size_t written = 0;
    while (written < data.size()) {
      ssize_t n = write(fd, data.data() + written, data.size() - written);
      if (n <= 0) {
        write_failed = true;
        break;
      }
      written += static_cast<size_t>(n);
    }
    if (write_failed) break;
  }
  grpc::Status status = reader->Finish();
  close(fd);
  auto fail = [&](Status why) {
    unlink(temp.c_str());
    return why;
  };
  if (write_failed) return fail(InternalError(absl::StrCat("writing ", temp, " failed")));
  if (!status.ok()) {
    return fail(UnavailableError(absl::StrCat("fetching from the driver at ", driver_address, " failed: ",
                                              status.error_message())));
  }
  auto got = Sha256OfFile(temp);
  if (!got.ok()) return fail(got.status());
  if (*got != sha256) {
    return fail(DataLossError(absl::StrCat("the executable from ", driver_address, " has SHA-256 ", *got,
                                           ", not the ", sha256, " asked for")));
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    return fail(InternalError(absl::StrCat("cannot rename ", temp, ": ", strerror(errno))));
  }
  return path;
}

}  // namespace halo::node
