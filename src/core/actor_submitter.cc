#include "core/actor_submitter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/logging.h"
#include "core/task_submitter.h"
#include "rpc/async_call.h"

namespace halo::core {

using Kind = internal::ErrorInfo::Kind;

ActorSubmitter::ActorSubmitter(Executor& executor, ObjectTable& objects, CoreRpcClients& clients,
                               ActorSubmitterSettings settings)
    : executor_(executor),
      objects_(objects),
      clients_(clients),
      settings_(std::move(settings)),
      backoff_(settings_.retry_initial_ms, settings_.retry_max_ms),
      gcs_(settings_.gcs_address,
           [](const std::string& address) { return std::make_shared<GcsAddress>(GcsAddress{address}); }),
      pins_(objects) {
  if (gcs_.empty()) gcs_.Redirect(settings_.gcs_address);  // as given: its calls then fail and say why
}

void ActorSubmitter::AddActor(const rpc::ActorHandleInfo& info) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Shared& shared = shared_[info.actor_id()];
    if (shared.info.actor_id().empty() || info.num_restarts() > shared.info.num_restarts()) shared.info = info;
  }
  executor_.Post([this, info] {
    auto [it, added] = actors_.try_emplace(info.actor_id());
    Actor& actor = it->second;
    if (added || (info.num_restarts() > actor.info.num_restarts() && actor.info.state() != rpc::ACTOR_DEAD)) {
      actor.info = info;
    }
    actor.forgotten = false;
    Poll(info.actor_id());
  });
}

std::optional<rpc::ActorHandleInfo> ActorSubmitter::Describe(const std::string& actor_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = shared_.find(actor_id);
  if (it == shared_.end()) return std::nullopt;
  return it->second.info;
}

ActorSubmitter::Reservation ActorSubmitter::TryReserveCall(const std::string& actor_id, std::string* dead_message) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = shared_.find(actor_id);
  if (it == shared_.end()) return Reservation::kUnknownActor;
  Shared& shared = it->second;
  if (shared.info.state() == rpc::ACTOR_DEAD) {
    *dead_message = shared.death_message;
    return Reservation::kDead;
  }
  const int32_t max = shared.info.max_pending_calls();
  if (max > 0 && shared.pending >= max) return Reservation::kLimitReached;
  shared.pending += 1;
  return Reservation::kReserved;
}

void ActorSubmitter::CallDone(const std::string& actor_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = shared_.find(actor_id);
  if (it != shared_.end() && it->second.pending > 0) it->second.pending -= 1;
}

void ActorSubmitter::Publish(const std::string& actor_id, const Actor& actor) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = shared_.find(actor_id);
  if (it == shared_.end()) return;
  it->second.info = actor.info;
  it->second.death_message = actor.death_message;
}

void ActorSubmitter::Submit(rpc::TaskSpec call) {
  HALO_DCHECK(!objects_.AllComplete({call.task_id()})) << "call " << call.task_id() << "'s result is not pending";
  const std::string actor_id = call.actor_id();
  Actor& actor = actors_[actor_id];
  const uint64_t sequence = actor.next_sequence++;
  call.set_sequence(sequence);
  const std::vector<std::pair<int, std::string>> refs = RefArguments(call);
  pins_.Adopt(call);
  if (actor.info.state() == rpc::ACTOR_DEAD) {
    FailCall(call, Kind::kActorDied, actor.death_message);  // releases the pins
    return;
  }
  Call& entry = actor.unsent[sequence];
  entry.spec = std::move(call);
  entry.unresolved = static_cast<int>(refs.size());
  WatchArguments(objects_, executor_, refs, [this, actor_id, sequence](int index, const ObjectLookup& lookup) {
    OnArgumentReady(actor_id, sequence, index, lookup);
  });
  Pump(actor_id);
}

void ActorSubmitter::OnArgumentReady(const std::string& actor_id, uint64_t sequence, int index,
                                     const ObjectLookup& lookup) {
  auto actor_it = actors_.find(actor_id);
  if (actor_it == actors_.end()) return;
  auto it = actor_it->second.unsent.find(sequence);
  if (it == actor_it->second.unsent.end()) return;
  Call& call = it->second;
  std::optional<internal::ErrorInfo> failed =
      ResolveArgument(call.spec.mutable_args(index), lookup, settings_.inline_max_bytes);
  if (failed && !call.failed) call.failed = std::move(failed);
  if (--call.unresolved > 0) return;
  if (call.failed) {
    // The call fails with its argument's error, but still goes out as a placeholder (not run) so the actor's
    // sequence for this caller has no gap.
    skipped_[call.spec.task_id()] = *call.failed;
    call.spec.set_skipped(true);
    call.spec.clear_args();
  }
  Pump(actor_id);
}

