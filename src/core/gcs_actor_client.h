// The runtime's calls to the GCS's actor directory (create, resolve, look up, kill, report an exit), event
// log (objects rebuilt) and metrics (task counters), made
// asynchronously on the runtime's executor. Each call goes to the head candidate asked first, follows a
// standby's redirect and moves past an unreachable candidate at once (rpc/head_endpoints.h), and while no
// candidate answers (or one timed out) retries with backoff (retry_initial_ms doubling to retry_max_ms) until
// wait_timeout_ms has passed since the call began; then done gets DeadlineExceeded naming the GCS and the
// setting. Any answer (OK or a refusal such as NOT_FOUND) ends the call. done runs exactly once, on the
// executor. Event-driven: time, timers and peers are handed in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/executor.h"
#include "common/status.h"
#include "core/core_rpc_clients.h"
#include "rpc/head_endpoints.h"

namespace halo::core {

struct GcsActorClientSettings {
  std::string gcs_address;  // may list head candidates: "h1:7001,h2:7001"
  int64_t wait_timeout_ms = 30000;
  int64_t rpc_timeout_ms = 10000;
  int64_t retry_initial_ms = 100;
  int64_t retry_max_ms = 2000;
};

class GcsActorClient {
 public:
  GcsActorClient(Executor& executor, Clock& clock, CoreRpcClients& clients, GcsActorClientSettings settings);

  void RegisterActor(const rpc::ActorInfo& actor, bool dependencies_ready, std::function<void(Status)> done);
  void ResolveActor(const std::string& actor_id, const rpc::TaskSpec& creation, std::function<void(Status)> done);
  void GetNamedActor(const std::string& name, const std::string& name_space,
                     std::function<void(StatusOr<rpc::ActorInfo>)> done);
  void KillActor(const std::string& actor_id, bool no_restart, bool out_of_scope, std::function<void(Status)> done);
  void ReportActorExit(const std::string& actor_id, int32_t instance, const std::string& message,
                       std::function<void(Status)> done);
  // Adds an event the runtime witnessed to the cluster event log.
  void RecordEvent(const rpc::ClusterEvent& event, std::function<void(Status)> done);
  // Reports this process's task counters (for the GCS's metrics).
  void ReportRuntimeCounters(const rpc::ReportRuntimeCountersRequest& request, std::function<void(Status)> done);

 private:
  struct Endpoint {
    std::string address;
  };
  // One attempt: send(address, timeout_ms, on_reply) with on_reply(Status of the call).
  using Send = std::function<void(const std::string& address, int64_t timeout_ms, std::function<void(Status)>)>;
  struct Call;
  void Start(Send send, std::function<void(Status)> done);
  void Attempt(std::shared_ptr<Call> call);
  void OnReply(std::shared_ptr<Call> call, size_t index, std::shared_ptr<Endpoint> endpoint, Status status);

  Executor& executor_;
  Clock& clock_;
  CoreRpcClients& clients_;
  GcsActorClientSettings settings_;
  HeadEndpoints<Endpoint> endpoints_;
};

}  // namespace halo::core
