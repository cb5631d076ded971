#include "core/core_worker.h"

#include <unistd.h>

#include <algorithm>
#include <future>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/random.h"
#include "core/core_worker_service.h"
#include "halo/errors.h"
#include "health/health_service.h"
#include "proto/health.grpc.pb.h"
#include "rpc/async_call.h"
#include "rpc/gcs_client.h"
#include "rpc/cluster_channel.h"

namespace halo::core {

CoreWorker::CoreWorker(CoreWorkerOptions options) : options_(std::move(options)) {
  SystemRandom random;
  id_prefix_ = random.HexId(8);
}

CoreWorker::~CoreWorker() = default;

StatusOr<std::unique_ptr<CoreWorker>> CoreWorker::Start(CoreWorkerOptions options) {
  std::unique_ptr<CoreWorker> worker(new CoreWorker(std::move(options)));
  const Settings& s = worker->options_.settings;
  if (worker->options_.is_driver) HALO_RETURN_IF_ERROR(worker->ChooseNode());
  worker->object_access_ = std::make_unique<NodeObjectAccess>(
      worker->options_.node_id, worker->options_.node_address, s.object_chunk_bytes, s.object_inline_max_bytes,
      s.rpc_timeout_ms);
  if (!worker->options_.is_driver) {
    const std::string where =
        absl::StrCat("node ", worker->options_.node_id, ", worker ", worker->options_.worker_id, ", pid ", getpid());
    worker->task_executor_ = std::make_unique<TaskExecutor>(where, worker->object_access_.get());
    if (!worker->options_.lease_file.empty()) {
      auto guard = WorkerLeaseGuard::Open(worker->options_.lease_file, std::max<int64_t>(1, s.worker_lease_ms / 8));
      if (!guard.ok()) return guard.status();
      worker->lease_guard_ = *std::move(guard);
      // Started just before its node's first grant, it waits briefly; after its node stopped renewing, it
      // never serves.
      worker->lease_guard_->WaitValid(s.worker_lease_ms);
      worker->lease_guard_->CheckOrExit();
      worker->lease_guard_->StartWatchdog();
      worker->task_executor_->SetGate([guard = worker->lease_guard_.get()] { guard->CheckOrExit(); });
    }
    ActorHost::Hooks hooks;
    CoreWorker* raw = worker.get();
    hooks.report_exit = [raw](const rpc::ActorInfo& actor, const std::string& message) {
      Status reported = raw->AwaitGcs([&actor, &message](GcsActorClient& gcs, std::function<void(Status)> done) {
        gcs.ReportActorExit(actor.actor_id(), actor.num_restarts(), message, std::move(done));
      });
      if (!reported.ok()) {
        HALO_LOG_WARN("could not tell the GCS that actor {} exits: {}", actor.actor_id(),
                      std::string(reported.message()));
      }
    };
    hooks.exit_process = [raw] { raw->ExitProcess(); };
    hooks.on_created = [raw](const rpc::ActorInfo& actor) {
      if (!actor.detached()) return;
      raw->hosts_detached_actor_ = true;
      raw->executor_.Post([raw] {
        if (raw->driver_watch_) raw->driver_watch_->RemoveNode("driver");
      });
    };
    worker->actor_host_ = std::make_unique<ActorHost>(*worker->task_executor_, worker->executor_,
                                                      worker->object_access_.get(), where, std::move(hooks));
  }
  HALO_RETURN_IF_ERROR(worker->Serve());
  if (worker->options_.is_driver) {
    HALO_RETURN_IF_ERROR(worker->RegisterDriver());
  } else {
    HALO_RETURN_IF_ERROR(worker->RegisterWorker());
  }
  worker->object_access_->set_job(worker->options_.job_id, worker->options_.driver_address);
  worker->clients_ = MakeGrpcCoreRpcClients(worker->executor_);
  worker->objects_.SetFreeListener(
      [raw = worker.get()](const std::string& id, const std::vector<rpc::ObjectLocation>& copies,
                           const std::optional<rpc::TaskSpec>& lineage) { raw->OnFreed(id, copies, lineage); });
  worker->pending_tasks_ = std::make_unique<PendingTaskLimit>(s.task_pending_per_shape_max);
  SubmitterSettings submitter;
  submitter.local_node_address = worker->options_.node_address;
  submitter.job_id = worker->options_.job_id;
  submitter.executable_sha256 = worker->options_.executable_sha256;
  submitter.driver_address = worker->options_.driver_address;
  submitter.lessee_address = worker->address_;
  submitter.batch_max = s.task_batch_max;
  submitter.batches_in_flight_max = s.task_batches_in_flight_max;
  submitter.lease_requests_in_flight_max = s.lease_requests_in_flight_max;
  submitter.lease_idle_ms = s.worker_lease_idle_ms;
  submitter.node_unreachable_timeout_ms = s.node_unreachable_timeout_ms;
  submitter.retry_initial_ms = s.gcs_retry_initial_ms;
  submitter.retry_max_ms = s.gcs_retry_max_ms;
  submitter.rpc_timeout_ms = s.rpc_timeout_ms;
  submitter.inline_max_bytes = s.object_inline_max_bytes;
  worker->submitter_ = std::make_unique<TaskSubmitter>(worker->executor_, worker->clock_, worker->objects_,
                                                       *worker->clients_, submitter);
  ActorSubmitterSettings actor_calls;
  actor_calls.caller_id = worker->id_prefix_;
  actor_calls.gcs_address = worker->options_.gcs_address;
  actor_calls.batch_max = s.task_batch_max;
  actor_calls.batches_in_flight_max = s.task_batches_in_flight_max;
  actor_calls.poll_wait_ms = s.pubsub_poll_wait_ms;
  actor_calls.retry_initial_ms = s.gcs_retry_initial_ms;
  actor_calls.retry_max_ms = s.gcs_retry_max_ms;
  actor_calls.inline_max_bytes = s.object_inline_max_bytes;
  worker->actor_submitter_ =
      std::make_unique<ActorSubmitter>(worker->executor_, worker->objects_, *worker->clients_, actor_calls);
  GcsActorClientSettings directory;
  directory.gcs_address = worker->options_.gcs_address;
  directory.wait_timeout_ms = s.gcs_wait_timeout_ms;
  directory.rpc_timeout_ms = s.rpc_timeout_ms;
  directory.retry_initial_ms = s.gcs_retry_initial_ms;
  directory.retry_max_ms = s.gcs_retry_max_ms;
  worker->gcs_actors_ =
      std::make_unique<GcsActorClient>(worker->executor_, worker->clock_, *worker->clients_, directory);
  worker->submitter_->SetRebuildListener(
      [raw = worker.get()](const std::string& object_id, const rpc::TaskSpec& spec, const std::string& why) {
        raw->OnObjectRebuilt(object_id, spec, why);
      });
  worker->executor_.RunInThread();
  worker->gcs_events_ = MakeGrpcGcsNodeClient(worker->options_.gcs_address, worker->executor_);
  worker->executor_.Post([raw = worker.get()] { raw->FollowNodeEvents(); });
  worker->executor_.Post([raw = worker.get()] { raw->ReportCounters(); });
  return worker;
}

Status CoreWorker::Serve() {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  rpc::ApplyServerBounds(builder, options_.settings, /*bound_memory=*/false);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options_.settings.rpc_receive_message_max_bytes));
  builder.SetMaxSendMessageSize(-1);
  builder.AddListeningPort(absl::StrCat(options_.settings.host, ":0"), rpc::ClusterServerCredentials(), &port);
  service_ = std::make_unique<CoreWorkerServiceImpl>(objects_, executor_, task_executor_.get(), actor_host_.get(),
                                                     options_.is_driver ? options_.executable_path : "",
                                                     options_.executable_sha256);
  builder.RegisterService(service_.get());
  health_ = std::make_unique<health::HealthServiceImpl>();
  builder.RegisterService(health_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    return UnavailableError(absl::StrCat("cannot serve on ", options_.settings.host, ":0"));
  }
  address_ = absl::StrCat(
      options_.settings.advertise_host.empty() ? options_.settings.host : options_.settings.advertise_host, ":", port);
  if (options_.is_driver) options_.driver_address = address_;
  return OkStatus();
}

