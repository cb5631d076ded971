#include "gcs/actor_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/logging.h"
#include "gcs/node_manager.h"
#include "gcs/table_names.h"

namespace halo::gcs {


ActorManager::ActorManager(StoreClient& store, Executor& executor, Clock& clock, ActorPeers& peers,
                           health::HealthProber& prober, ActorManagerSettings settings)
    : store_(store),
      executor_(executor),
      clock_(clock),
      peers_(peers),
      settings_(settings),
      owner_checks_(executor, prober, *this, settings.owner_checks),
      backoff_(settings.retry_initial_ms, settings.retry_max_ms) {}

ActorManager::~ActorManager() {
  for (auto& [id, actor] : actors_) {
    for (auto& [token, waiter] : actor.waiters) executor_.Cancel(waiter.timer);
  }
}

Status ActorManager::Initialize(const KeyValueMap& rows) {
  for (const auto& [key, bytes] : rows) {
    rpc::ActorInfo info;
    if (!info.ParseFromString(bytes)) return FailedPreconditionError(absl::StrCat("corrupt actor row ", key));
    Actor& actor = actors_[info.actor_id()];
    actor.info = info;
    actor.published = info;
    if (Live(info)) {
      if (!info.name().empty()) names_[NameKey(info.namespace_(), info.name())] = info.actor_id();
    } else {
      dead_order_.push_back(info.actor_id());
    }
  }
  return OkStatus();
}

void ActorManager::Start(const std::vector<rpc::NodeInfo>& nodes) {
  for (const auto& node : nodes) nodes_[node.node_id()] = node;
  std::vector<std::string> to_schedule;
  std::vector<std::string> to_reclaim;
  std::vector<std::string> lost_with_node;
  for (auto& [id, actor] : actors_) {
    rpc::ActorInfo& info = actor.info;
    if (!Live(info)) continue;
    WatchOwner(info);
    if (info.state() == rpc::ACTOR_ALIVE) {
      auto node = nodes_.find(info.node_id());
      if (node == nodes_.end() || node->second.state() == rpc::DEAD) {
        // Its node died before the GCS stopped (the node's row was stored, the actor's was not).
        lost_with_node.push_back(id);
        continue;
      }
      // The instance may well have outlived the GCS: watch it, do not restart it.
      Watch(id, ++actor.attempt);
    } else if (info.state() == rpc::PENDING_CREATION || info.state() == rpc::RESTARTING) {
      auto node = nodes_.find(info.node_id());
      if (!info.lease_id().empty() && node != nodes_.end() && node->second.state() != rpc::DEAD) {
        // A half-made instance from before the restart: its constructor may still run. A new instance waits
        // until that worker is known gone.
        to_reclaim.push_back(id);
        continue;
      }
      ReleaseWorker(info);  // none, or its node is dead (and with it the worker's lease)
      to_schedule.push_back(id);
    }
  }
  for (const auto& id : to_schedule) Schedule(id);
  for (const auto& id : to_reclaim) ReclaimHalfMade(id, ++actors_.at(id).attempt, 0);
  for (const auto& id : lost_with_node) {
    Actor& actor = actors_.at(id);
    auto node = nodes_.find(actor.info.node_id());
    const bool drained = node != nodes_.end() && node->second.death_reason() == rpc::DRAINED;
    actor.info.clear_lease_id();  // nothing to kill: the node is gone
    InstanceDied(actor, rpc::CAUSE_NODE_DIED,
                 absl::StrCat("its node ", actor.info.node_id(), " died while the GCS was down"), !drained);
  }
}

ActorManager::Actor* ActorManager::Find(const std::string& actor_id) {
  auto it = actors_.find(actor_id);
  return it == actors_.end() ? nullptr : &it->second;
}

void ActorManager::Commit(Actor& actor, std::function<void(Status)> then) {
  // Instances are only ever numbered forward: the decided one is never behind the durable one.
  HALO_CHECK(actor.info.num_restarts() >= actor.published.num_restarts())
      << "actor " << actor.info.actor_id() << " instance " << actor.info.num_restarts() << " after "
      << actor.published.num_restarts();
  actor.info.set_state_time_ms(clock_.WallMs());
  rpc::ActorInfo row = actor.info;
  store_.AsyncPut(kActorTable, row.actor_id(), row.SerializeAsString(), true,
                  [this, row, then = std::move(then)](StatusOr<bool> written) {
                    if (!written.ok()) {
                      HALO_LOG_ERROR("cannot persist actor {}: {}", row.actor_id(),
                                     std::string(written.status().message()));
                      if (then) then(written.status());
                      if (on_storage_failure_) on_storage_failure_(written.status());
                      return;
                    }
                    if (Actor* actor = Find(row.actor_id())) {
                      actor->published = row;
                      NotifyWaiters(*actor);
                    }
                    if (on_change_) on_change_(row);
                    if (then) then(OkStatus());
                  });
}

void ActorManager::NotifyWaiters(Actor& actor) {
  std::vector<std::function<void(StatusOr<rpc::ActorInfo>)>> ready;
  for (auto it = actor.waiters.begin(); it != actor.waiters.end();) {
    const Waiter& waiter = it->second;
    if (waiter.known_state == actor.published.state() &&
        waiter.known_num_restarts == actor.published.num_restarts()) {
      ++it;
      continue;
    }
    executor_.Cancel(waiter.timer);
    ready.push_back(std::move(it->second.done));
    it = actor.waiters.erase(it);
    num_waiters_ -= 1;
  }
  for (auto& done : ready) done(actor.published);
}

void ActorManager::HandleRegister(rpc::ActorInfo info, bool dependencies_ready, std::function<void(Status)> done) {
  if (info.actor_id().empty()) return done(InvalidArgumentError("an actor needs an id"));
  if (Find(info.actor_id()) != nullptr) return done(OkStatus());  // a retried registration
  if (!info.name().empty()) {
    auto taken = names_.find(NameKey(info.namespace_(), info.name()));
    if (taken != names_.end()) {
      return done(AlreadyExistsError(absl::StrCat("the actor name '", info.name(), "' is taken in namespace '",
                                                  info.namespace_(), "' by actor ", taken->second)));
    }
    names_[NameKey(info.namespace_(), info.name())] = info.actor_id();
  }
  info.set_state(dependencies_ready ? rpc::PENDING_CREATION : rpc::DEPENDENCIES_UNREADY);
  info.set_num_restarts(0);
  info.set_num_failure_restarts(0);
  Actor& actor = actors_[info.actor_id()];
  actor.info = std::move(info);
  WatchOwner(actor.info);
  Commit(actor, [this, id = actor.info.actor_id(), dependencies_ready, done = std::move(done)](Status status) {
    done(status);
    if (status.ok() && dependencies_ready) Schedule(id);
  });
}

void ActorManager::HandleResolve(const std::string& actor_id, rpc::TaskSpec creation,
                                 std::function<void(Status)> done) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr) return done(NotFoundError(absl::StrCat("no actor ", actor_id)));
  if (actor->info.state() != rpc::DEPENDENCIES_UNREADY) {
    return done(actor->info.state() == rpc::ACTOR_DEAD
                    ? FailedPreconditionError(absl::StrCat("actor ", actor_id, " is dead: ",
                                                           actor->info.death_message()))
                    : OkStatus());  // resolved already (a retried call)
  }
  *actor->info.mutable_creation() = std::move(creation);
  actor->info.set_state(rpc::PENDING_CREATION);
  Commit(*actor, [this, actor_id, done = std::move(done)](Status status) {
    done(status);
    if (status.ok()) Schedule(actor_id);
  });
}

