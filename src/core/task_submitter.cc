#include "core/task_submitter.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/logging.h"

namespace halo::core {

std::string ShapeKey(const std::map<std::string, double>& resources) {
  std::string key;
  for (const auto& [name, amount] : resources) {
    if (!key.empty()) key += ",";
    absl::StrAppend(&key, name, "=", amount);
  }
  return key;
}

internal::ErrorInfo::Kind ToErrorKind(rpc::ErrorKind kind) {
  using Kind = internal::ErrorInfo::Kind;
  switch (kind) {
    case rpc::TASK_EXCEPTION: return Kind::kTaskException;
    case rpc::WORKER_CRASHED: return Kind::kWorkerCrashed;
    case rpc::NODE_DIED: return Kind::kNodeDied;
    case rpc::OBJECT_LOST: return Kind::kObjectLost;
    case rpc::OWNER_DIED: return Kind::kOwnerDied;
    case rpc::RECONSTRUCTION_FAILED: return Kind::kReconstructionFailed;
    case rpc::TASK_UNSCHEDULABLE: return Kind::kTaskUnschedulable;
    case rpc::ACTOR_DIED: return Kind::kActorDied;
    case rpc::ACTOR_UNAVAILABLE: return Kind::kActorUnavailable;
    default: return Kind::kRuntime;
  }
}

internal::ErrorInfo ToErrorInfo(const rpc::TaskError& error) {
  return internal::ErrorInfo{ToErrorKind(error.kind()), error.type_name(), error.message(), error.where()};
}

rpc::ErrorKind ToRpcErrorKind(internal::ErrorInfo::Kind kind) {
  using Kind = internal::ErrorInfo::Kind;
  switch (kind) {
    case Kind::kTaskException: return rpc::TASK_EXCEPTION;
    case Kind::kWorkerCrashed: return rpc::WORKER_CRASHED;
    case Kind::kNodeDied: return rpc::NODE_DIED;
    case Kind::kObjectLost: return rpc::OBJECT_LOST;
    case Kind::kOwnerDied: return rpc::OWNER_DIED;
    case Kind::kReconstructionFailed: return rpc::RECONSTRUCTION_FAILED;
    case Kind::kTaskUnschedulable: return rpc::TASK_UNSCHEDULABLE;
    case Kind::kActorDied: return rpc::ACTOR_DIED;
    case Kind::kActorUnavailable: return rpc::ACTOR_UNAVAILABLE;
    default: return rpc::ERROR_KIND_UNSPECIFIED;
  }
}

TaskSubmitter::TaskSubmitter(Executor& executor, Clock& clock, ObjectTable& objects, CoreRpcClients& clients,
                             SubmitterSettings settings)
    : executor_(executor),
      clock_(clock),
      objects_(objects),
      clients_(clients),
      settings_(std::move(settings)),
      backoff_(settings_.retry_initial_ms, settings_.retry_max_ms),
      pins_(objects) {}

size_t TaskSubmitter::leases() const {
  size_t count = 0;
  for (const auto& [key, shape] : shapes_) count += shape.leases.size();
  return count;
}

void TaskSubmitter::Submit(rpc::TaskSpec spec) {
  HALO_DCHECK(!objects_.AllComplete({spec.task_id()})) << "task " << spec.task_id() << "'s result is not pending";
  pins_.Adopt(spec);
  Resolve(std::move(spec));
}

void TaskSubmitter::Resolve(rpc::TaskSpec spec) {
  const std::vector<std::pair<int, std::string>> refs = RefArguments(spec);
  if (refs.empty()) {
    Enqueue(std::move(spec));
    return;
  }
  const std::string task_id = spec.task_id();
  Resolving& resolving = resolving_[task_id];
  resolving.spec = std::move(spec);
  resolving.unresolved = static_cast<int>(refs.size());
  resolving.failed.reset();
  WatchArguments(objects_, executor_, refs, [this, task_id](int index, const ObjectLookup& lookup) {
    OnArgumentReady(task_id, index, lookup);
  });
}

void TaskSubmitter::OnArgumentReady(const std::string& task_id, int index, const ObjectLookup& lookup) {
  auto it = resolving_.find(task_id);
  if (it == resolving_.end()) return;
  Resolving& resolving = it->second;
  std::optional<internal::ErrorInfo> argument_failed =
      ResolveArgument(resolving.spec.mutable_args(index), lookup, settings_.inline_max_bytes);
  if (argument_failed && !resolving.failed) resolving.failed = std::move(argument_failed);
  if (--resolving.unresolved > 0) return;
  rpc::TaskSpec spec = std::move(resolving.spec);
  std::optional<internal::ErrorInfo> failed = std::move(resolving.failed);
  resolving_.erase(it);
  if (failed) {
    // A failed dependency fails the task the same way, so Get names the root cause.
    objects_.Fail(spec.task_id(), *failed);
    ReleasePins(spec.task_id());
    charged_node_loss_.erase(spec.task_id());
    return;
  }
  Enqueue(std::move(spec));
}

void TaskSubmitter::Rebuild(const std::string& object_id, const std::string& why) {
  if (std::optional<rpc::TaskSpec> lineage = ResetLost(object_id, why)) Rerun(object_id, std::move(*lineage), why);
}

std::optional<rpc::TaskSpec> TaskSubmitter::ResetLost(const std::string& object_id, const std::string& why) {
  std::string not_rebuildable;
  std::optional<rpc::TaskSpec> lineage = objects_.ResetForRebuild(object_id, &not_rebuildable);
  if (!lineage && !not_rebuildable.empty()) {
    objects_lost_ += 1;
    objects_.MarkLost(object_id, internal::ErrorInfo{internal::ErrorInfo::Kind::kObjectLost, "",
                                                     "object " + object_id + " is lost and cannot be rebuilt (" +
                                                         not_rebuildable + "): " + why,
                                                     ""});
  }
  return lineage;
}

void TaskSubmitter::Rerun(const std::string& object_id, rpc::TaskSpec spec, const std::string& why) {
  pins_.Adopt(spec);  // the lineage's references pass to the rerun
  if (spec.max_retries() >= 0 && spec.attempt() >= spec.max_retries()) {
    objects_lost_ += 1;
    objects_.Fail(object_id, internal::ErrorInfo{
                                 internal::ErrorInfo::Kind::kReconstructionFailed, "",
                                 absl::StrCat("object ", object_id, " was lost (", why, ") and cannot be rebuilt: ",
                                              "its task ", spec.function_name(), " already ran ", spec.attempt() + 1,
                                              " time(s), max_retries=", spec.max_retries()),
                                 ""});
    ReleasePins(spec.task_id());
    return;
  }
  SPDLOG_INFO("rebuilding object {} from its lineage ({}): rerunning {}", object_id, why, spec.function_name());
  spec.set_attempt(spec.attempt() + 1);
  rebuilds_ += 1;
  rebuilding_since_ms_.emplace(spec.task_id(), clock_.MonotonicMs());  // the first rerun's start counts
  if (on_rebuild_) on_rebuild_(object_id, spec, why);
  Resolve(std::move(spec));
}

void TaskSubmitter::Enqueue(rpc::TaskSpec spec) {
  std::map<std::string, double> resources(spec.resources().begin(), spec.resources().end());
  const std::string key = ShapeKey(resources);
  Shape& shape = shapes_[key];
  if (shape.key.empty()) {
    shape.key = key;
    shape.resources = std::move(resources);
  }
  shape.queue.push_back(std::move(spec));
  Pump(shape);
}

void TaskSubmitter::Pump(Shape& shape) {
  for (auto& [lease_id, lease] : shape.leases) {
    while (!shape.queue.empty() && !lease.node_suspect) {
      // Long (or not yet measured) tasks go one call at a time per worker, so queued work stays free for
      // workers that finish first; short ones may have calls queued behind the running one.
      const int64_t in_flight_max =
          run_times_.InFlightMax(shape.queue.front().function_name(), settings_.batches_in_flight_max);
      if (lease.batches_in_flight >= in_flight_max) break;
      SendBatch(shape, lease);
    }
  }
  // Ask for more workers while queued work exceeds what outstanding requests could take.
  const int64_t wanted = std::min<int64_t>(static_cast<int64_t>(shape.queue.size()),
                                           settings_.lease_requests_in_flight_max);
  while (shape.lease_requests_in_flight < wanted && !shape.retry_scheduled) {
    RequestLease(shape, settings_.local_node_address, /*spilled=*/false);
  }
  // Idle leases go back to their node after lease_idle_ms.
  std::vector<std::string> to_return;
  for (auto& [lease_id, lease] : shape.leases) {
    if (lease.node_suspect && lease.batches_in_flight == 0) {
      to_return.push_back(lease_id);
      continue;
    }
    if (lease.batches_in_flight > 0 || !shape.queue.empty() || lease.idle_timer) continue;
    if (settings_.lease_idle_ms == 0) {
      to_return.push_back(lease_id);
      continue;
    }
    lease.idle_timer = executor_.RunAfter(settings_.lease_idle_ms, [this, key = shape.key, id = lease_id] {
      auto shape_it = shapes_.find(key);
      if (shape_it == shapes_.end()) return;
      auto lease_it = shape_it->second.leases.find(id);
      if (lease_it == shape_it->second.leases.end()) return;
      lease_it->second.idle_timer.reset();
      if (lease_it->second.batches_in_flight == 0 && shape_it->second.queue.empty()) {
        DropLease(shape_it->second, id, /*worker_failed=*/false);
      }
    });
  }
  for (const auto& id : to_return) DropLease(shape, id, false);
}

void TaskSubmitter::SendBatch(Shape& shape, Lease& lease) {
  if (lease.idle_timer) {
    executor_.Cancel(*lease.idle_timer);
    lease.idle_timer.reset();
  }
  const uint64_t batch_id = next_batch_id_++;
  Batch& batch = batches_[batch_id];
  batch.shape_key = shape.key;
  batch.lease_id = lease.id;
  rpc::PushTasksRequest request;
  request.set_lease_id(lease.id);
  // Fill the call up to about RunTimeEstimates::kTargetBatchUs of expected work.
  double expected_us = 0;
  while (!shape.queue.empty() && static_cast<int64_t>(batch.tasks.size()) < settings_.batch_max &&
         RunTimeEstimates::HasRoom(expected_us)) {
    expected_us += run_times_.CostUs(shape.queue.front().function_name());
    *request.add_tasks() = shape.queue.front();
    batch.tasks.push_back(std::move(shape.queue.front()));
    shape.queue.pop_front();
  }
  lease.batches_in_flight += 1;
  clients_.PushTasks(lease.worker_address, std::move(request),
                     [this, batch_id](StatusOr<rpc::PushTasksReply> reply) { OnPushed(batch_id, std::move(reply)); });
}

void TaskSubmitter::OnPushed(uint64_t batch_id, StatusOr<rpc::PushTasksReply> reply) {
  auto batch_it = batches_.find(batch_id);
  if (batch_it == batches_.end()) return;  // already failed over (its node died)
  auto shape_it = shapes_.find(batch_it->second.shape_key);
  HALO_CHECK(shape_it != shapes_.end()) << "a batch of unknown shape " << batch_it->second.shape_key;
  Shape& shape = shape_it->second;
  auto lease_it = shape.leases.find(batch_it->second.lease_id);
  if (!reply.ok() || reply->results_size() != static_cast<int>(batch_it->second.tasks.size())) {
    if (lease_it == shape.leases.end()) {
      FailBatch(batch_id, rpc::WORKER_CRASHED, "the worker's lease ended", "");
      return;
    }
    // The worker (or its node) is gone or broken: ask its node which, then retry or fail its tasks.
    // The lease leaves at once (nothing more goes to it); it is returned after the node says how the worker
    // ended, so the node's answer is about the worker's own exit, not the kill that returning it brings.
    Lease lease = lease_it->second;
    if (lease.idle_timer) executor_.Cancel(*lease.idle_timer);
    shape.leases.erase(lease_it);
    const std::string call_error = reply.ok() ? "malformed reply" : std::string(reply.status().message());
    clients_.GetWorkerExit(
        lease.node_address, lease.worker_id, settings_.rpc_timeout_ms,
        [this, batch_id, lease, call_error](StatusOr<rpc::GetWorkerExitReply> exit) {
          clients_.ReturnWorker(lease.node_address, lease.id, /*worker_failed=*/true);
          if (!exit.ok()) {
            SuspectNode(lease.node_id);
            FailBatch(batch_id, rpc::NODE_DIED,
                      absl::StrCat("node ", lease.node_id, " at ", lease.node_address, " is unreachable (",
                                   exit.status().message(), ")"),
                      lease.node_id);
          } else {
            FailBatch(batch_id, rpc::WORKER_CRASHED,
                      absl::StrCat("worker ", lease.worker_id, " on node ", lease.node_id, " died",
                                   exit->exited() ? absl::StrCat(" (", exit->description(), ")")
                                                  : absl::StrCat(" (its call failed: ", call_error, ")")),
                      "");
          }
        });
    return;
  }
  Batch batch = std::move(batch_it->second);
  batches_.erase(batch_it);
  if (lease_it != shape.leases.end()) lease_it->second.batches_in_flight -= 1;
  for (size_t i = 0; i < batch.tasks.size(); ++i) {
    run_times_.Record(batch.tasks[i].function_name(),
                      static_cast<double>(reply->results(static_cast<int>(i)).run_us()));
  }
  for (size_t i = 0; i < batch.tasks.size(); ++i) {
    const rpc::TaskResult& result = reply->results(static_cast<int>(i));
    rpc::TaskSpec& spec = batch.tasks[i];
    if (result.failed() && result.error().kind() == rpc::OBJECT_LOST && !result.error().lost_object_id().empty()) {
      // The copies named were unusable: forget them (a cached value then travels inline), rebuild the object
      // if it can be, and rerun the task, which spends one of its attempts.
      const std::string lost = result.error().lost_object_id();
      objects_.ForgetCopies(lost);
      Rebuild(lost, result.error().message());
      if (spec.max_retries() >= 0 && spec.attempt() >= spec.max_retries()) {
        ReleasePins(spec.task_id());
        Finish(spec, result);
        continue;
      }
      spec.set_attempt(spec.attempt() + 1);
      retries_ += 1;
      Resolve(std::move(spec));
      continue;
    }
    if (result.failed() && result.error().kind() == rpc::TASK_EXCEPTION && spec.retry_exceptions() &&
        (spec.max_retries() < 0 || spec.attempt() < spec.max_retries())) {
      RetryOrFail(shape, std::move(spec), rpc::TASK_EXCEPTION, result.error().message(), result.error().where());
      continue;
    }
    Finish(spec, result);
  }
  Pump(shape);
}

void TaskSubmitter::SuspectNode(const std::string& node_id) {
  for (auto& [key, shape] : shapes_) {
    for (auto& [id, lease] : shape.leases) {
      if (lease.node_id == node_id) lease.node_suspect = true;
    }
  }
}

void TaskSubmitter::FailBatch(uint64_t batch_id, rpc::ErrorKind kind, const std::string& message,
                              const std::string& node_id) {
  auto batch_it = batches_.find(batch_id);
  if (batch_it == batches_.end()) return;
  Batch batch = std::move(batch_it->second);
  batches_.erase(batch_it);
  Shape& shape = shapes_[batch.shape_key];
  auto lease_it = shape.leases.find(batch.lease_id);
  if (lease_it != shape.leases.end()) lease_it->second.batches_in_flight -= 1;
  SPDLOG_WARN("{} task(s) failed: {}", batch.tasks.size(), message);
  failures_ += static_cast<int64_t>(batch.tasks.size());
  // Requeue in the original order, ahead of newer work.
  for (auto it = batch.tasks.rbegin(); it != batch.tasks.rend(); ++it) {
    RetryOrFail(shape, std::move(*it), kind, message, "", node_id);
  }
  Pump(shape);
}

void TaskSubmitter::RetryOrFail(Shape& shape, rpc::TaskSpec spec, rpc::ErrorKind kind, const std::string& message,
                                const std::string& where, const std::string& lost_node_id) {
  if (!lost_node_id.empty()) {
    auto [charged, first] = charged_node_loss_.try_emplace(spec.task_id(), lost_node_id);
    if (!first && charged->second == lost_node_id) {
      shape.queue.push_front(std::move(spec));  // the same loss again: its retry is already spent
      return;
    }
    charged->second = lost_node_id;
  }
  if (spec.max_retries() < 0 || spec.attempt() < spec.max_retries()) {
    spec.set_attempt(spec.attempt() + 1);
    retries_ += 1;
    shape.queue.push_front(std::move(spec));
    return;
  }
  rpc::TaskResult result;
  result.set_task_id(spec.task_id());
  result.set_failed(true);
  result.mutable_error()->set_kind(kind);
  std::string detail = message;
  if (kind != rpc::TASK_EXCEPTION) {
    detail = absl::StrCat(message, "; task ", spec.name().empty() ? spec.function_name() : spec.name(), " ran ",
                          spec.attempt() + 1, " time(s), max_retries=", spec.max_retries());
  }
  result.mutable_error()->set_message(detail);
  result.mutable_error()->set_where(where);
  Finish(spec, result);
}

void TaskSubmitter::Finish(const rpc::TaskSpec& spec, const rpc::TaskResult& result) {
  charged_node_loss_.erase(spec.task_id());
  if (auto rebuilding = rebuilding_since_ms_.find(spec.task_id()); rebuilding != rebuilding_since_ms_.end()) {
    if (!result.failed()) {
      rebuilds_completed_ += 1;
      rebuild_ms_total_ += clock_.MonotonicMs() - rebuilding->second;
    }
    rebuilding_since_ms_.erase(rebuilding);
  }
  if (!result.failed() && result.stored()) {
    if (objects_.CompleteStored(spec.task_id(), result.location(), spec)) {
      // The lineage holds the references of arguments it still passes by reference (the free listener
      // releases those); the others, inlined into it, are released now.
      std::vector<std::string> held = pins_.Take(spec.task_id());
      if (!held.empty()) {
        std::multiset<std::string> kept;
        for (const auto& arg : spec.args()) {
          if (arg.has_ref()) kept.insert(arg.ref().object_id());
        }
        for (const auto& id : held) {
          auto it = kept.find(id);
          if (it != kept.end()) {
            kept.erase(it);
          } else {
            objects_.RemoveReference(id);
          }
        }
      }
    } else {
      ReleasePins(spec.task_id());
    }
    if (dead_nodes_.count(result.location().node_id()) > 0) {
      objects_.DropLocations(result.location().node_id());
      Rebuild(spec.task_id(), "its node died as it finished");
    }
    return;
  }
  ReleasePins(spec.task_id());
  if (!result.failed()) {
    objects_.Complete(spec.task_id(), std::make_shared<const std::string>(result.value()));
    return;
  }
  objects_.Fail(spec.task_id(), ToErrorInfo(result.error()));
}

void TaskSubmitter::RequestLease(Shape& shape, const std::string& node_address, bool spilled) {
  rpc::RequestWorkerLeaseRequest request;
  request.set_job_id(settings_.job_id);
  request.set_executable_sha256(settings_.executable_sha256);
  request.set_driver_address(settings_.driver_address);
  for (const auto& [name, amount] : shape.resources) (*request.mutable_resources())[name] = amount;
  request.set_spilled(spilled);
  request.set_lessee_address(settings_.lessee_address);
  shape.lease_requests_in_flight += 1;
  clients_.RequestWorkerLease(node_address, request,
                              [this, key = shape.key, node_address](StatusOr<rpc::RequestWorkerLeaseReply> reply) {
                                OnLeaseReply(key, node_address, std::move(reply));
                              });
}

void TaskSubmitter::OnLeaseReply(const std::string& shape_key, const std::string& node_address,
                                 StatusOr<rpc::RequestWorkerLeaseReply> reply) {
  Shape& shape = shapes_[shape_key];
  if (!reply.ok()) {
    shape.lease_requests_in_flight -= 1;
    if (node_address != settings_.local_node_address) {
      Pump(shape);  // the node we were sent to is gone: start over at our own
      return;
    }
    const int64_t now = clock_.MonotonicMs();
    if (!shape.node_unreachable_since_ms) shape.node_unreachable_since_ms = now;
    if (now - *shape.node_unreachable_since_ms >= settings_.node_unreachable_timeout_ms) {
      FailQueued(shape, internal::ErrorInfo::Kind::kNodeDied,
                 absl::StrCat("the local node agent at ", node_address, " has been unreachable for ",
                              now - *shape.node_unreachable_since_ms, " ms: ", reply.status().message()));
      shape.node_unreachable_since_ms.reset();
      return;
    }
    if (!shape.retry_scheduled) {
      shape.retry_scheduled = true;
      executor_.RunAfter(backoff_.NextDelayMs(), [this, shape_key] {
        Shape& retry_shape = shapes_[shape_key];
        retry_shape.retry_scheduled = false;
        Pump(retry_shape);
      });
    }
    return;
  }
  shape.node_unreachable_since_ms.reset();
  backoff_.Reset();
  if (!reply->spillback_address().empty()) {
    shape.lease_requests_in_flight -= 1;
    if (shape.queue.empty()) return;
    RequestLease(shape, reply->spillback_address(), /*spilled=*/true);
    return;
  }
  shape.lease_requests_in_flight -= 1;
  if (!reply->granted()) {
    FailQueued(shape, internal::ErrorInfo::Kind::kTaskUnschedulable, reply->error());
    return;
  }
  Lease& lease = shape.leases[reply->lease_id()];
  lease.id = reply->lease_id();
  lease.worker_id = reply->worker_id();
  lease.worker_address = reply->worker_address();
  lease.node_address = node_address;
  lease.node_id = reply->node_id();
  Pump(shape);
}

void TaskSubmitter::DropLease(Shape& shape, const std::string& lease_id, bool worker_failed) {
  auto it = shape.leases.find(lease_id);
  if (it == shape.leases.end()) return;
  if (it->second.idle_timer) executor_.Cancel(*it->second.idle_timer);
  clients_.ReturnWorker(it->second.node_address, lease_id, worker_failed);
  shape.leases.erase(it);
}

void TaskSubmitter::FailQueued(Shape& shape, internal::ErrorInfo::Kind kind, const std::string& message) {
  std::deque<rpc::TaskSpec> queue;
  queue.swap(shape.queue);
  for (const auto& spec : queue) {
    objects_.Fail(spec.task_id(), internal::ErrorInfo{kind, "", message, ""});
    ReleasePins(spec.task_id());
    charged_node_loss_.erase(spec.task_id());
  }
}

void TaskSubmitter::OnNodeDead(const std::string& node_id) {
  if (!dead_nodes_.insert(node_id).second) return;
  // Every lost object becomes pending before any rerun resolves its arguments, so a rerun waits for a lost
  // argument's own rerun instead of seeing it lost.
  const std::string why = absl::StrCat("its copy was on node ", node_id, ", which died");
  std::vector<std::pair<std::string, rpc::TaskSpec>> reruns;
  for (const auto& lost : objects_.DropLocations(node_id)) {
    if (auto lineage = ResetLost(lost, why)) reruns.emplace_back(lost, std::move(*lineage));
  }
  for (auto& [lost, lineage] : reruns) Rerun(lost, std::move(lineage), why);
  std::vector<uint64_t> doomed;
  for (auto& [key, shape] : shapes_) {
    std::vector<std::string> leases;
    for (const auto& [id, lease] : shape.leases) {
      if (lease.node_id == node_id) leases.push_back(id);
    }
    for (const auto& id : leases) {
      for (const auto& [batch_id, batch] : batches_) {
        if (batch.lease_id == id) doomed.push_back(batch_id);
      }
      shape.leases.erase(id);  // its node is gone: nothing to return
    }
  }
  for (uint64_t batch_id : doomed) {
    FailBatch(batch_id, rpc::NODE_DIED, absl::StrCat("node ", node_id, " died"), node_id);
  }
}

void TaskSubmitter::FailAll(const std::string& why) {
  for (auto& [key, shape] : shapes_) {
    FailQueued(shape, internal::ErrorInfo::Kind::kRuntime, why);
    for (auto& [id, lease] : shape.leases) {
      if (lease.idle_timer) executor_.Cancel(*lease.idle_timer);
      clients_.ReturnWorker(lease.node_address, id, false);
    }
    shape.leases.clear();
  }
  for (auto& [batch_id, batch] : batches_) {
    for (const auto& spec : batch.tasks) {
      objects_.Fail(spec.task_id(), internal::ErrorInfo{internal::ErrorInfo::Kind::kRuntime, "", why, ""});
    }
  }
  batches_.clear();
  for (auto& [task_id, resolving] : resolving_) {
    objects_.Fail(task_id, internal::ErrorInfo{internal::ErrorInfo::Kind::kRuntime, "", why, ""});
  }
  resolving_.clear();
  charged_node_loss_.clear();
  for (const auto& task_id : pins_.Tasks()) ReleasePins(task_id);
}

}  // namespace halo::core