Status CoreWorker::ChooseNode() {
  GcsClient gcs(options_.gcs_address, options_.settings.rpc_timeout_ms);
  auto nodes = gcs.GetAllNodes();
  if (!nodes.ok()) return nodes.status();  // names the GCS address already
  const rpc::NodeInfo* chosen = nullptr;
  for (const auto& node : *nodes) {
    if (node.state() != rpc::ALIVE) continue;
    if (!options_.node_address.empty()) {
      if (node.address() == options_.node_address) chosen = &node;
      continue;
    }
    if (chosen == nullptr || (node.is_head() && !chosen->is_head())) chosen = &node;
  }
  if (chosen == nullptr) {
    return UnavailableError(options_.node_address.empty()
                                ? absl::StrCat("the cluster at ", options_.gcs_address, " has no live node")
                                : absl::StrCat("no live node serves at ", options_.node_address));
  }
  options_.node_address = chosen->address();
  options_.node_id = chosen->node_id();
  return OkStatus();
}

Status CoreWorker::RegisterDriver() {
  GcsClient gcs(options_.gcs_address, options_.settings.rpc_timeout_ms);
  auto job = gcs.AddJob(options_.entrypoint, getpid(), address_);
  if (!job.ok()) {
    return UnavailableError(absl::StrCat("cannot register the job with the GCS at ", options_.gcs_address, ": ",
                                         job.status().message()));
  }
  options_.job_id = job->job_id();
  return OkStatus();
}