void ActorManager::HandleWait(const std::string& actor_id, rpc::ActorState known_state, int32_t known_num_restarts,
                              int64_t wait_ms, std::function<void(StatusOr<rpc::ActorInfo>)> done) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr) return done(NotFoundError(absl::StrCat("no actor ", actor_id)));
  if (actor->published.state() != known_state || actor->published.num_restarts() != known_num_restarts ||
      wait_ms <= 0 || waiters_released_ || num_waiters_ >= static_cast<size_t>(settings_.waiters_max)) {
    return done(actor->published);
  }
  const uint64_t token = next_waiter_++;
  Waiter& waiter = actor->waiters[token];
  waiter.known_state = known_state;
  waiter.known_num_restarts = known_num_restarts;
  waiter.done = std::move(done);
  waiter.timer = executor_.RunAfter(wait_ms, [this, actor_id, token] {
    Actor* actor = Find(actor_id);
    if (actor == nullptr) return;
    auto it = actor->waiters.find(token);
    if (it == actor->waiters.end()) return;
    auto reply = std::move(it->second.done);
    actor->waiters.erase(it);
    num_waiters_ -= 1;
    reply(actor->published);
  });
  num_waiters_ += 1;
}

void ActorManager::HandleGetNamed(const std::string& name, const std::string& name_space,
                                  std::function<void(StatusOr<rpc::ActorInfo>)> done) const {
  auto it = names_.find(NameKey(name_space, name));
  if (it == names_.end()) {
    return done(NotFoundError(absl::StrCat("no live actor is named '", name, "' in namespace '", name_space, "'")));
  }
  done(actors_.at(it->second).published);
}

