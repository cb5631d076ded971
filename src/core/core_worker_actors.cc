// CoreWorker's actor API: creating, calling, finding and killing actors, and the handles that count them.
#include <cxxabi.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "core/core_worker.h"
#include "halo/errors.h"

namespace halo::core {
namespace {

constexpr char kDefaultNamespace[] = "default";

rpc::ActorHandleInfo HandleInfo(const rpc::ActorInfo& actor, int32_t max_pending_calls) {
  rpc::ActorHandleInfo info;
  info.set_actor_id(actor.actor_id());
  info.set_max_task_retries(actor.max_task_retries());
  info.set_max_pending_calls(max_pending_calls);
  info.set_state(actor.state());
  info.set_num_restarts(actor.num_restarts());
  info.set_address(actor.state() == rpc::ACTOR_ALIVE ? actor.address() : "");
  info.set_class_name(actor.class_name());
  return info;
}

// "7Counter" -> "Counter": what `halo list actors` shows and GetActor compares.
std::string Demangle(const std::string& name) {
  int status = 0;
  char* readable = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  std::string out = status == 0 && readable != nullptr ? std::string(readable) : name;
  std::free(readable);
  return out;
}

}  // namespace

Status CoreWorker::AwaitGcs(std::function<void(GcsActorClient&, std::function<void(Status)>)> call) {
  const Settings& s = options_.settings;
  StatusOr<bool> result = AwaitOnExecutor<bool>(
      [this, call = std::move(call)](std::function<void(StatusOr<bool>)> done) {
        call(*gcs_actors_, [done = std::move(done)](Status status) {
          done(status.ok() ? StatusOr<bool>(true) : StatusOr<bool>(std::move(status)));
        });
      },
      s.gcs_wait_timeout_ms + 2 * s.rpc_timeout_ms);
  return result.status();
}

std::string CoreWorker::CreateActor(const std::string& factory_name, std::vector<internal::TaskArgument> args,
                                    const internal::ActorOptions& options) {
  const std::string id = NewObjectId();
  rpc::ActorInfo actor;
  actor.set_actor_id(id);
  actor.set_name(options.name);
  actor.set_namespace_(options.name_space.empty() ? kDefaultNamespace : options.name_space);
  actor.set_job_id(options_.job_id);
  actor.set_owner_address(address_);
  actor.set_detached(options.detached);
  actor.set_max_restarts(options.max_restarts);
  actor.set_max_task_retries(options.max_task_retries);
  actor.set_class_name(Demangle(options.class_name));
  actor.set_executable_sha256(options_.executable_sha256);
  actor.set_driver_address(options_.driver_address);
  rpc::TaskSpec* creation = actor.mutable_creation();
  creation->set_task_id(id);
  creation->set_job_id(options_.job_id);
  creation->set_function_name(factory_name);
  creation->set_owner_address(address_);
  for (const auto& [name, amount] : options.resources) {
    if (amount > 0) (*creation->mutable_resources())[name] = amount;
  }
  bool ready = true;
  for (auto& arg : args) {
    rpc::TaskArg* out = creation->add_args();
    if (arg.is_ref) {
      ready = false;
      out->mutable_ref()->set_object_id(arg.object_id);
      objects_.AddReference(arg.object_id);  // held until the value is inlined
    } else {
      out->set_value(std::move(arg.value));
    }
  }
  Status registered = AwaitGcs([&actor, ready](GcsActorClient& gcs, std::function<void(Status)> done) {
    gcs.RegisterActor(actor, ready, std::move(done));
  });
  if (!registered.ok()) {
    for (const auto& arg : creation->args()) {
      if (arg.has_ref()) objects_.RemoveReference(arg.ref().object_id());
    }
    const std::string what = absl::StrCat("creating actor ", options.name.empty() ? id : "'" + options.name + "'",
                                          ": ", registered.message());
    if (registered.code() == absl::StatusCode::kDeadlineExceeded) throw GcsUnavailable(what);
    throw RuntimeError(what);
  }
  actor.set_state(ready ? rpc::PENDING_CREATION : rpc::DEPENDENCIES_UNREADY);
  {
    std::lock_guard<std::mutex> lock(actor_handles_mutex_);
    actor_handles_[id] += 1;
    if (options.name.empty() && !options.detached) collectable_actors_.insert(id);
  }
  actor_submitter_->AddActor(HandleInfo(actor, options.max_pending_calls));
  if (!ready) ResolveActorArguments(std::move(actor));
  return id;
}

void CoreWorker::ResolveActorArguments(rpc::ActorInfo actor) {
  std::thread([this, actor = std::move(actor)]() mutable {
    rpc::TaskSpec& creation = *actor.mutable_creation();
    std::vector<std::string> ids;
    for (const auto& arg : creation.args()) {
      if (arg.has_ref()) ids.push_back(arg.ref().object_id());
    }
    std::vector<internal::ObjectResult> values = Get(ids, -1);
    for (const auto& id : ids) objects_.RemoveReference(id);
    std::string failure;
    size_t next = 0;
    for (auto& arg : *creation.mutable_args()) {
      if (!arg.has_ref()) continue;
      const internal::ObjectResult& value = values[next++];
      if (value.error) {
        failure = absl::StrCat("constructor argument ", arg.ref().object_id(), " failed: ", value.error->message);
        break;
      }
      arg.set_value(*value.value);
    }
    if (shut_down_) return;
    if (!failure.empty()) {
      HALO_LOG_WARN("actor {} cannot be created: {}", actor.actor_id(), failure);
      (void)AwaitGcs([&actor](GcsActorClient& gcs, std::function<void(Status)> done) {
        gcs.KillActor(actor.actor_id(), true, false, std::move(done));
      });
      return;
    }
    Status resolved = AwaitGcs([&actor, &creation](GcsActorClient& gcs, std::function<void(Status)> done) {
      gcs.ResolveActor(actor.actor_id(), creation, std::move(done));
    });
    if (!resolved.ok()) {
      HALO_LOG_WARN("actor {}: could not hand its constructor arguments to the GCS: {}", actor.actor_id(),
                    std::string(resolved.message()));
    }
  }).detach();
}

std::string CoreWorker::SubmitActorTask(const std::string& actor_id, const std::string& method_name,
                                        std::vector<internal::TaskArgument> args) {
  std::string dead;
  switch (actor_submitter_->TryReserveCall(actor_id, &dead)) {
    case ActorSubmitter::Reservation::kReserved: break;
    case ActorSubmitter::Reservation::kUnknownActor:
      throw RuntimeError("actor " + actor_id + " is not known to this process (a handle that was never valid?)");
    case ActorSubmitter::Reservation::kDead: throw ActorDied(dead);
    case ActorSubmitter::Reservation::kLimitReached: {
      auto info = actor_submitter_->Describe(actor_id);
      throw PendingCallsLimitExceeded(absl::StrCat("actor ", actor_id, " already has ",
                                                   info ? info->max_pending_calls() : 0,
                                                   " unfinished calls from this process (max_pending_calls)"));
    }
  }
  const std::string id = NewObjectId();
  tasks_submitted_.fetch_add(1);
  objects_.AddPending(id);
  rpc::TaskSpec spec;
  spec.set_task_id(id);
  spec.set_job_id(options_.job_id);
  spec.set_function_name(method_name);
  spec.set_owner_address(address_);
  spec.set_actor_id(actor_id);
  for (auto& arg : args) {
    rpc::TaskArg* out = spec.add_args();
    if (arg.is_ref) {
      objects_.AddReference(arg.object_id);  // held until the call finishes
      out->mutable_ref()->set_object_id(arg.object_id);
      out->mutable_ref()->set_owner_address(address_);
    } else {
      out->set_value(std::move(arg.value));
    }
  }
  executor_.Post([this, spec = std::move(spec)]() mutable { actor_submitter_->Submit(std::move(spec)); });
  return id;
}

std::string CoreWorker::GetActor(const std::string& name, const std::string& name_space,
                                 const std::string& class_name) {
  const std::string ns = name_space.empty() ? kDefaultNamespace : name_space;
  const Settings& s = options_.settings;
  StatusOr<rpc::ActorInfo> lookup = AwaitOnExecutor<rpc::ActorInfo>(
      [this, name, ns](std::function<void(StatusOr<rpc::ActorInfo>)> done) {
        gcs_actors_->GetNamedActor(name, ns, std::move(done));
      },
      s.gcs_wait_timeout_ms + 2 * s.rpc_timeout_ms);
  const Status found = lookup.status();
  const std::string what = absl::StrCat("halo::GetActor('", name, "', namespace '", ns, "'): ");
  if (found.code() == absl::StatusCode::kNotFound) throw ActorNotFound(what + std::string(found.message()));
  if (found.code() == absl::StatusCode::kDeadlineExceeded) throw GcsUnavailable(what + std::string(found.message()));
  if (!found.ok()) throw RuntimeError(what + std::string(found.message()));
  const rpc::ActorInfo& actor = *lookup;
  if (!class_name.empty() && actor.class_name() != Demangle(class_name)) {
    throw RuntimeError(absl::StrCat(what, "the actor is a ", actor.class_name(), ", not a ", Demangle(class_name)));
  }
  {
    std::lock_guard<std::mutex> lock(actor_handles_mutex_);
    actor_handles_[actor.actor_id()] += 1;
  }
  actor_submitter_->AddActor(HandleInfo(actor, -1));
  return actor.actor_id();
}

void CoreWorker::KillActor(const std::string& actor_id, bool no_restart) {
  Status killed = AwaitGcs([&actor_id, no_restart](GcsActorClient& gcs, std::function<void(Status)> done) {
    gcs.KillActor(actor_id, no_restart, false, std::move(done));
  });
  const std::string what = absl::StrCat("halo::Kill(actor ", actor_id, "): ");
  if (killed.code() == absl::StatusCode::kDeadlineExceeded) throw GcsUnavailable(what + std::string(killed.message()));
  if (!killed.ok()) throw RuntimeError(what + std::string(killed.message()));
}

void CoreWorker::AddActorHandle(const std::string& actor_id) {
  std::lock_guard<std::mutex> lock(actor_handles_mutex_);
  actor_handles_[actor_id] += 1;
}

void CoreWorker::RemoveActorHandle(const std::string& actor_id) {
  bool collect = false;
  {
    std::lock_guard<std::mutex> lock(actor_handles_mutex_);
    auto it = actor_handles_.find(actor_id);
    if (it == actor_handles_.end() || --it->second > 0) return;
    actor_handles_.erase(it);
    collect = collectable_actors_.erase(actor_id) > 0;
  }
  if (shut_down_) return;
  executor_.Post([this, actor_id] { actor_submitter_->ForgetActor(actor_id); });
  if (!collect) return;
  // The last handle of an actor that never left this process: nobody can call it any more. Not waited for.
  executor_.Post([this, actor_id] {
    gcs_actors_->KillActor(actor_id, true, /*out_of_scope=*/true, [actor_id](Status killed) {
      if (!killed.ok()) {
        HALO_LOG_WARN("actor {} is out of scope but could not be stopped: {}", actor_id,
                      std::string(killed.message()));
      }
    });
  });
}

std::string CoreWorker::EscapeActorHandle(const std::string& actor_id) {
  {
    std::lock_guard<std::mutex> lock(actor_handles_mutex_);
    collectable_actors_.erase(actor_id);  // other processes may hold it now: it lives as long as its owner
  }
  auto info = actor_submitter_->Describe(actor_id);
  if (!info) throw RuntimeError("actor " + actor_id + " is not known to this process");
  return info->SerializeAsString();
}

std::string CoreWorker::AddBorrowedActorHandle(const std::string& description, const std::string& class_name) {
  rpc::ActorHandleInfo info;
  if (!info.ParseFromString(description) || info.actor_id().empty()) {
    throw RuntimeError("a serialised ActorHandle is corrupt");
  }
  if (!class_name.empty() && !info.class_name().empty() && info.class_name() != Demangle(class_name)) {
    throw RuntimeError(absl::StrCat("an ActorHandle of actor ", info.actor_id(), " (a ", info.class_name(),
                                    ") was read as a handle of ", Demangle(class_name)));
  }
  {
    std::lock_guard<std::mutex> lock(actor_handles_mutex_);
    actor_handles_[info.actor_id()] += 1;
  }
  actor_submitter_->AddActor(info);
  return info.actor_id();
}

bool CoreWorker::WasCurrentActorRestarted() const { return actor_host_ != nullptr && actor_host_->restarted(); }

void CoreWorker::ExitProcess() {
  // Replies already produced go out before the process ends; held calls are cut.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(1000));
  spdlog::default_logger()->flush();
  _exit(0);
}

}  // namespace halo::core