Status CoreWorker::RegisterWorker() {
  node_stub_ = rpc::NodeAgentService::NewStub(
      rpc::NewClusterChannel(options_.node_address));
  grpc::ClientContext context;
  rpc_util::SetDeadline(context, options_.settings.rpc_timeout_ms);
  rpc::RegisterWorkerRequest request;
  request.set_worker_id(options_.worker_id);
  request.set_address(address_);
  request.set_pid(getpid());
  rpc::RegisterWorkerReply reply;
  grpc::Status status = node_stub_->RegisterWorker(&context, request, &reply);
  if (!status.ok()) {
    return UnavailableError(absl::StrCat("cannot register with the node agent at ", options_.node_address, ": ",
                                         status.error_message()));
  }
  return OkStatus();
}

void CoreWorker::FollowNodeEvents() {
  if (shut_down_) return;
  rpc::PollNodeEventsRequest request;
  request.set_subscriber_id(absl::StrCat("core-", id_prefix_));
  request.set_incarnation(events_incarnation_);
  request.set_after_sequence(events_after_);
  request.set_wait_ms(options_.settings.pubsub_poll_wait_ms);
  gcs_events_->AsyncPoll(request, options_.settings.pubsub_poll_wait_ms + options_.settings.rpc_timeout_ms,
                         [this](StatusOr<rpc::PollNodeEventsReply> reply) {
                           if (shut_down_) return;
                           if (!reply.ok()) {
                             executor_.RunAfter(options_.settings.gcs_retry_max_ms, [this] { FollowNodeEvents(); });
                             return;
                           }
                           events_incarnation_ = reply->incarnation();
                           events_after_ = reply->last_sequence();
                           for (const auto& node : reply->nodes()) {
                             if (node.state() == rpc::DEAD) submitter_->OnNodeDead(node.node_id());
                           }
                           for (const auto& event : reply->events()) {
                             if (event.node().state() == rpc::DEAD) submitter_->OnNodeDead(event.node().node_id());
                           }
                           FollowNodeEvents();
                         });
}

std::string CoreWorker::NewObjectId() {
  return absl::StrCat(id_prefix_, absl::Hex(next_object_.fetch_add(1), absl::kZeroPad12));
}

