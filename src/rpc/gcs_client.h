// Blocking client of the GCS' gRPC services, for the CLI, drivers, tests and benchmarks. Each call has the
// deadline given at construction. The address may list head candidates ("h1:7001,h2:7001"): a call that finds
// one unreachable goes on to the next, a standby's answer sends it to the leader that standby names (added to
// the list if new), and the one that answered is asked first next time. Thread-safe (gRPC stubs are).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "proto/gcs.grpc.pb.h"
#include "proto/node.grpc.pb.h"
#include "proto/executable.grpc.pb.h"
#include "proto/serve.grpc.pb.h"
#include "rpc/head_endpoints.h"

namespace halo {

class GcsClient {
 public:
  GcsClient(const std::string& address, int64_t timeout_ms);
  ~GcsClient();

  const std::string& address() const { return address_; }

  StatusOr<rpc::GetClusterInfoReply> GetClusterInfo();
  // Yields whether the key was new.
  StatusOr<bool> KvPut(const std::string& name_space, const std::string& key, const std::string& value,
                       bool overwrite = true);
  StatusOr<std::optional<std::string>> KvGet(const std::string& name_space, const std::string& key);
  StatusOr<int64_t> KvDel(const std::string& name_space, const std::string& key, bool by_prefix = false);
  StatusOr<std::vector<std::string>> KvKeys(const std::string& name_space, const std::string& prefix);
  StatusOr<bool> KvExists(const std::string& name_space, const std::string& key);
  StatusOr<rpc::JobInfo> AddJob(const std::string& entrypoint, int32_t driver_pid, const std::string& driver_address);
  Status MarkJobFinished(uint32_t job_id);
  StatusOr<std::vector<rpc::JobInfo>> GetAllJobs();
  StatusOr<std::vector<rpc::NodeInfo>> GetAllNodes();
  Status DrainNode(const std::string& node_id, const std::string& reason, int64_t deadline_ms);
  // Long poll: waits up to request.wait_ms() (the call's deadline is extended by that much).
  StatusOr<rpc::PollNodeEventsReply> PollNodeEvents(const rpc::PollNodeEventsRequest& request);
  // The cluster event log; waits up to request.wait_ms() when nothing newer is there.
  StatusOr<rpc::ListEventsReply> ListEvents(const rpc::ListEventsRequest& request);
  Status RecordEvent(const rpc::ClusterEvent& event);
  Status ReportRuntimeCounters(const rpc::ReportRuntimeCountersRequest& request);
  Status RegisterActor(const rpc::ActorInfo& actor, bool dependencies_ready);
  Status ResolveActor(const std::string& actor_id, const rpc::TaskSpec& creation);
  StatusOr<rpc::ActorInfo> GetNamedActor(const std::string& name, const std::string& name_space);
  Status KillActor(const std::string& actor_id, bool no_restart, bool out_of_scope);
  Status ReportActorExit(const std::string& actor_id, int32_t instance, const std::string& message);
  StatusOr<std::vector<rpc::ActorInfo>> ListActors();

  // Services and the executable store.
  StatusOr<rpc::GetExecutableInfoReply> GetExecutableInfo(const std::string& sha256);
  // Uploads the file in chunks of chunk_bytes and commits it, unless the store has it already.
  Status UploadExecutable(const std::string& path, const std::string& sha256, int64_t chunk_bytes);
  StatusOr<int64_t> DeployService(const rpc::DeployServiceRequest& request);
  Status DeleteService(const std::string& name);
  StatusOr<rpc::GetServiceStatusReply> GetServiceStatus(const std::string& name);
  StatusOr<rpc::GetRoutesReply> GetRoutes(const rpc::GetRoutesRequest& request);

 private:
  struct Stubs {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<rpc::ClusterInfoService::Stub> cluster;
    std::unique_ptr<rpc::KvService::Stub> kv;
    std::unique_ptr<rpc::JobService::Stub> jobs;
    std::unique_ptr<rpc::NodeInfoService::Stub> nodes;
    std::unique_ptr<rpc::NodeEventService::Stub> events;
    std::unique_ptr<rpc::ActorService::Stub> actors;
    std::unique_ptr<rpc::ServeService::Stub> serve;
    std::unique_ptr<rpc::ExecutableService::Stub> executables;
    std::unique_ptr<rpc::EventLogService::Stub> event_log;
  };
  static std::shared_ptr<Stubs> MakeStubs(const std::string& address);
  // call(context, stubs) makes one attempt at one address.
  template <typename Call>
  Status Invoke(Call&& call, int64_t extra_ms = 0);

  std::string address_;
  int64_t timeout_ms_;
  HeadEndpoints<Stubs> endpoints_;
};

}  // namespace halo
