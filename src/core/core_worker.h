// The runtime inside every driver and worker process: the object table of what the process owns, the task
// submitter, and the process' gRPC server (CoreWorkerService: tasks pushed to a worker, objects asked of their
// owner, and the driver's executable for node agents). A driver registers a job with the GCS; a worker
// registers with the node agent that started it and runs pushed tasks on the thread that calls RunTasks().
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "common/asio_executor.h"
#include "common/check.h"
#include "common/settings.h"
#include "core/actor_host.h"
#include "core/actor_submitter.h"
#include "core/core_rpc_clients.h"
#include "core/gcs_actor_client.h"
#include "core/object_table.h"
#include "core/pending_task_limit.h"
#include "core/task_executor.h"
#include "core/task_submitter.h"
#include "core/worker_lease_guard.h"
#include "halo/internal/runtime.h"
#include "health/grpc_health_prober.h"
#include "health/health_check_manager.h"
#include "rpc/gcs_node_client.h"
#include "proto/node.grpc.pb.h"
#include "rpc/gcs_client.h"
#include "rpc/object_transfer.h"

namespace halo::core {

struct CoreWorkerOptions {
  bool is_driver = true;
  std::string gcs_address;
  std::string node_address;  // the local node agent
  std::string node_id;
  uint32_t job_id = 0;        // drivers: assigned by the GCS at Start
  std::string worker_id;      // workers: given by the node agent
  std::string entrypoint;     // drivers: the command line, shown by `halo list jobs`
  std::string executable_path;
  std::string executable_sha256;
  std::string driver_address;  // workers: where the job's driver serves
  std::string lease_file;      // workers: the node agent's lease for them (core/worker_lease_guard); "": none
  Settings settings;
};

class CoreWorkerServiceImpl;  // core/core_worker_service.h

// Objects in the local node's store, for this process' tasks, Get and Put.
class NodeObjectAccess : public ObjectAccess {
 public:
  NodeObjectAccess(std::string node_id, std::string node_address, int64_t chunk_bytes, int64_t inline_max_bytes,
                   int64_t timeout_ms)
      : node_id_(std::move(node_id)), node_address_(std::move(node_address)), chunk_bytes_(chunk_bytes),
        inline_max_bytes_(inline_max_bytes), timeout_ms_(timeout_ms) {}
  // Known only once a driver has registered its job.
  void set_job(uint32_t job_id, std::string driver_address) {
    job_.job_id = job_id;
    job_.driver_address = std::move(driver_address);
  }
  StatusOr<std::string> Fetch(const rpc::ObjectRefInfo& ref) override;
  StatusOr<rpc::ObjectLocation> Store(const std::string& id, const std::string& value) override;
  size_t inline_max_bytes() const override { return static_cast<size_t>(inline_max_bytes_); }

 private:
  std::string node_id_;
  std::string node_address_;
  int64_t chunk_bytes_;
  int64_t inline_max_bytes_;
  int64_t timeout_ms_;
  ObjectJob job_;
};

class CoreWorker : public internal::Runtime {
 public:
  // Serves, registers (job or worker), and starts following node deaths. Errors name what failed.
  static StatusOr<std::unique_ptr<CoreWorker>> Start(CoreWorkerOptions options);
  ~CoreWorker() override;

  std::string SubmitTask(const std::string& function_name, std::vector<internal::TaskArgument> args,
                         const internal::TaskOptions& options) override;
  std::string Put(std::string value) override;
  std::vector<internal::ObjectResult> Get(const std::vector<std::string>& object_ids, int64_t timeout_ms) override;
  std::vector<bool> Wait(const std::vector<std::string>& object_ids, int num_ready, int64_t timeout_ms) override;
  std::string EscapeReference(const std::string& object_id) override;
  void AddBorrowedReference(const std::string& object_id, const std::string& owner_address) override;
  void AddLocalReference(const std::string& object_id) override;
  void RemoveLocalReference(const std::string& object_id) override;
  internal::RuntimeCounters Counters() const override;

  std::string CreateActor(const std::string& factory_name, std::vector<internal::TaskArgument> args,
                          const internal::ActorOptions& options) override;
  std::string SubmitActorTask(const std::string& actor_id, const std::string& method_name,
                              std::vector<internal::TaskArgument> args) override;
  std::string GetActor(const std::string& name, const std::string& name_space,
                       const std::string& class_name) override;
  void KillActor(const std::string& actor_id, bool no_restart) override;
  void AddActorHandle(const std::string& actor_id) override;
  void RemoveActorHandle(const std::string& actor_id) override;
  std::string EscapeActorHandle(const std::string& actor_id) override;
  std::string AddBorrowedActorHandle(const std::string& description, const std::string& class_name) override;
  bool WasCurrentActorRestarted() const override;

  // Workers: runs pushed tasks on this thread until the process ends.
  void RunTasks();
  // Drivers: marks the job finished; both: fails unfinished work and stops serving.
  void Shutdown();

  const std::string& address() const { return address_; }
  uint32_t job_id() const { return options_.job_id; }
  ObjectTable& objects() { return objects_; }