std::string CoreWorker::SubmitTask(const std::string& function_name, std::vector<internal::TaskArgument> args,
                                   const internal::TaskOptions& options) {
  std::map<std::string, double> resources;
  if (options.resources.empty()) {
    resources["CPU"] = 1;
  } else {
    for (const auto& [name, amount] : options.resources) {
      if (amount > 0) resources[name] = amount;
    }
  }
  const std::string shape = ShapeKey(resources);
  if (!pending_tasks_->TryTake(shape)) {
    throw PendingTasksLimitExceeded(absl::StrCat("this process already has ", pending_tasks_->per_shape_max(),
                                                 " unfinished tasks needing {", shape,
                                                 "} (task_pending_per_shape_max); ", function_name,
                                                 " was not submitted"));
  }
  const std::string id = NewObjectId();
  tasks_submitted_.fetch_add(1);
  objects_.AddPending(id);
  objects_.WhenComplete(id, [limit = pending_tasks_.get(), shape](const ObjectLookup&) { limit->Give(shape); });
  rpc::TaskSpec spec;
  spec.set_task_id(id);
  spec.set_job_id(options_.job_id);
  spec.set_function_name(function_name);
  spec.set_owner_address(address_);
  spec.set_max_retries(options.max_retries);
  spec.set_retry_exceptions(options.retry_exceptions);
  spec.set_name(options.name);
  for (const auto& [name, amount] : resources) (*spec.mutable_resources())[name] = amount;
  for (auto& arg : args) {
    rpc::TaskArg* out = spec.add_args();
    if (arg.is_ref) {
      objects_.AddReference(arg.object_id);  // held until the submitter has the value
      out->mutable_ref()->set_object_id(arg.object_id);
      out->mutable_ref()->set_owner_address(address_);
    } else {
      out->set_value(std::move(arg.value));
    }
  }
  executor_.Post([this, spec = std::move(spec)]() mutable { submitter_->Submit(std::move(spec)); });
  return id;
}

std::string CoreWorker::Put(std::string value) {
  const std::string id = NewObjectId();
  if (value.size() <= object_access_->inline_max_bytes()) {
    objects_.AddReady(id, std::make_shared<const std::string>(std::move(value)));
    return id;
  }
  // Large: the only copy goes to the local node's store (lost with that node: Put objects have no lineage).
  auto location = object_access_->Store(id, value);
  if (!location.ok()) {
    throw RuntimeError(absl::StrCat("halo::Put: the local node's object store refused ", value.size(),
                                    " bytes: ", location.status().message()));
  }
  objects_.AddStored(id, std::move(*location));
  return id;
}

class CoreWorker::BlockedScope {
 public:
  BlockedScope(CoreWorker& worker, const std::vector<std::string>& ids) : worker_(worker) {
    active_ = !worker_.options_.is_driver && !worker_.objects_.AllComplete(ids);
    if (active_) worker_.SetBlocked(true);
  }
  ~BlockedScope() {
    if (active_) worker_.SetBlocked(false);
  }

 private:
  CoreWorker& worker_;
  bool active_ = false;
};

void CoreWorker::SetBlocked(bool blocked) {
  std::lock_guard<std::mutex> lock(blocked_mutex_);
  blocked_waits_ += blocked ? 1 : -1;
  if (blocked ? blocked_waits_ != 1 : blocked_waits_ != 0) return;
  grpc::ClientContext context;
  rpc_util::SetDeadline(context, options_.settings.rpc_timeout_ms);
  rpc::NotifyWorkerBlockedRequest request;
  request.set_worker_id(options_.worker_id);
  request.set_blocked(blocked);
  rpc::NotifyWorkerBlockedReply reply;
  (void)node_stub_->NotifyWorkerBlocked(&context, request, &reply);  // best effort: only a loan of CPUs
}

