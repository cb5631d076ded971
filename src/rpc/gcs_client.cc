#include "rpc/gcs_client.h"

#include <grpcpp/grpcpp.h>

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "rpc/async_call.h"
#include "rpc/cluster_security.h"
#include "rpc/tls_probe.h"
#include "absl/strings/str_split.h"
#include "rpc/cluster_channel.h"

namespace halo {

namespace {

std::shared_ptr<grpc::Channel> GcsChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  return rpc::NewClusterChannel(address, args);
}

}  // namespace

std::shared_ptr<GcsClient::Stubs> GcsClient::MakeStubs(const std::string& address) {
  auto stubs = std::make_shared<Stubs>();
  stubs->address = address;
  stubs->channel = GcsChannel(address);
  stubs->cluster = rpc::ClusterInfoService::NewStub(stubs->channel);
  stubs->kv = rpc::KvService::NewStub(stubs->channel);
  stubs->jobs = rpc::JobService::NewStub(stubs->channel);
  stubs->nodes = rpc::NodeInfoService::NewStub(stubs->channel);
  stubs->events = rpc::NodeEventService::NewStub(stubs->channel);
  stubs->actors = rpc::ActorService::NewStub(stubs->channel);
  stubs->serve = rpc::ServeService::NewStub(stubs->channel);
  stubs->executables = rpc::ExecutableService::NewStub(stubs->channel);
  stubs->event_log = rpc::EventLogService::NewStub(stubs->channel);
  return stubs;
}

GcsClient::GcsClient(const std::string& address, int64_t timeout_ms)
    : address_(address), timeout_ms_(timeout_ms), endpoints_(address, &GcsClient::MakeStubs) {}

GcsClient::~GcsClient() = default;

template <typename Call>
Status GcsClient::Invoke(Call&& call, int64_t extra_ms) {
  if (endpoints_.empty()) return InvalidArgumentError(absl::StrCat("no GCS address in '", address_, "'"));
  // Head candidates: only the leader serves. An address that does not answer passes the call to the next
  // one, a standby's refusal to the leader it names; the one that answered is tried first next time.
  // A call that timed out is not sent elsewhere (it may have been applied); the next call starts at the next
  // address. Bounded: each known address once, plus a few redirects.
  using Outcome = HeadEndpoints<Stubs>::Outcome;
  grpc::Status status;
  const size_t attempts_max = 2 * endpoints_.size() + 2;
  size_t unreachable = 0;
  std::string last_address;
  for (size_t attempt = 0; attempt < attempts_max; ++attempt) {
    auto [at, stubs] = endpoints_.At(endpoints_.current());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms_ + extra_ms));
    status = call(&context, *stubs);
    last_address = stubs->address;
    const Outcome outcome = endpoints_.Report(at, stubs, rpc_util::FromGrpc(status));
    if (outcome == Outcome::kAnswered || outcome == Outcome::kTimedOut) break;
    if (outcome == Outcome::kUnreachable && ++unreachable >= endpoints_.size()) break;  // none serves now
  }
  if (status.ok()) return OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    // A TLS server closes a plaintext client's connection at once; say so rather than leave gRPC's "Socket closed".
    std::string hint;
    if (rpc::ExplainTlsRefusals() && !rpc::ProcessSecurity()->tls() &&
        status.error_code() == grpc::StatusCode::UNAVAILABLE && rpc::ClosesPlaintextConnections(last_address, 500)) {
      hint = "; it closes plaintext connections: the cluster may use TLS: give --tls-cert, --tls-key and --tls-ca";
    }
    return Status(code, absl::StrCat("cannot reach the GCS at ", address_, ": ", status.error_message(), hint));
  }
  return Status(code, status.error_message());
}

StatusOr<rpc::GetClusterInfoReply> GcsClient::GetClusterInfo() {
  rpc::GetClusterInfoRequest request;
  rpc::GetClusterInfoReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.cluster->GetClusterInfo(c, request, &reply); }));
  // A standby answers for itself. Given one address, that is what was asked; given several, the cluster's
  // info is the leader's: follow the standby to it (and ask the leader first from now on).
  if (endpoints_.size() > 1 && !reply.is_leader() && !reply.leader_address().empty() &&
      reply.leader_address() != reply.address()) {
    endpoints_.Redirect(reply.leader_address());
    rpc::GetClusterInfoReply leader;
    Status asked = Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.cluster->GetClusterInfo(c, request, &leader); });
    if (asked.ok() && leader.is_leader()) return leader;
  }
  return reply;
}

StatusOr<bool> GcsClient::KvPut(const std::string& name_space, const std::string& key, const std::string& value,
                                bool overwrite) {
  rpc::KvPutRequest request;
  request.set_namespace_(name_space);
  request.set_key(key);
  request.set_value(value);
  request.set_overwrite(overwrite);
  rpc::KvPutReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.kv->Put(c, request, &reply); }));
  return reply.added();
}