uint64_t ActorSubmitter::FirstUnfinished(const Actor& actor) {
  uint64_t first = actor.next_sequence;
  if (!actor.unsent.empty()) first = std::min(first, actor.unsent.begin()->first);
  if (!actor.sent.empty()) first = std::min(first, actor.sent.begin()->first);
  return first;
}

void ActorSubmitter::Pump(const std::string& actor_id) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  Actor& actor = it->second;
  if (actor.info.state() != rpc::ACTOR_ALIVE || actor.info.address().empty()) {
    Poll(actor_id);
    return;
  }
  if (actor.broken_instance && *actor.broken_instance == actor.info.num_restarts()) return;
  // Calls still out to an older instance must fail (and be re-queued) before anything goes to this one.
  for (const auto& [sequence, sent] : actor.sent) {
    if (sent.first != actor.info.num_restarts()) return;
  }
  while (!actor.unsent.empty() && actor.unsent.begin()->second.unresolved == 0) {
    // Slow (or unmeasured) calls go one call at a time, so each is answered as soon as it finishes.
    const int64_t in_flight_max = run_times_.InFlightMax(actor.unsent.begin()->second.spec.function_name(),
                                                         settings_.batches_in_flight_max);
    if (actor.batches_in_flight >= in_flight_max) break;
    SendBatch(actor_id, actor);
  }
}

void ActorSubmitter::SendBatch(const std::string& actor_id, Actor& actor) {
  rpc::PushActorTasksRequest request;
  request.set_actor_id(actor_id);
  request.set_instance(actor.info.num_restarts());
  request.set_caller_id(settings_.caller_id);
  request.set_start_sequence(FirstUnfinished(actor));
  std::vector<uint64_t> sequences;
  double expected_us = 0;
  while (!actor.unsent.empty() && actor.unsent.begin()->second.unresolved == 0 &&
         static_cast<int64_t>(sequences.size()) < settings_.batch_max && RunTimeEstimates::HasRoom(expected_us)) {
    auto first = actor.unsent.begin();
    expected_us += run_times_.CostUs(first->second.spec.function_name());
    *request.add_calls() = first->second.spec;
    sequences.push_back(first->first);
    const bool first_send = actor.sent
                                .emplace(first->first, std::make_pair(actor.info.num_restarts(),
                                                                      std::move(first->second.spec)))
                                .second;
    HALO_CHECK(first_send) << "call " << first->first << " to actor " << actor_id << " sent while still out";
    actor.unsent.erase(first);
  }
  actor.batches_in_flight += 1;
  const int32_t instance = actor.info.num_restarts();
  clients_.PushActorTasks(actor.info.address(), std::move(request),
                          [this, actor_id, instance, sequences = std::move(sequences)](
                              StatusOr<rpc::PushActorTasksReply> reply) mutable {
                            OnPushed(actor_id, instance, std::move(sequences), std::move(reply));
                          });
}