std::vector<internal::ObjectResult> CoreWorker::Get(const std::vector<std::string>& object_ids, int64_t timeout_ms) {
  BlockedScope blocked(*this, object_ids);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // Each round fetches stored values; a copy that cannot be fetched is rebuilt and the next round waits for it.
  // Bounded: every rebuild spends one of its task's retries.
  const int64_t rounds_max = options_.settings.object_get_rounds_max;
  std::vector<internal::ObjectResult> results(object_ids.size());
  std::vector<size_t> open(object_ids.size());
  for (size_t i = 0; i < open.size(); ++i) open[i] = i;
  for (int64_t round = 0; round < rounds_max && !open.empty(); ++round) {
    int64_t remaining = -1;
    if (timeout_ms >= 0) {
      remaining = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                           deadline - std::chrono::steady_clock::now())
                                           .count());
    }
    std::vector<std::string> ids;
    for (size_t i : open) ids.push_back(object_ids[i]);
    std::vector<ObjectLookup> lookups = objects_.Get(ids, remaining);
    std::vector<size_t> again;
    for (size_t k = 0; k < open.size(); ++k) {
      ObjectLookup& lookup = lookups[k];
      if (!lookup.stored()) {
        results[open[k]] = std::move(lookup.result);
        continue;
      }
      rpc::ObjectRefInfo ref;
      ref.set_object_id(ids[k]);
      for (const auto& location : lookup.locations) *ref.add_locations() = location;
      auto value = object_access_->Fetch(ref);
      if (value.ok()) {
        auto shared = std::make_shared<const std::string>(std::move(*value));
        objects_.CacheValue(ids[k], shared);
        results[open[k]].value = std::move(shared);
        continue;
      }
      if (shut_down_) {
        results[open[k]].error = internal::ErrorInfo{internal::ErrorInfo::Kind::kRuntime, "",
                                                     "halo::Shutdown was called", ""};
        continue;
      }
      // Pending again before the next round looks (so it waits for the rerun rather than refetching); the
      // rerun itself runs on the executor. Shutdown fails whatever is still pending.
      const std::string why(value.status().message());
      if (std::optional<rpc::TaskSpec> lineage = submitter_->ResetLost(ids[k], why)) {
        executor_.Post([this, id = ids[k], why, lineage = std::move(*lineage)]() mutable {
          submitter_->Rerun(id, std::move(lineage), why);
        });
      }
      again.push_back(open[k]);
    }
    open = std::move(again);
  }
  for (size_t i : open) {
    results[i].error = internal::ErrorInfo{internal::ErrorInfo::Kind::kObjectLost, "",
                                           "object " + object_ids[i] + " could not be fetched or rebuilt", ""};
  }
  return results;
}

void CoreWorker::OnFreed(const std::string& id, const std::vector<rpc::ObjectLocation>& copies,
                         const std::optional<rpc::TaskSpec>& lineage) {
  for (const auto& copy : copies) clients_->FreeObjects(copy.node_address(), {id});
  if (!lineage) return;
  for (const auto& arg : lineage->args()) {
    if (arg.has_ref()) objects_.RemoveReference(arg.ref().object_id());
  }
}

std::vector<bool> CoreWorker::Wait(const std::vector<std::string>& object_ids, int num_ready, int64_t timeout_ms) {
  BlockedScope blocked(*this, object_ids);
  return objects_.Wait(object_ids, static_cast<size_t>(num_ready), timeout_ms);
}

std::string CoreWorker::EscapeReference(const std::string& object_id) {
  std::lock_guard<std::mutex> lock(borrow_mutex_);
  auto borrowed = borrowed_owner_.find(object_id);
  if (borrowed != borrowed_owner_.end()) return borrowed->second;
  // Borrowers are not tracked: an object that left this process inside a value stays while this process does.
  if (escaped_.insert(object_id).second) objects_.AddReference(object_id);
  return address_;
}

void CoreWorker::AddBorrowedReference(const std::string& object_id, const std::string& owner_address) {
  if (owner_address == address_ || owner_address.empty()) {
    objects_.AddReference(object_id);  // one of ours came back
    return;
  }
  {
    std::lock_guard<std::mutex> lock(borrow_mutex_);
    borrowed_owner_.emplace(object_id, owner_address);
  }
  if (objects_.AddBorrowed(object_id)) {
    executor_.Post([this, object_id, owner_address] { PollOwner(object_id, owner_address, 0); });
  }
}

void CoreWorker::PollOwner(const std::string& object_id, const std::string& owner_address, int failures) {
  const int64_t failures_max = options_.settings.owner_unreachable_polls_max;
  if (shut_down_) return;
  clients_->GetObject(
      owner_address, object_id, options_.settings.pubsub_poll_wait_ms, options_.settings.rpc_timeout_ms,
      [this, object_id, owner_address, failures, failures_max](StatusOr<rpc::GetObjectReply> reply) {
        using Kind = internal::ErrorInfo::Kind;
        if (!reply.ok()) {
          // A few tries with backoff: one refused connection may be a blip, several mean the owner is gone.
          if (failures + 1 < failures_max) {
            executor_.RunAfter(options_.settings.gcs_retry_initial_ms << std::min(failures, 10),
                               [this, object_id, owner_address, failures] {
                                 PollOwner(object_id, owner_address, failures + 1);
                               });
            return;
          }
          objects_.Fail(object_id, internal::ErrorInfo{Kind::kOwnerDied, "",
                                                       absl::StrCat("the owner of object ", object_id, " at ",
                                                                    owner_address, " is gone: ",
                                                                    reply.status().message()),
                                                       ""});
          return;
        }
        switch (reply->state()) {
          case rpc::GetObjectReply::PENDING:
            PollOwner(object_id, owner_address, 0);
            return;
          case rpc::GetObjectReply::READY:
            objects_.Complete(object_id, std::make_shared<const std::string>(reply->value()));
            return;
          case rpc::GetObjectReply::STORED:
            objects_.CompleteWithCopies(object_id, {reply->locations().begin(), reply->locations().end()});
            return;
          case rpc::GetObjectReply::FAILED:
            objects_.Fail(object_id, ToErrorInfo(reply->error()));
            return;
          default:
            objects_.Fail(object_id, internal::ErrorInfo{Kind::kObjectLost, "",
                                                         absl::StrCat("the owner of object ", object_id, " at ",
                                                                      owner_address, " no longer holds it"),
                                                         ""});
        }
      });
}

