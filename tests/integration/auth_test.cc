// Cluster authentication against real daemons: every method of every gRPC server of a cluster (GCS, standby,
// node agent, driver) refuses a call without the cluster token, or with a wrong one, and applies nothing; the
// head makes a token only its owner can read; commands find it in the session; a joining machine must be given
// it; auth_mode off is refused off loopback.
#include <gtest/gtest.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <regex>
#include <set>

#include "common/process.h"
#include "head_fixture.h"
#include "node_fixture.h"
#include "proto/core.grpc.pb.h"
#include "proto/executable.grpc.pb.h"
#include "proto/gcs.grpc.pb.h"
#include "proto/health.grpc.pb.h"
#include "proto/node.grpc.pb.h"
#include "proto/serve.grpc.pb.h"

namespace halo::testing {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Every service of Halo's proto files (found through a message of each file, which also links the file in) and
// the standard health service.
std::vector<const google::protobuf::ServiceDescriptor*> AllServices() {
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  for (const auto* file : {rpc::KvPutRequest::descriptor()->file(), rpc::NodeInfo::descriptor()->file(),
                           rpc::TaskSpec::descriptor()->file(), rpc::DeployServiceRequest::descriptor()->file(),
                           rpc::PutExecutableChunkRequest::descriptor()->file(),
                           grpc::health::v1::HealthCheckRequest::descriptor()->file()}) {
    for (int i = 0; i < file->service_count(); ++i) services.push_back(file->service(i));
  }
  EXPECT_GE(services.size(), 13u);
  return services;
}

// Calls method with an empty request on a plain channel that sends no token (or the given wrong one).
grpc::Status CallWithout(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                         const std::string& wrong_token) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!wrong_token.empty()) context.AddMetadata("authorization", "Bearer " + wrong_token);
  grpc::Slice empty("");  // an empty message: every field at its default
  grpc::ByteBuffer request(&empty, 1), response;
  std::mutex mutex;
  std::condition_variable done_cv;
  std::optional<grpc::Status> result;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response, [&](grpc::Status status) {
    std::lock_guard<std::mutex> lock(mutex);
    result = status;
    done_cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mutex);
  done_cv.wait(lock, [&] { return result.has_value(); });
  return *result;
}

// Asks every method of every service at address, without a token and with a wrong one. Returns the services
// that refused as unauthenticated; fails the test on any other answer than UNAUTHENTICATED or UNIMPLEMENTED
// (a service this server does not have).
std::set<std::string> RefusingServices(const std::string& address) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  std::set<std::string> refusing;
  for (const auto* service : AllServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method = "/" + service->full_name() + "/" + service->method(i)->name();
      // No token, and one of the right length with its last character changed (the constant-time comparison).
      std::string near = std::getenv("HALO_AUTH_TOKEN");
      near.back() = near.back() == 'x' ? 'y' : 'x';
      for (const std::string& wrong : {std::string(), near}) {
        grpc::Status status = CallWithout(channel, method, wrong);
        EXPECT_TRUE(status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                    status.error_code() == grpc::StatusCode::UNIMPLEMENTED)
            << address << " " << method << (wrong.empty() ? " without a token" : " with a wrong token")
            << " answered " << status.error_code() << ": " << status.error_message();
        if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
          refusing.insert(service->full_name());
          EXPECT_TRUE(Contains(status.error_message(), wrong.empty() ? "no cluster token" : "token is wrong"))
              << status.error_message();
        }
      }
    }
  }
  return refusing;
}

std::set<std::string> Names(std::initializer_list<const char*> names) { return {names.begin(), names.end()}; }