 private:
  explicit CoreWorker(CoreWorkerOptions options);
  Status Serve();
  Status RegisterDriver();
  Status RegisterWorker();
  Status ChooseNode();
  void FollowNodeEvents();
  // Workers: health-checks the job's driver on the executor; once it is gone for good the worker exits.
  void WatchDriver();
  class DriverGone;
  // In a worker, while a Get or Wait waits: tells the node agent so the task's CPUs run other work meanwhile
  // (the tasks it waits for, say). Nested waits notify once.
  class BlockedScope;
  void SetBlocked(bool blocked);
  // Borrowed objects: asks the owner until it answers with the object, an error, or turns out to be gone.
  void PollOwner(const std::string& object_id, const std::string& owner_address, int failures);
  std::string NewObjectId();
  // From a user thread: starts work on the executor (which calls done once) and waits for its result, at
  // most bound_ms (then DeadlineExceeded). After Shutdown: an error at once.
  template <typename T>
  StatusOr<T> AwaitOnExecutor(std::function<void(std::function<void(StatusOr<T>)>)> start, int64_t bound_ms);
  // A call to the GCS's actor directory through gcs_actors_ (which retries up to gcs_wait_timeout_ms), awaited.
  Status AwaitGcs(std::function<void(GcsActorClient&, std::function<void(Status)>)> call);
  // Resolves a new actor's ObjectRef constructor arguments (on a thread of its own), then tells the GCS.
  void ResolveActorArguments(rpc::ActorInfo actor);
  void ExitProcess();
  void OnFreed(const std::string& id, const std::vector<rpc::ObjectLocation>& copies,
               const std::optional<rpc::TaskSpec>& lineage);

  CoreWorkerOptions options_;
  AsioExecutor executor_;
  SystemClock clock_;
  ObjectTable objects_;
  std::unique_ptr<CoreRpcClients> clients_;
  std::unique_ptr<TaskSubmitter> submitter_;
  std::unique_ptr<ActorSubmitter> actor_submitter_;
  std::unique_ptr<GcsActorClient> gcs_actors_;
  // Rebuilt objects not yet reported to the cluster event log (executor thread): one event per
  // objects_rebuilt_event_interval_ms.
  struct RebuildReport {
    int64_t count = 0;
    std::string first_object, first_function, first_why;
    bool flush_armed = false;
  };
  RebuildReport rebuild_report_;
  // Task counters last reported to the GCS (executor thread), every runtime_counters_report_interval_ms when
  // they changed.
  internal::RuntimeCounters reported_;
  bool reporting_counters_ = false;
  void ReportCounters();
  rpc::ReportRuntimeCountersRequest CountersRequest(const internal::RuntimeCounters& now) const;
  // The rebuilt objects not reported yet, as one event (nullopt: none); executor thread.
  std::optional<rpc::ClusterEvent> TakeRebuildEvent();
  void OnObjectRebuilt(const std::string& object_id, const rpc::TaskSpec& spec, const std::string& why);
  std::unique_ptr<health::GrpcHealthProber> driver_prober_;
  std::unique_ptr<DriverGone> driver_gone_;
  std::unique_ptr<health::HealthCheckManager> driver_watch_;
  std::unique_ptr<ActorHost> actor_host_;  // workers
  std::atomic<bool> hosts_detached_actor_ = false;
  std::unique_ptr<NodeObjectAccess> object_access_;
  std::unique_ptr<TaskExecutor> task_executor_;
  std::unique_ptr<WorkerLeaseGuard> lease_guard_;  // workers with a lease file
  std::unique_ptr<CoreWorkerServiceImpl> service_;
  std::unique_ptr<grpc::Service> health_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<GcsNodeClient> gcs_events_;
  std::string events_incarnation_;
  uint64_t events_after_ = 0;
  std::string address_;
  std::string id_prefix_;
  std::atomic<uint64_t> next_object_ = 1;
  std::atomic<int64_t> tasks_submitted_ = 0;
  std::unique_ptr<PendingTaskLimit> pending_tasks_;
  std::mutex blocked_mutex_;
  int blocked_waits_ = 0;
  std::unique_ptr<rpc::NodeAgentService::Stub> node_stub_;  // workers: their node agent
  std::mutex borrow_mutex_;
  std::unordered_map<std::string, std::string> borrowed_owner_;  // borrowed object -> its owner's address
  std::unordered_set<std::string> escaped_;                     // owned objects pinned for borrowers
  std::mutex actor_handles_mutex_;
  std::unordered_map<std::string, int> actor_handles_;       // actor id -> handles in this process
  std::unordered_set<std::string> collectable_actors_;       // created here, unnamed, non-detached, not escaped
  std::atomic<bool> shut_down_ = false;
};

template <typename T>
StatusOr<T> CoreWorker::AwaitOnExecutor(std::function<void(std::function<void(StatusOr<T>)>)> start,
                                        int64_t bound_ms) {
  HALO_CHECK(!executor_.InLoopThread()) << "the runtime's executor thread waited for itself";
  if (shut_down_) return UnavailableError("halo::Shutdown was called");
  auto result = std::make_shared<std::promise<StatusOr<T>>>();
  std::future<StatusOr<T>> future = result->get_future();
  executor_.Post([start = std::move(start), result]() mutable {
    start([result](StatusOr<T> value) { result->set_value(std::move(value)); });
  });
  // Bounded: the work has deadlines of its own; this only guards against an executor stopped under it.
  if (future.wait_for(std::chrono::milliseconds(bound_ms)) != std::future_status::ready) {
    return DeadlineExceededError(absl::StrCat("no answer within ", bound_ms, " ms",
                                              shut_down_ ? " (halo::Shutdown was called)" : ""));
  }
  try {
    return future.get();
  } catch (const std::future_error&) {  // the executor dropped the work (shutdown)
    return UnavailableError("halo::Shutdown was called");
  }
}

}  // namespace halo::core