void ActorSubmitter::OnPushed(const std::string& actor_id, int32_t instance, std::vector<uint64_t> sequences,
                              StatusOr<rpc::PushActorTasksReply> reply) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  Actor& actor = it->second;
  actor.batches_in_flight -= 1;
  const bool ok = reply.ok() && reply->refused().empty() &&
                  reply->results_size() == static_cast<int>(sequences.size());
  if (ok) {
    for (size_t i = 0; i < sequences.size(); ++i) {
      const rpc::TaskResult& result = reply->results(static_cast<int>(i));
      auto sent = actor.sent.find(sequences[i]);
      if (sent == actor.sent.end()) continue;
      run_times_.Record(sent->second.second.function_name(), static_cast<double>(result.run_us()));
    }
    for (size_t i = 0; i < sequences.size(); ++i) {
      auto sent = actor.sent.find(sequences[i]);
      if (sent == actor.sent.end()) continue;  // failed already (FailAll)
      rpc::TaskSpec call = std::move(sent->second.second);
      actor.sent.erase(sent);
      Finish(call, reply->results(static_cast<int>(i)));
    }
    Pump(actor_id);
    return;
  }
  const std::string why = !reply.ok() ? std::string(reply.status().message())
                                      : (reply->refused().empty() ? "malformed reply" : reply->refused());
  actor.broken_instance = std::max(actor.broken_instance.value_or(instance), instance);
  const int32_t max_retries = actor.info.max_task_retries();
  // Refused by the worker (not that instance), or no connection could be made (the instance was gone before
  // they were sent): the calls never ran, so they wait for the next instance whatever their retries.
  const bool never_sent = (reply.ok() && !reply->refused().empty()) ||
                          (!reply.ok() && rpc_util::NotDelivered(reply.status()));
  for (uint64_t sequence : sequences) {
    auto sent = actor.sent.find(sequence);
    if (sent == actor.sent.end()) continue;
    rpc::TaskSpec call = std::move(sent->second.second);
    actor.sent.erase(sent);
    if (never_sent || call.skipped()) {
      actor.unsent[sequence].spec = std::move(call);
    } else if (max_retries < 0 || call.attempt() < max_retries) {
      call.set_attempt(call.attempt() + 1);
      actor.unsent[sequence].spec = std::move(call);  // back in order, ahead of newer calls
    } else {
      call.set_name(why);  // kept for the error message
      actor.awaiting_verdict.emplace(sequence, std::move(call));
    }
  }
  HALO_LOG_INFO("calls to actor {} (instance {}) failed: {}", actor_id, instance, why);
  GiveVerdict(actor_id, actor, false);
  if (actor.info.state() == rpc::ACTOR_DEAD) {
    // Its death is already known: nothing will take the re-queued calls.
    FailEverything(actor_id, actor, Kind::kActorDied, actor.death_message);
    return;
  }
  Poll(actor_id);
  Pump(actor_id);
}

void ActorSubmitter::GiveVerdict(const std::string& actor_id, Actor& actor, bool force) {
  if (actor.awaiting_verdict.empty()) return;
  const bool dead = actor.info.state() == rpc::ACTOR_DEAD;
  const bool moved_on = actor.broken_instance && (actor.info.num_restarts() > *actor.broken_instance ||
                                                  actor.info.state() != rpc::ACTOR_ALIVE);
  if (!dead && !moved_on && !force) {
    if (!actor.verdict_timer) {
      actor.verdict_timer = executor_.RunAfter(settings_.verdict_wait_ms, [this, actor_id] {
        auto it = actors_.find(actor_id);
        if (it == actors_.end()) return;
        it->second.verdict_timer.reset();
        GiveVerdict(actor_id, it->second, true);
      });
    }
    return;
  }
  if (actor.verdict_timer) {
    executor_.Cancel(*actor.verdict_timer);
    actor.verdict_timer.reset();
  }
  std::map<uint64_t, rpc::TaskSpec> failed;
  failed.swap(actor.awaiting_verdict);
  for (const auto& [sequence, call] : failed) {
    if (dead) {
      FailCall(call, Kind::kActorDied, actor.death_message);
    } else {
      FailCall(call, Kind::kActorUnavailable,
               absl::StrCat("actor ", actor_id, " lost its instance during the call (", call.name(),
                            ") and the call is not retried (max_task_retries=", actor.info.max_task_retries(),
                            "); the actor is restarting"));
    }
  }
}

void ActorSubmitter::Poll(const std::string& actor_id) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  Actor& actor = it->second;
  const bool unfinished = !actor.unsent.empty() || !actor.sent.empty() || !actor.awaiting_verdict.empty();
  if (actor.polling || (actor.forgotten && !unfinished) || actor.info.state() == rpc::ACTOR_DEAD) return;
  actor.polling = true;
  rpc::WaitActorRequest request;
  request.set_actor_id(actor_id);
  request.set_known_state(actor.info.state());
  request.set_known_num_restarts(actor.info.num_restarts());
  request.set_wait_ms(settings_.poll_wait_ms);
  auto [index, gcs] = gcs_.At(gcs_.current());
  clients_.WaitActor(gcs->address, request, [this, actor_id, index = index, gcs = gcs](
                                               StatusOr<rpc::WaitActorReply> reply) {
    // Head candidates: a standby sends the next poll to the leader, an unreachable one to the next.
    gcs_.Report(index, gcs, reply.status());
    auto it = actors_.find(actor_id);
    if (it == actors_.end()) return;
    Actor& actor = it->second;
    actor.polling = false;
    if (!reply.ok() && reply.status().code() == absl::StatusCode::kNotFound) {
      // Dead long enough ago that the GCS forgot it.
      rpc::ActorInfo gone;
      gone.set_actor_id(actor_id);
      gone.set_state(rpc::ACTOR_DEAD);
      gone.set_num_restarts(actor.info.num_restarts());
      gone.set_death_message("the GCS no longer knows it: it died long ago");
      OnNews(actor_id, gone);
      return;
    }
    if (!reply.ok()) {
      // The GCS is down or restarting (or that head candidate does not lead): calls keep going to the
      // instance known; news comes when it is back.
      GiveVerdict(actor_id, actor, true);
      executor_.RunAfter(backoff_.NextDelayMs(), [this, actor_id] { Poll(actor_id); });
      return;
    }
    backoff_.Reset();
    OnNews(actor_id, reply->actor());
    Poll(actor_id);
  });
}