void ActorManager::HandleKill(const std::string& actor_id, bool no_restart, bool out_of_scope,
                              std::function<void(Status)> done) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr) return done(NotFoundError(absl::StrCat("no actor ", actor_id)));
  if (!Live(actor->info)) return done(OkStatus());
  if (out_of_scope) {
    Die(*actor, rpc::CAUSE_OUT_OF_SCOPE, "its owner holds no handle to it any more", std::move(done));
  } else if (no_restart) {
    Die(*actor, rpc::CAUSE_KILLED, "killed by halo::Kill", std::move(done));
  } else {
    InstanceDied(*actor, rpc::CAUSE_KILLED, "killed by halo::Kill (restart allowed)", true, std::move(done));
  }
}

void ActorManager::HandleReportExit(const std::string& actor_id, int32_t instance, const std::string& message,
                                    std::function<void(Status)> done) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr) return done(NotFoundError(absl::StrCat("no actor ", actor_id)));
  if (!Live(actor->info) || actor->info.num_restarts() != instance) return done(OkStatus());
  Die(*actor, rpc::CAUSE_EXITED, message, std::move(done));
}

const rpc::ActorInfo* ActorManager::Published(const std::string& actor_id) const {
  auto it = actors_.find(actor_id);
  return it == actors_.end() ? nullptr : &it->second.published;
}

std::vector<rpc::ActorInfo> ActorManager::All() const {
  std::vector<rpc::ActorInfo> all;
  all.reserve(actors_.size());
  for (const auto& [id, actor] : actors_) all.push_back(actor.published);
  return all;
}

void ActorManager::ReleaseWaiters() {
  waiters_released_ = true;
  for (auto& [id, actor] : actors_) {
    for (auto& [token, waiter] : actor.waiters) {
      executor_.Cancel(waiter.timer);
      waiter.done(actor.published);
    }
    actor.waiters.clear();
  }
  num_waiters_ = 0;
}

std::optional<rpc::NodeInfo> ActorManager::PickNode(const rpc::TaskSpec& creation,
                                                   const google::protobuf::RepeatedPtrField<std::string>& avoid) {
  std::vector<const rpc::NodeInfo*> fits;
  for (const auto& [id, node] : nodes_) {
    if (node.state() != rpc::ALIVE) continue;
    bool ok = true;
    for (const auto& [name, amount] : creation.resources()) {
      auto have = node.resources().find(name);
      if (amount > 0 && (have == node.resources().end() || have->second + 1e-9 < amount)) ok = false;
    }
    if (ok) fits.push_back(&node);
  }
  if (fits.empty()) return std::nullopt;
  std::vector<const rpc::NodeInfo*> preferred;
  for (const rpc::NodeInfo* node : fits) {
    if (std::find(avoid.begin(), avoid.end(), node->node_id()) == avoid.end()) preferred.push_back(node);
  }
  if (!preferred.empty()) return *preferred[place_cursor_++ % preferred.size()];
  return *fits[place_cursor_++ % fits.size()];
}

void ActorManager::Schedule(const std::string& actor_id) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr) return;
  const rpc::ActorState state = actor->info.state();
  if (state != rpc::PENDING_CREATION && state != rpc::RESTARTING) return;
  const uint64_t attempt = ++actor->attempt;
  std::optional<rpc::NodeInfo> node = PickNode(actor->info.creation(), actor->info.avoid_node_ids());
  if (!node) {
    // Waits for a node that fits to join (OnNodeChanged).
    if (!actor->waiting_for_node) {
      HALO_LOG_INFO("actor {} waits for a node that offers what it needs", actor_id);
    }
    actor->waiting_for_node = true;
    return;
  }
  actor->waiting_for_node = false;
  RequestLease(actor_id, attempt, node->address(), /*spilled=*/false);
}