StatusOr<std::optional<std::string>> GcsClient::KvGet(const std::string& name_space, const std::string& key) {
  rpc::KvGetRequest request;
  request.set_namespace_(name_space);
  request.set_key(key);
  rpc::KvGetReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.kv->Get(c, request, &reply); }));
  if (!reply.found()) return std::optional<std::string>();
  return std::optional<std::string>(reply.value());
}

StatusOr<int64_t> GcsClient::KvDel(const std::string& name_space, const std::string& key, bool by_prefix) {
  rpc::KvDelRequest request;
  request.set_namespace_(name_space);
  request.set_key(key);
  request.set_by_prefix(by_prefix);
  rpc::KvDelReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.kv->Del(c, request, &reply); }));
  return reply.deleted();
}

StatusOr<std::vector<std::string>> GcsClient::KvKeys(const std::string& name_space, const std::string& prefix) {
  rpc::KvKeysRequest request;
  request.set_namespace_(name_space);
  request.set_prefix(prefix);
  rpc::KvKeysReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.kv->Keys(c, request, &reply); }));
  return std::vector<std::string>(reply.keys().begin(), reply.keys().end());
}

StatusOr<bool> GcsClient::KvExists(const std::string& name_space, const std::string& key) {
  rpc::KvExistsRequest request;
  request.set_namespace_(name_space);
  request.set_key(key);
  rpc::KvExistsReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.kv->Exists(c, request, &reply); }));
  return reply.exists();
}

StatusOr<rpc::JobInfo> GcsClient::AddJob(const std::string& entrypoint, int32_t driver_pid,
                                         const std::string& driver_address) {
  rpc::AddJobRequest request;
  request.set_entrypoint(entrypoint);
  request.set_driver_pid(driver_pid);
  request.set_driver_address(driver_address);
  rpc::AddJobReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.jobs->AddJob(c, request, &reply); }));
  return reply.job();
}

Status GcsClient::MarkJobFinished(uint32_t job_id) {
  rpc::MarkJobFinishedRequest request;
  request.set_job_id(job_id);
  rpc::MarkJobFinishedReply reply;
  return Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.jobs->MarkJobFinished(c, request, &reply); });
}

StatusOr<std::vector<rpc::JobInfo>> GcsClient::GetAllJobs() {
  rpc::GetAllJobsRequest request;
  rpc::GetAllJobsReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.jobs->GetAllJobs(c, request, &reply); }));
  return std::vector<rpc::JobInfo>(reply.jobs().begin(), reply.jobs().end());
}

StatusOr<std::vector<rpc::NodeInfo>> GcsClient::GetAllNodes() {
  rpc::GetAllNodesRequest request;
  rpc::GetAllNodesReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.nodes->GetAllNodes(c, request, &reply); }));
  return std::vector<rpc::NodeInfo>(reply.nodes().begin(), reply.nodes().end());
}

Status GcsClient::DrainNode(const std::string& node_id, const std::string& reason, int64_t deadline_ms) {
  rpc::DrainNodeRequest request;
  request.set_node_id(node_id);
  request.set_reason(reason);
  request.set_deadline_ms(deadline_ms);
  rpc::DrainNodeReply reply;
  return Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.nodes->DrainNode(c, request, &reply); });
}

StatusOr<rpc::PollNodeEventsReply> GcsClient::PollNodeEvents(const rpc::PollNodeEventsRequest& request) {
  rpc::PollNodeEventsReply reply;
  HALO_RETURN_IF_ERROR(
      Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.events->PollNodeEvents(c, request, &reply); }, request.wait_ms()));
  return reply;
}

StatusOr<rpc::ListEventsReply> GcsClient::ListEvents(const rpc::ListEventsRequest& request) {
  rpc::ListEventsReply reply;
  HALO_RETURN_IF_ERROR(Invoke(
      [&](grpc::ClientContext* c, Stubs& s) { return s.event_log->ListEvents(c, request, &reply); }, request.wait_ms()));
  return reply;
}

Status GcsClient::RecordEvent(const rpc::ClusterEvent& event) {
  rpc::RecordEventRequest request;
  *request.mutable_event() = event;
  rpc::RecordEventReply reply;
  return Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.event_log->RecordEvent(c, request, &reply); });
}

Status GcsClient::ReportRuntimeCounters(const rpc::ReportRuntimeCountersRequest& request) {
  rpc::ReportRuntimeCountersReply reply;
  return Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.jobs->ReportRuntimeCounters(c, request, &reply); });
}

Status GcsClient::RegisterActor(const rpc::ActorInfo& actor, bool dependencies_ready) {
  rpc::RegisterActorRequest request;
  *request.mutable_actor() = actor;
  request.set_dependencies_ready(dependencies_ready);
  rpc::RegisterActorReply reply;
  return Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.actors->RegisterActor(c, request, &reply); });
}