void ActorSubmitter::OnNews(const std::string& actor_id, const rpc::ActorInfo& info) {
  Actor& actor = actors_.at(actor_id);
  const bool same = info.state() == actor.info.state() && info.num_restarts() == actor.info.num_restarts();
  actor.info.set_state(info.state());
  actor.info.set_num_restarts(info.num_restarts());
  actor.info.set_address(info.state() == rpc::ACTOR_ALIVE ? info.address() : "");
  if (info.state() == rpc::ACTOR_DEAD) {
    actor.death_message = absl::StrCat("actor ", actor_id, " is dead (", info.death_message(), ")");
  }
  if (same && actor.broken_instance && *actor.broken_instance == info.num_restarts() &&
      info.state() == rpc::ACTOR_ALIVE) {
    actor.broken_instance.reset();  // the GCS still holds it alive after a full wait: the failure was a blip
  }
  Publish(actor_id, actor);
  GiveVerdict(actor_id, actor, false);
  if (info.state() == rpc::ACTOR_DEAD) {
    FailEverything(actor_id, actor, Kind::kActorDied, actor.death_message);
    return;
  }
  Pump(actor_id);
}

void ActorSubmitter::FailEverything(const std::string& actor_id, Actor& actor, internal::ErrorInfo::Kind kind,
                                    const std::string& message) {
  std::map<uint64_t, Call> unsent;
  unsent.swap(actor.unsent);
  for (auto& [sequence, call] : unsent) FailCall(call.spec, kind, message);
  // Calls in flight fail when their batch returns (their worker is gone or going).
  std::map<uint64_t, rpc::TaskSpec> waiting;
  waiting.swap(actor.awaiting_verdict);
  for (const auto& [sequence, call] : waiting) FailCall(call, kind, message);
  (void)actor_id;
}

void ActorSubmitter::FailCall(const rpc::TaskSpec& call, internal::ErrorInfo::Kind kind, const std::string& message) {
  auto skipped = skipped_.find(call.task_id());
  if (skipped != skipped_.end()) {
    objects_.Fail(call.task_id(), std::move(skipped->second));  // its own argument's error says more
    skipped_.erase(skipped);
  } else {
    objects_.Fail(call.task_id(), internal::ErrorInfo{kind, "", message, ""});
  }
  ReleasePins(call.task_id());
  CallDone(call.actor_id());
}

void ActorSubmitter::Finish(const rpc::TaskSpec& call, const rpc::TaskResult& result) {
  auto skipped = skipped_.find(call.task_id());
  if (skipped != skipped_.end()) {
    internal::ErrorInfo error = std::move(skipped->second);
    skipped_.erase(skipped);
    objects_.Fail(call.task_id(), std::move(error));
    ReleasePins(call.task_id());
    CallDone(call.actor_id());
    return;
  }
  ReleasePins(call.task_id());
  CallDone(call.actor_id());
  if (!result.failed()) {
    if (result.stored()) {
      objects_.CompleteStoredByActor(call.task_id(), result.location());
    } else {
      objects_.Complete(call.task_id(), std::make_shared<const std::string>(result.value()));
    }
    return;
  }
  objects_.Fail(call.task_id(), ToErrorInfo(result.error()));
}

void ActorSubmitter::ForgetActor(const std::string& actor_id) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  it->second.forgotten = true;  // its held poll ends by itself; calls already made still finish
}

void ActorSubmitter::FailAll(const std::string& why) {
  for (auto& [id, actor] : actors_) {
    FailEverything(id, actor, Kind::kRuntime, why);
    std::map<uint64_t, std::pair<int32_t, rpc::TaskSpec>> sent;
    sent.swap(actor.sent);
    for (const auto& [sequence, call] : sent) FailCall(call.second, Kind::kRuntime, why);
    actor.forgotten = true;
  }
}

}  // namespace halo::core