void ActorManager::RequestLease(const std::string& actor_id, uint64_t attempt, const std::string& node_address,
                                bool spilled) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr) return;
  // A node may redirect it to one whose death it has not heard of yet; a dead host may never answer. (A new
  // node agent at the same address is another node, and is asked.)
  bool dead_there = false;
  bool live_there = false;
  for (const auto& [id, node] : nodes_) {
    if (node.address() != node_address) continue;
    (node.state() == rpc::DEAD ? dead_there : live_there) = true;
  }
  if (dead_there && !live_there) {
    HALO_LOG_INFO("actor {}: not asking {} for a worker: its node is dead", actor_id, node_address);
    actor->leasing_node_address.clear();
    return RetryLater(actor_id, attempt);
  }
  const rpc::ActorInfo& info = actor->info;
  rpc::RequestWorkerLeaseRequest request;
  request.set_job_id(info.job_id());
  request.set_executable_sha256(info.executable_sha256());
  request.set_driver_address(info.driver_address());
  for (const auto& [name, amount] : info.creation().resources()) (*request.mutable_resources())[name] = amount;
  request.set_for_actor(true);
  request.set_detached(info.detached());
  request.set_spilled(spilled);  // redirected once already: the node queues it rather than redirect again
  actor->leasing_node_address = node_address;
  peers_.RequestWorkerLease(node_address, request,
                            [this, actor_id, attempt, node_address](StatusOr<rpc::RequestWorkerLeaseReply> reply) {
                              OnLease(actor_id, attempt, node_address, std::move(reply));
                            });
}

void ActorManager::RetryLater(const std::string& actor_id, uint64_t attempt) {
  executor_.RunAfter(backoff_.NextDelayMs(), [this, actor_id, attempt] {
    Actor* actor = Find(actor_id);
    if (actor != nullptr && actor->attempt == attempt) Schedule(actor_id);
  });
}

void ActorManager::OnLease(const std::string& actor_id, uint64_t attempt, const std::string& node_address,
                           StatusOr<rpc::RequestWorkerLeaseReply> reply) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr || actor->attempt != attempt || !Live(actor->info)) {
    if (reply.ok() && reply->granted()) peers_.KillWorker(node_address, reply->lease_id());  // not wanted now
    return;
  }
  actor->leasing_node_address.clear();
  if (!reply.ok()) {
    HALO_LOG_WARN("actor {}: lease request to {} failed: {}", actor_id, node_address,
                  std::string(reply.status().message()));
    return RetryLater(actor_id, attempt);
  }
  if (!reply->spillback_address().empty()) {
    return RequestLease(actor_id, attempt, reply->spillback_address(), /*spilled=*/true);
  }
  if (!reply->granted()) {
    if (++actor->refusals >= settings_.lease_refusals_max) {
      return Die(*actor, rpc::CAUSE_CREATION_FAILED,
                 absl::StrCat("no worker could be started for it: ", reply->error()));
    }
    HALO_LOG_WARN("actor {}: node at {} refused a worker: {}", actor_id, node_address, reply->error());
    return RetryLater(actor_id, attempt);
  }
  backoff_.Reset();
  actor->refusals = 0;
  rpc::ActorInfo& info = actor->info;
  info.set_node_id(reply->node_id());
  info.set_node_address(node_address);
  info.set_worker_id(reply->worker_id());
  info.set_lease_id(reply->lease_id());
  info.set_address(reply->worker_address());
  info.set_pid(reply->worker_pid());
  // The worker is recorded before its constructor runs, so a GCS that restarts meanwhile can kill it.
  Commit(*actor, [this, actor_id, attempt](Status status) {
    Actor* actor = Find(actor_id);
    if (!status.ok() || actor == nullptr || actor->attempt != attempt || !Live(actor->info)) return;
    rpc::CreateActorRequest request;
    *request.mutable_actor() = actor->info;
    peers_.CreateActor(actor->info.address(), request,
                       [this, actor_id, attempt](StatusOr<rpc::CreateActorReply> created) {
                         OnCreated(actor_id, attempt, std::move(created));
                       });
  });
}

void ActorManager::OnCreated(const std::string& actor_id, uint64_t attempt, StatusOr<rpc::CreateActorReply> reply) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr || actor->attempt != attempt || !Live(actor->info)) return;  // its worker was released
  if (!reply.ok()) return OnCreateBroken(actor_id, attempt, std::string(reply.status().message()));
  if (reply->failed()) {
    const rpc::TaskError& error = reply->error();
    Die(*actor, rpc::CAUSE_CREATION_FAILED,
        absl::StrCat("the constructor threw ", error.type_name(), ": ", error.message(), " (at ", error.where(), ")"));
    return;
  }
  actor->info.set_state(rpc::ACTOR_ALIVE);
  actor->info.set_next_attempt_time_ms(0);
  actor->alive_since_ms = clock_.MonotonicMs();
  HALO_LOG_INFO("actor {} is alive: instance {} in worker {} (pid {}) on node {}", actor_id,
                actor->info.num_restarts(), actor->info.worker_id(), actor->info.pid(), actor->info.node_id());
  std::function<void(Status)> recorded;
  if (events_ != nullptr && actor->restart_since_ms >= 0) {
    rpc::ClusterEvent event = MakeEvent(
        rpc::EVENT_ACTOR_RESTARTED,
        absl::StrCat("actor ", actor->info.name().empty() ? actor_id : actor->info.name(), " restarted as instance ",
                     actor->info.num_restarts(), " on node ", actor->info.node_id(), " after its last one ended (",
                     ActorDeathCauseName(actor->info.death_cause()), "): ", actor->info.death_message()));
    event.set_actor_id(actor_id);
    event.set_node_id(actor->info.node_id());
    event.set_job_id(actor->info.job_id());
    event.set_duration_ms(actor->alive_since_ms - actor->restart_since_ms);
    recorded = [events = events_, event = std::move(event)](Status status) mutable {
      if (status.ok()) events->Record(std::move(event));
    };
  }
  actor->restart_since_ms = -1;
  Commit(*actor, std::move(recorded));
  Watch(actor_id, attempt);
}