void CoreWorker::ReportCounters() {
  const internal::RuntimeCounters now = Counters();
  const bool changed = now.tasks_submitted != reported_.tasks_submitted || now.task_failures != reported_.task_failures ||
                       now.tasks_retried != reported_.tasks_retried || now.objects_rebuilt != reported_.objects_rebuilt ||
                       now.objects_lost != reported_.objects_lost ||
                       now.rebuilds_completed != reported_.rebuilds_completed;
  if (changed && !reporting_counters_) {
    rpc::ReportRuntimeCountersRequest request = CountersRequest(now);
    reporting_counters_ = true;  // one report at a time: a GCS that does not answer is not sent a queue of them
    gcs_actors_->ReportRuntimeCounters(request, [this, now](Status status) {
      reporting_counters_ = false;
      if (status.ok()) reported_ = now;
    });
  }
  executor_.RunAfter(options_.settings.runtime_counters_report_interval_ms, [this] { ReportCounters(); });
}

void CoreWorker::OnObjectRebuilt(const std::string& object_id, const rpc::TaskSpec& spec, const std::string& why) {
  RebuildReport& report = rebuild_report_;
  if (report.count == 0) {
    report.first_object = object_id;
    report.first_function = spec.function_name();
    report.first_why = why;
  }
  report.count += 1;
  if (report.flush_armed) return;
  report.flush_armed = true;
  executor_.RunAfter(options_.settings.objects_rebuilt_event_interval_ms, [this] {
    std::optional<rpc::ClusterEvent> event = TakeRebuildEvent();
    if (!event) return;  // taken by Shutdown
    gcs_actors_->RecordEvent(*event, [](Status status) {
      if (!status.ok()) {
        SPDLOG_WARN("could not record rebuilt objects in the cluster event log: {}", std::string(status.message()));
      }
    });
  });
}

std::optional<rpc::ClusterEvent> CoreWorker::TakeRebuildEvent() {
  RebuildReport done = std::move(rebuild_report_);
  rebuild_report_ = RebuildReport{};
  if (done.count == 0) return std::nullopt;
  rpc::ClusterEvent event;
  event.set_kind(rpc::EVENT_OBJECTS_REBUILT);
  event.set_message(absl::StrCat("the process at ", address_, " (job ", options_.job_id, ") is rebuilding ",
                                 done.count, " lost object(s) from their lineage, the first ", done.first_object,
                                 " by rerunning ", done.first_function, " (", done.first_why, ")"));
  event.set_job_id(options_.job_id);
  event.set_reporter(address_);
  return event;
}

rpc::ReportRuntimeCountersRequest CoreWorker::CountersRequest(const internal::RuntimeCounters& now) const {
  rpc::ReportRuntimeCountersRequest request;
  request.set_reporter(id_prefix_);
  request.set_job_id(options_.job_id);
  rpc::RuntimeCounters& counters = *request.mutable_counters();
  counters.set_tasks_submitted(now.tasks_submitted);
  counters.set_task_failures(now.task_failures);
  counters.set_tasks_retried(now.tasks_retried);
  counters.set_objects_rebuilt(now.objects_rebuilt);
  counters.set_objects_lost(now.objects_lost);
  counters.set_rebuilds_completed(now.rebuilds_completed);
  counters.set_rebuild_ms_total(now.rebuild_ms_total);
  return request;
}