TEST(AuthTest, EveryServerOfTheClusterRefusesEveryMethodWithoutTheToken) {
  Head head({"--storage", "memory"});
  auto started = head.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  auto gcs = head.Client();

  // A driver in its own process: its executable service is a server of the cluster too.
  TempDir dir;
  SpawnOptions spawn;
  spawn.argv = {BinDir() + "/../tests/test_driver", "--address", head.address()};
  spawn.output_path = dir.path() + "/driver.out";
  auto driver = Spawn(spawn);
  ASSERT_TRUE(driver.ok()) << driver.status().message();
  ASSERT_TRUE(WaitUntil([&] { return Contains(ReadTrimmedFile(spawn.output_path), "ready 42"); },
                        std::chrono::seconds(60)))
      << ReadTrimmedFile(spawn.output_path);
  auto jobs = gcs->GetAllJobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status().message();
  std::string driver_address;
  for (const auto& job : *jobs) {
    if (job.driver_pid() == *driver) driver_address = job.driver_address();
  }
  ASSERT_FALSE(driver_address.empty());
  auto nodes = gcs->GetAllNodes();
  ASSERT_TRUE(nodes.ok() && nodes->size() == 1);
  const std::string node_address = (*nodes)[0].address();

  const std::string health = grpc::health::v1::Health::service_full_name();
  std::set<std::string> expected_gcs =
      Names({rpc::ClusterInfoService::service_full_name(), rpc::KvService::service_full_name(),
             rpc::JobService::service_full_name(), rpc::EventLogService::service_full_name(),
             rpc::NodeInfoService::service_full_name(), rpc::NodeEventService::service_full_name(),
             rpc::ActorService::service_full_name(), rpc::ServeService::service_full_name(),
             rpc::ExecutableService::service_full_name()});
  std::set<std::string> refusing_gcs = RefusingServices(head.address());
  for (const auto& service : expected_gcs) EXPECT_TRUE(refusing_gcs.count(service)) << "GCS: " << service;
  std::set<std::string> refusing_node = RefusingServices(node_address);
  for (const auto& service : {std::string(rpc::NodeAgentService::service_full_name()),
                              std::string(rpc::ObjectStoreService::service_full_name()), health}) {
    EXPECT_TRUE(refusing_node.count(service)) << "node agent: " << service;
  }
  std::set<std::string> refusing_driver = RefusingServices(driver_address);
  for (const auto& service : {std::string(rpc::CoreWorkerService::service_full_name()), health}) {
    EXPECT_TRUE(refusing_driver.count(service)) << "driver: " << service;
  }

  // Nothing refused was applied: a Put without the token left no key, and the node is still alive.
  auto plain = rpc::KvService::NewStub(grpc::CreateChannel(head.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  rpc::KvPutRequest put;
  put.set_namespace_("auth");
  put.set_key("intruder");
  put.set_value("x");
  rpc::KvPutReply reply;
  EXPECT_EQ(plain->Put(&context, put, &reply).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto value = gcs->KvGet("auth", "intruder");
  ASSERT_TRUE(value.ok()) << value.status().message();
  EXPECT_FALSE(value->has_value());
  nodes = gcs->GetAllNodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ((*nodes)[0].state(), rpc::ALIVE);
  kill(*driver, SIGKILL);
  WaitForProcessExit(*driver, 10000);
}

TEST(AuthTest, StandbyRefusesWithoutTheTokenAndNamesNoLeader) {
  RedisServer redis;
  Head a({"--storage", redis.Uri(), "--ha"});
  ASSERT_EQ(a.Start().exit_code, 0);
  Head b({"--storage", redis.Uri(), "--ha"});
  auto started = b.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  auto channel = grpc::CreateChannel(b.address(), grpc::InsecureChannelCredentials());
  // The standby answers every method (its refusal service takes any name): all must be refused.
  for (const auto* service : AllServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method = "/" + service->full_name() + "/" + service->method(i)->name();
      grpc::Status status = CallWithout(channel, method, "");
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method << ": " << status.error_message();
      EXPECT_FALSE(Contains(status.error_message() + status.error_details(), a.address())) << method;
    }
  }
}

TEST(AuthTest, HeadMakesATokenOnlyItsOwnerReadsAndCommandsFindIt) {
  TempDir dir;
  // No token in the environment; the head's machine and the joining one each see only their own sessions.
  const std::map<std::string, std::string> no_token = {{"HALO_AUTH_TOKEN", ""},
                                                       {"HALO_SESSION_ROOT", dir.path() + "/head_root"}};
  const std::map<std::string, std::string> elsewhere = {{"HALO_AUTH_TOKEN", ""},
                                                        {"HALO_SESSION_ROOT", dir.path() + "/node_root"}};
  const std::string session = dir.path() + "/head";
  auto started = RunHalo({"start", "--head", "--session-dir", session, "--port", std::to_string(FreePort()),
                          "--storage", "memory", "--gcs-restarts-max", "0"},
                         std::chrono::seconds(60), no_token);
  ASSERT_EQ(started.exit_code, 0) << started.output;
  EXPECT_TRUE(Contains(started.output, "auth token:   " + session + "/auth_token (new)")) << started.output;
  struct stat info {};
  ASSERT_EQ(stat((session + "/auth_token").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  const std::string token = ReadTrimmedFile(session + "/auth_token");
  EXPECT_TRUE(std::regex_match(token, std::regex("[0-9a-f]{64}"))) << token;
  const std::string address = ReadTrimmedFile(session + "/gcs.address");

  // A command of this machine finds the token in the session.
  auto put = RunHalo({"kv", "put", "--session-dir", session, "k", "v"}, std::chrono::seconds(30), no_token);
  EXPECT_EQ(put.exit_code, 0) << put.output;
  // A driver of this machine runs a task: it, the node agent (token from the session) and the worker the agent
  // started (token handed down) all hold the head's token.
  SpawnOptions spawn;
  spawn.argv = {BinDir() + "/../tests/test_driver", "--shutdown"};
  spawn.output_path = dir.path() + "/driver.out";
  spawn.env = {{"HALO_AUTH_TOKEN", ""}, {"HALO_SESSION_DIR", session}};
  auto driver = Spawn(spawn);
  ASSERT_TRUE(driver.ok());
  EXPECT_TRUE(WaitForProcessExit(*driver, 60000));
  EXPECT_TRUE(Contains(ReadTrimmedFile(spawn.output_path), "ready 42")) << ReadTrimmedFile(spawn.output_path);
  // A token too short to be safe is refused where it is given.
  auto short_token = RunHalo({"kv", "get", "--address", address, "k"}, std::chrono::seconds(30),
                             {{"HALO_AUTH_TOKEN", "short"}});
  EXPECT_EQ(short_token.exit_code, 1) << short_token.output;
  EXPECT_TRUE(Contains(short_token.output, "needs at least 16")) << short_token.output;
  // A wrong token of the right length: one line that says so, for kv and for status.
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"kv", "get", "--address", address, "k"},
        std::vector<std::string>{"status", "--address", address}}) {
    std::string wrong = token;
    wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
    auto refused = RunHalo(command, std::chrono::seconds(30), {{"HALO_AUTH_TOKEN", wrong}});
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_TRUE(Contains(refused.output, "cluster token is wrong")) << refused.output;
    EXPECT_EQ(std::count(refused.output.begin(), refused.output.end(), '\n'), 1) << refused.output;
  }

  // A machine joining without the token is refused before it starts anything.
  TempDir node_dir;
  auto joined = RunHalo({"start", "--address", address, "--session-dir", node_dir.path()}, std::chrono::seconds(30),
                        elsewhere);
  EXPECT_EQ(joined.exit_code, 1) << joined.output;
  EXPECT_TRUE(Contains(joined.output, "no cluster token")) << joined.output;
  EXPECT_FALSE(std::filesystem::exists(node_dir.path() + "/logs/node.out")) << "a node agent was started";
  // A token file others can read is refused; made private, it is taken.
  const std::string token_file = dir.path() + "/token";
  ASSERT_TRUE(WriteFileAtomically(token_file, token + "\n", 0644).ok());
  joined = RunHalo({"start", "--address", address, "--session-dir", node_dir.path(), "--auth-token-file", token_file},
                   std::chrono::seconds(30), elsewhere);
  EXPECT_EQ(joined.exit_code, 1) << joined.output;
  EXPECT_TRUE(Contains(joined.output, "is open to others")) << joined.output;
  ASSERT_EQ(chmod(token_file.c_str(), 0600), 0);
  joined = RunHalo({"start", "--address", address, "--session-dir", node_dir.path(), "--auth-token-file", token_file},
                   std::chrono::seconds(60), elsewhere);
  EXPECT_EQ(joined.exit_code, 0) << joined.output;
  auto listed = RunHalo({"list", "nodes", "--session-dir", session}, std::chrono::seconds(30), no_token);
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  const std::string joined_id = ReadTrimmedFile(node_dir.path() + "/node.id");
  EXPECT_FALSE(joined_id.empty());
  EXPECT_TRUE(Contains(listed.output, joined_id)) << listed.output;
  RunHalo({"stop", "--session-dir", node_dir.path()}, std::chrono::seconds(30), elsewhere);
  RunHalo({"stop", "--session-dir", session}, std::chrono::seconds(30), no_token);
}

TEST(AuthTest, AuthOffOnlyOnLoopback) {
  TempDir dir;
  auto refused = RunHalo({"start", "--head", "--session-dir", dir.path() + "/a", "--port", "0", "--storage",
                          "memory", "--auth-mode", "off", "--host", "0.0.0.0", "--advertise-host", "127.0.0.1"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_TRUE(Contains(refused.output, "'auth_mode' off is allowed only for a cluster on loopback")) << refused.output;
  EXPECT_TRUE(ReadTrimmedFile(dir.path() + "/a/gcs.pid").empty());

  Head head({"--storage", "memory", "--auth-mode", "off"});
  auto started = head.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  EXPECT_TRUE(Contains(started.output, "auth:         off")) << started.output;
  auto plain = rpc::KvService::NewStub(grpc::CreateChannel(head.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  rpc::KvPutRequest put;
  put.set_namespace_("auth");
  put.set_key("open");
  put.set_value("x");
  rpc::KvPutReply reply;
  EXPECT_TRUE(plain->Put(&context, put, &reply).ok());
  // Commands with no token at all work against it.
  auto cli = RunHalo({"kv", "put", "--address", head.address(), "k", "v"}, std::chrono::seconds(30),
                     {{"HALO_AUTH_TOKEN", ""}});
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
}

TEST(AuthTest, HeadCandidatesMustBeGivenTheirToken) {
  TempDir dir;
  auto refused = RunHalo({"start", "--head", "--ha", "--session-dir", dir.path() + "/a", "--port", "0", "--storage",
                          "redis://127.0.0.1:" + std::to_string(FreePort())},
                         std::chrono::seconds(30), {{"HALO_AUTH_TOKEN", ""}});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_TRUE(Contains(refused.output, "head candidates (--ha) must share one cluster token")) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/a/logs/gcs.out"));
}

}  // namespace
}  // namespace halo::testing