void ActorManager::OnCreateBroken(const std::string& actor_id, uint64_t attempt, const std::string& why) {
  const rpc::ActorInfo& info = actors_.at(actor_id).info;
  peers_.GetWorkerExit(
      info.node_address(), info.worker_id(),
      [this, actor_id, attempt, why](StatusOr<rpc::GetWorkerExitReply> exit) {
        Actor* actor = Find(actor_id);
        if (actor == nullptr || actor->attempt != attempt || !Live(actor->info)) return;
        const rpc::ActorInfo& info = actor->info;
        const std::string who = absl::StrCat("its worker ", info.worker_id(), " (pid ", info.pid(), ") on node ",
                                             info.node_id());
        if (exit.ok() && exit->exited()) {
          return InstanceDied(*actor, rpc::CAUSE_WORKER_DIED,
                              absl::StrCat(who, " died during the constructor: ", exit->description()), true);
        }
        if (exit.ok()) {
          // It runs but cannot be reached: its node kills it, and the actor restarts only once the node says
          // it exited (two constructors must never run at once).
          peers_.KillWorker(info.node_address(), info.lease_id());
          executor_.RunAfter(settings_.retry_initial_ms, [this, actor_id, attempt, why] {
            ConfirmUnreachableGone(actor_id, attempt, why, 1);
          });
          return;
        }
        // Its node does not answer either: the node's death (node table) restarts the actor.
        HALO_LOG_WARN("actor {}: {} could not be reached ({}) and its node at {} could not say how it is: {}",
                      actor_id, who, why, info.node_address(), std::string(exit.status().message()));
      });
}

void ActorManager::ReclaimHalfMade(const std::string& actor_id, uint64_t attempt, int64_t tries) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr || actor->attempt != attempt || !Live(actor->info)) return;
  const rpc::ActorInfo& info = actor->info;
  peers_.KillWorker(info.node_address(), info.lease_id());  // again each round: a kill may have been lost
  peers_.GetWorkerExit(
      info.node_address(), info.worker_id(), [this, actor_id, attempt, tries](StatusOr<rpc::GetWorkerExitReply> exit) {
        Actor* actor = Find(actor_id);
        if (actor == nullptr || actor->attempt != attempt || !Live(actor->info)) return;
        const bool gone = (exit.ok() && exit->exited()) ||
                          (!exit.ok() && exit.status().code() == absl::StatusCode::kNotFound);
        if (gone) {
          actor->info.clear_lease_id();  // already gone: nothing to kill
          ReleaseWorker(actor->info);
          return Schedule(actor_id);
        }
        if (exit.ok() && tries >= settings_.unreachable_kill_checks_max) {
          // Its node answers but does not end the worker: its node's lease (node table) decides from here.
          HALO_LOG_WARN("actor {}: the node at {} did not confirm that the worker of a half-made instance exited",
                        actor_id, actor->info.node_address());
          return;
        }
        // Asked again while its node cannot answer: bounded by the node's lease, whose lapse makes the node DEAD,
        // and its death restarts the actor (OnNodeChanged; this attempt is then abandoned).
        // Only the node's answers count against unreachable_kill_checks_max.
        executor_.RunAfter(exit.ok() ? settings_.retry_initial_ms : settings_.retry_max_ms,
                           [this, actor_id, attempt, next = exit.ok() ? tries + 1 : tries] {
                             ReclaimHalfMade(actor_id, attempt, next);
                           });
      });
}