Status GcsClient::ResolveActor(const std::string& actor_id, const rpc::TaskSpec& creation) {
  rpc::ResolveActorRequest request;
  request.set_actor_id(actor_id);
  *request.mutable_creation() = creation;
  rpc::ResolveActorReply reply;
  return Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.actors->ResolveActor(c, request, &reply); });
}

StatusOr<rpc::ActorInfo> GcsClient::GetNamedActor(const std::string& name, const std::string& name_space) {
  rpc::GetNamedActorRequest request;
  request.set_name(name);
  request.set_namespace_(name_space);
  rpc::GetNamedActorReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.actors->GetNamedActor(c, request, &reply); }));
  return reply.actor();
}

Status GcsClient::KillActor(const std::string& actor_id, bool no_restart, bool out_of_scope) {
  rpc::KillActorRequest request;
  request.set_actor_id(actor_id);
  request.set_no_restart(no_restart);
  request.set_out_of_scope(out_of_scope);
  rpc::KillActorReply reply;
  return Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.actors->KillActor(c, request, &reply); });
}

Status GcsClient::ReportActorExit(const std::string& actor_id, int32_t instance, const std::string& message) {
  rpc::ReportActorExitRequest request;
  request.set_actor_id(actor_id);
  request.set_instance(instance);
  request.set_message(message);
  rpc::ReportActorExitReply reply;
  return Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.actors->ReportActorExit(c, request, &reply); });
}

StatusOr<std::vector<rpc::ActorInfo>> GcsClient::ListActors() {
  rpc::ListActorsRequest request;
  rpc::ListActorsReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.actors->ListActors(c, request, &reply); }));
  return std::vector<rpc::ActorInfo>(reply.actors().begin(), reply.actors().end());
}

StatusOr<rpc::GetExecutableInfoReply> GcsClient::GetExecutableInfo(const std::string& sha256) {
  rpc::GetExecutableInfoRequest request;
  request.set_sha256(sha256);
  rpc::GetExecutableInfoReply reply;
  HALO_RETURN_IF_ERROR(Invoke(
      [&](grpc::ClientContext* c, Stubs& s) { return s.executables->GetExecutableInfo(c, request, &reply); }));
  return reply;
}

Status GcsClient::UploadExecutable(const std::string& path, const std::string& sha256, int64_t chunk_bytes) {
  StatusOr<rpc::GetExecutableInfoReply> known = GetExecutableInfo(sha256);
  if (!known.ok()) return known.status();
  if (known->present()) return OkStatus();
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(absl::StrCat("cannot read ", path));
  std::string buffer(static_cast<size_t>(chunk_bytes), '\0');
  uint32_t index = 0;
  uint64_t total = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize got = in.gcount();
    if (got <= 0) break;
    rpc::PutExecutableChunkRequest request;
    request.set_sha256(sha256);
    request.set_index(index);
    request.set_data(buffer.data(), static_cast<size_t>(got));
    rpc::PutExecutableChunkReply reply;
    HALO_RETURN_IF_ERROR(Invoke(
        [&](grpc::ClientContext* c, Stubs& s) { return s.executables->PutExecutableChunk(c, request, &reply); }));
    index += 1;
    total += static_cast<uint64_t>(got);
  }
  if (in.bad()) return InternalError(absl::StrCat("error reading ", path));
  rpc::CommitExecutableRequest commit;
  commit.set_sha256(sha256);
  commit.set_chunks(index);
  commit.set_total_bytes(total);
  rpc::CommitExecutableReply reply;
  return Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.executables->CommitExecutable(c, commit, &reply); });
}

StatusOr<int64_t> GcsClient::DeployService(const rpc::DeployServiceRequest& request) {
  rpc::DeployServiceReply reply;
  HALO_RETURN_IF_ERROR(
      Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.serve->DeployService(c, request, &reply); }));
  return reply.version();
}

Status GcsClient::DeleteService(const std::string& name) {
  rpc::DeleteServiceRequest request;
  request.set_name(name);
  rpc::DeleteServiceReply reply;
  return Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.serve->DeleteService(c, request, &reply); });
}

StatusOr<rpc::GetServiceStatusReply> GcsClient::GetServiceStatus(const std::string& name) {
  rpc::GetServiceStatusRequest request;
  request.set_name(name);
  rpc::GetServiceStatusReply reply;
  HALO_RETURN_IF_ERROR(
      Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.serve->GetServiceStatus(c, request, &reply); }));
  return reply;
}

StatusOr<rpc::GetRoutesReply> GcsClient::GetRoutes(const rpc::GetRoutesRequest& request) {
  rpc::GetRoutesReply reply;
  HALO_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c, Stubs& s) { return s.serve->GetRoutes(c, request, &reply); },
                              request.wait_ms()));
  return reply;
}

}  // namespace halo