void CoreWorker::AddLocalReference(const std::string& object_id) { objects_.AddReference(object_id); }
void CoreWorker::RemoveLocalReference(const std::string& object_id) { objects_.RemoveReference(object_id); }

internal::RuntimeCounters CoreWorker::Counters() const {
  internal::RuntimeCounters counters;
  counters.tasks_submitted = tasks_submitted_.load();
  counters.task_failures = submitter_->failures();
  counters.tasks_retried = submitter_->retries();
  counters.objects_rebuilt = submitter_->rebuilds();
  counters.objects_lost = submitter_->objects_lost();
  counters.rebuilds_completed = submitter_->rebuilds_completed();
  counters.rebuild_ms_total = submitter_->rebuild_ms_total();
  return counters;
}

void CoreWorker::RunTasks() {
  if (!options_.driver_address.empty()) executor_.Post([this] { WatchDriver(); });
  task_executor_->Run();
}

// A worker belongs to its job: once the driver is gone for good, the worker leaves (its node frees its lease).
// A worker hosting a detached actor outlives its job.
class CoreWorker::DriverGone : public health::HealthCheckListener {
 public:
  explicit DriverGone(CoreWorker& worker) : worker_(worker) {}
  void OnNodeSuspected(const std::string&) override {}
  void OnNodeRecovered(const std::string&) override {}
  void OnNodeFailed(const std::string&) override {
    if (worker_.shut_down_ || worker_.hosts_detached_actor_) return;
    HALO_LOG_INFO("the driver of job {} at {} is gone; this worker exits", worker_.options_.job_id,
                  worker_.options_.driver_address);
    spdlog::default_logger()->flush();
    _exit(0);
  }

 private:
  CoreWorker& worker_;
};

void CoreWorker::WatchDriver() {
  const Settings& s = options_.settings;
  health::HealthCheckSettings checks;
  checks.initial_delay_ms = s.worker_driver_check_period_ms;
  checks.period_ms = s.worker_driver_check_period_ms;
  checks.timeout_ms = s.worker_driver_check_period_ms;
  checks.failure_threshold = s.health_check_failure_threshold;
  driver_prober_ = std::make_unique<health::GrpcHealthProber>(executor_);
  driver_gone_ = std::make_unique<DriverGone>(*this);
  driver_watch_ = std::make_unique<health::HealthCheckManager>(executor_, *driver_prober_, *driver_gone_, checks);
  driver_watch_->AddNode("driver", options_.driver_address);
}

void CoreWorker::Shutdown() {
  if (shut_down_.exchange(true)) return;
  std::promise<void> drained;
  std::optional<rpc::ClusterEvent> rebuilt;  // not reported yet
  executor_.Post([this, &drained, &rebuilt] {
    submitter_->FailAll("halo::Shutdown was called");
    actor_submitter_->FailAll("halo::Shutdown was called");
    rebuilt = TakeRebuildEvent();
    drained.set_value();
  });
  drained.get_future().wait();
  if (options_.is_driver) {
    GcsClient gcs(options_.gcs_address, options_.settings.rpc_timeout_ms);
    // What the periodic reports have not said yet: the last interval's counters and rebuilt objects.
    if (rebuilt) {
      Status recorded = gcs.RecordEvent(*rebuilt);
      if (!recorded.ok()) HALO_LOG_WARN("could not record rebuilt objects: {}", std::string(recorded.message()));
    }
    Status reported = gcs.ReportRuntimeCounters(CountersRequest(Counters()));
    if (!reported.ok()) HALO_LOG_WARN("could not report the task counters: {}", std::string(reported.message()));
    Status finished = gcs.MarkJobFinished(options_.job_id);
    if (!finished.ok()) HALO_LOG_WARN("could not mark job {} finished: {}", options_.job_id, std::string(finished.message()));
  }
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  executor_.Stop();
  // Whatever became pending after the submitters failed their work (a rebuild racing Shutdown) fails too.
  objects_.FailIncomplete(internal::ErrorInfo{internal::ErrorInfo::Kind::kRuntime, "", "halo::Shutdown was called", ""});
  gcs_events_.reset();
}

}  // namespace halo::core