void ActorManager::ConfirmUnreachableGone(const std::string& actor_id, uint64_t attempt, const std::string& why,
                                          int64_t tries) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr || actor->attempt != attempt || !Live(actor->info)) return;
  const rpc::ActorInfo& info = actor->info;
  peers_.GetWorkerExit(
      info.node_address(), info.worker_id(),
      [this, actor_id, attempt, why, tries](StatusOr<rpc::GetWorkerExitReply> exit) {
        Actor* actor = Find(actor_id);
        if (actor == nullptr || actor->attempt != attempt || !Live(actor->info)) return;
        const rpc::ActorInfo& info = actor->info;
        const bool gone = (exit.ok() && exit->exited()) ||
                          (!exit.ok() && exit.status().code() == absl::StatusCode::kNotFound);
        if (!gone) {
          if (tries >= settings_.unreachable_kill_checks_max) {
            // Its node neither kills it nor dies: the node's lease (node table) decides from here.
            HALO_LOG_WARN("actor {}: its node at {} did not confirm the unreachable worker's exit", actor_id,
                          info.node_address());
            return;
          }
          executor_.RunAfter(settings_.retry_initial_ms, [this, actor_id, attempt, why, tries] {
            ConfirmUnreachableGone(actor_id, attempt, why, tries + 1);
          });
          return;
        }
        InstanceDied(*actor, rpc::CAUSE_WORKER_UNREACHABLE,
                     absl::StrCat("its worker ", info.worker_id(), " (pid ", info.pid(), ") on node ", info.node_id(),
                                  " could not be reached at ", info.address(), " (", why,
                                  "); its node killed it"),
                     true);
      });
}

int64_t ActorManager::RestartDelayMs(Actor& actor) {
  rpc::ActorInfo& info = actor.info;
  const bool stable = actor.alive_since_ms >= 0 &&
                      clock_.MonotonicMs() - actor.alive_since_ms >= settings_.restart_stable_ms;
  // Reloaded after a GCS restart while ALIVE: how long it lived is unknown, so it counts as stable.
  const bool reloaded_alive = actor.alive_since_ms < 0 && info.state() == rpc::ACTOR_ALIVE;
  const bool was_alive = actor.alive_since_ms >= 0;
  actor.alive_since_ms = -1;
  if (stable || reloaded_alive) {
    info.set_quick_deaths(0);
    return 0;
  }
  info.set_quick_deaths(info.quick_deaths() + 1);
  // One death soon after starting is not a loop yet: restarted at once. A death while being made, or the
  // second quick death in a row, waits.
  const int32_t doublings = info.quick_deaths() - (was_alive ? 2 : 1);
  if (doublings < 0) return 0;
  int64_t delay = settings_.restart_delay_initial_ms;
  for (int32_t i = 0; i < doublings && delay < settings_.restart_delay_max_ms; ++i) delay *= 2;
  return std::min(delay, settings_.restart_delay_max_ms);
}

void ActorManager::Watch(const std::string& actor_id, uint64_t attempt) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr || actor->attempt != attempt || actor->info.state() != rpc::ACTOR_ALIVE) return;
  rpc::WatchActorRequest request;
  request.set_actor_id(actor_id);
  request.set_instance(actor->info.num_restarts());
  request.set_wait_ms(settings_.watch_wait_ms);
  peers_.WatchActor(actor->info.address(), request, [this, actor_id, attempt](StatusOr<rpc::WatchActorReply> reply) {
    Actor* actor = Find(actor_id);
    if (actor == nullptr || actor->attempt != attempt || actor->info.state() != rpc::ACTOR_ALIVE) return;
    if (!reply.ok()) return OnWatchBroken(actor_id, attempt, std::string(reply.status().message()));
    if (reply->exited()) return Die(*actor, rpc::CAUSE_EXITED, reply->message());
    Watch(actor_id, attempt);
  });
}

void ActorManager::OnWatchBroken(const std::string& actor_id, uint64_t attempt, const std::string& why) {
  Actor* actor = Find(actor_id);
  const rpc::ActorInfo& info = actor->info;
  peers_.GetWorkerExit(
      info.node_address(), info.worker_id(),
      [this, actor_id, attempt, why](StatusOr<rpc::GetWorkerExitReply> exit) {
        Actor* actor = Find(actor_id);
        if (actor == nullptr || actor->attempt != attempt || actor->info.state() != rpc::ACTOR_ALIVE) return;
        const rpc::ActorInfo& info = actor->info;
        const std::string who = absl::StrCat("worker ", info.worker_id(), " (pid ", info.pid(), ") on node ",
                                             info.node_id());
        if (exit.ok() && exit->exited()) {
          return InstanceDied(*actor, rpc::CAUSE_WORKER_DIED, absl::StrCat(who, " died: ", exit->description()),
                              true);
        }
        if (!exit.ok() && exit.status().code() == absl::StatusCode::kNotFound) {
          return InstanceDied(*actor, rpc::CAUSE_WORKER_DIED,
                              absl::StrCat(who, " is unknown to its node (", why, ")"), true);
        }
        auto node = nodes_.find(info.node_id());
        if (node == nodes_.end() || node->second.state() == rpc::DEAD) {
          const bool drained = node != nodes_.end() && node->second.death_reason() == rpc::DRAINED;
          actor->info.clear_lease_id();
          return InstanceDied(*actor, rpc::CAUSE_NODE_DIED, absl::StrCat("its node ", info.node_id(), " is dead"),
                              !drained);
        }
        // The worker still runs (a blip), or its node does not answer: watch again after a pause; if the node
        // is gone its death arrives from the node table.
        executor_.RunAfter(settings_.retry_initial_ms, [this, actor_id, attempt] { Watch(actor_id, attempt); });
      });
}

void ActorManager::ReleaseWorker(rpc::ActorInfo& info) {
  if (!info.lease_id().empty()) peers_.KillWorker(info.node_address(), info.lease_id());
  info.clear_lease_id();
  info.clear_worker_id();
  info.clear_address();
  info.clear_pid();
  info.clear_node_id();
  info.clear_node_address();
}

void ActorManager::InstanceDied(Actor& actor, rpc::ActorDeathCause cause, const std::string& message, bool counts,
                                std::function<void(Status)> done) {
  rpc::ActorInfo& info = actor.info;
  const bool may_restart = !counts || info.max_restarts() < 0 || info.num_failure_restarts() < info.max_restarts();
  if (!may_restart) {
    return Die(actor, cause, absl::StrCat(message, "; it was restarted ", info.num_failure_restarts(),
                                          " time(s), max_restarts=", info.max_restarts()),
               std::move(done));
  }
  const int64_t delay_ms = RestartDelayMs(actor);
  actor.attempt += 1;
  ReleaseWorker(info);
  info.set_state(rpc::RESTARTING);
  if (actor.restart_since_ms < 0) actor.restart_since_ms = clock_.MonotonicMs();
  info.set_next_attempt_time_ms(delay_ms > 0 ? clock_.WallMs() + delay_ms : 0);
  info.set_num_restarts(info.num_restarts() + 1);
  if (counts) info.set_num_failure_restarts(info.num_failure_restarts() + 1);
  info.set_death_cause(cause);  // why the last instance ended
  info.set_death_message(message);
  HALO_LOG_INFO("actor {} restarts (instance {}{}): {}", info.actor_id(), info.num_restarts(),
                delay_ms > 0 ? absl::StrCat(", in ", delay_ms, " ms") : "", message);
  Commit(actor, [this, id = info.actor_id(), done = std::move(done)](Status status) {
    if (done) done(status);
  });
  if (delay_ms == 0) {
    Schedule(info.actor_id());  // placement need not wait for the row; the ALIVE row follows this one
    return;
  }
  executor_.RunAfter(delay_ms, [this, id = info.actor_id(), attempt = actor.attempt] {
    Actor* actor = Find(id);
    if (actor != nullptr && actor->attempt == attempt) Schedule(id);
  });
}

void ActorManager::Die(Actor& actor, rpc::ActorDeathCause cause, const std::string& message,
                       std::function<void(Status)> done) {
  rpc::ActorInfo& info = actor.info;
  if (!Live(info)) {
    if (done) done(OkStatus());
    return;
  }
  actor.attempt += 1;
  actor.waiting_for_node = false;
  const std::string last_node = info.node_id();
  ReleaseWorker(info);
  info.set_state(rpc::ACTOR_DEAD);
  info.set_death_cause(cause);
  info.set_death_message(message);
  if (!info.name().empty()) names_.erase(NameKey(info.namespace_(), info.name()));
  HALO_LOG_INFO("actor {} is dead ({}): {}", info.actor_id(), ActorDeathCauseName(cause), message);
  const std::string owner = info.owner_address();
  dead_order_.push_back(info.actor_id());
  actor.restart_since_ms = -1;
  rpc::ClusterEvent event = MakeEvent(
      rpc::EVENT_ACTOR_DIED, absl::StrCat("actor ", info.name().empty() ? info.actor_id() : info.name(), " is dead (",
                                          ActorDeathCauseName(cause), "): ", message));
  event.set_actor_id(info.actor_id());
  event.set_node_id(last_node);
  event.set_job_id(info.job_id());
  Commit(actor, [events = events_, event = std::move(event), done = std::move(done)](Status status) mutable {
    if (status.ok() && events != nullptr) events->Record(std::move(event));
    if (done) done(status);
  });
  ForgetOwnerIfUnused(owner);
  EvictOldDead();
}

void ActorManager::EvictOldDead() {
  while (dead_order_.size() > static_cast<size_t>(settings_.dead_actors_max)) {
    const std::string oldest = dead_order_.front();
    dead_order_.pop_front();
    auto it = actors_.find(oldest);
    if (it == actors_.end() || Live(it->second.info)) continue;
    // Waiters of a forgotten actor hear it is dead once more before it goes.
    for (auto& [token, waiter] : it->second.waiters) {
      executor_.Cancel(waiter.timer);
      num_waiters_ -= 1;
      waiter.done(it->second.published);
    }
    actors_.erase(it);
    store_.AsyncDelete(kActorTable, oldest, [](StatusOr<bool>) {});
  }
}

void ActorManager::WatchOwner(const rpc::ActorInfo& info) {
  if (info.detached() || info.owner_address().empty()) return;
  owner_checks_.AddNode(info.owner_address(), info.owner_address());
}

void ActorManager::ForgetOwnerIfUnused(const std::string& owner_address) {
  if (owner_address.empty()) return;
  for (const auto& [id, actor] : actors_) {
    if (Live(actor.info) && !actor.info.detached() && actor.info.owner_address() == owner_address) return;
  }
  owner_checks_.RemoveNode(owner_address);
}

void ActorManager::OnNodeFailed(const std::string& owner_address) {
  std::vector<std::string> doomed;
  for (const auto& [id, actor] : actors_) {
    if (Live(actor.info) && !actor.info.detached() && actor.info.owner_address() == owner_address) {
      doomed.push_back(id);
    }
  }
  for (const auto& id : doomed) {
    Die(actors_.at(id), rpc::CAUSE_OWNER_DIED,
        absl::StrCat("its owner at ", owner_address, " stopped answering health checks"));
  }
  owner_checks_.RemoveNode(owner_address);
}

void ActorManager::OnJobChanged(const rpc::JobInfo& job) {
  if (!job.is_finished()) return;
  std::vector<std::string> doomed;
  for (const auto& [id, actor] : actors_) {
    if (Live(actor.info) && !actor.info.detached() && actor.info.job_id() == job.job_id()) doomed.push_back(id);
  }
  for (const auto& id : doomed) {
    Die(actors_.at(id), rpc::CAUSE_OWNER_DIED, absl::StrCat("its job ", job.job_id(), " ended: ", job.end_reason()));
  }
}

void ActorManager::OnNodeChanged(const rpc::NodeInfo& node) {
  nodes_[node.node_id()] = node;
  if (node.state() == rpc::ALIVE) {
    std::vector<std::string> waiting;
    for (const auto& [id, actor] : actors_) {
      if (actor.waiting_for_node) waiting.push_back(id);
    }
    for (const auto& id : waiting) Schedule(id);
    return;
  }
  if (node.state() != rpc::DEAD) return;
  // A drained node's actors did not fail: their restarts do not count.
  const bool counts = node.death_reason() != rpc::DRAINED;
  std::vector<std::string> lost;
  for (const auto& [id, actor] : actors_) {
    if (Live(actor.info) && actor.info.node_id() == node.node_id()) lost.push_back(id);
  }
  // A lease request waiting at the dead node is never answered when its host went silent: start over.
  std::vector<std::string> unanswered;
  for (auto& [id, actor] : actors_) {
    if (!Live(actor.info) || actor.leasing_node_address != node.address() || actor.info.node_id() == node.node_id()) {
      continue;
    }
    actor.leasing_node_address.clear();
    ++actor.attempt;  // its answer, should one still come, is for an abandoned attempt (and its worker killed)
    unanswered.push_back(id);
  }
  for (const auto& id : unanswered) {
    HALO_LOG_INFO("actor {}: its lease request waited at node {}, which died; placing it again", id, node.node_id());
    Schedule(id);
  }
  for (const auto& id : lost) {
    Actor& actor = actors_.at(id);
    actor.info.clear_lease_id();  // nothing to kill: the node is gone
    InstanceDied(actor, rpc::CAUSE_NODE_DIED,
                 absl::StrCat("its node ", node.node_id(), " died (", DeathReasonName(node.death_reason()),
                              node.death_message().empty() ? "" : ": " + node.death_message(), ")"),
                 counts);
  }
}

}  // namespace halo::gcs
