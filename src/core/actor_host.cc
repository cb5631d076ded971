#include "core/actor_host.h"

#include <chrono>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "halo/internal/function_registry.h"

namespace halo::core {

void ActorHost::Create(const rpc::CreateActorRequest& request, std::function<void(rpc::CreateActorReply)> done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (built_ || creating_) {
      rpc::CreateActorReply reply;
      reply.set_failed(true);
      reply.mutable_error()->set_kind(rpc::ACTOR_DIED);
      reply.mutable_error()->set_message("this worker already hosts an actor");
      done(reply);
      return;
    }
    creating_ = true;
  }
  tasks_.Post([this, actor = request.actor(), done = std::move(done)] {
    rpc::CreateActorReply reply;
    const rpc::TaskSpec& creation = actor.creation();
    const internal::ActorFactory* factory = internal::FindActorFactory(creation.function_name());
    std::vector<std::string_view> args;
    for (const auto& arg : creation.args()) args.emplace_back(arg.value());
    std::shared_ptr<void> instance;
    if (factory == nullptr) {
      reply.set_failed(true);
      reply.mutable_error()->set_message("actor factory '" + creation.function_name() +
                                         "' is not registered with HALO_REMOTE in the worker's executable");
    } else {
      try {
        instance = (*factory)(args);
      } catch (const std::exception& error) {
        reply.set_failed(true);
        reply.mutable_error()->set_type_name(TaskExecutor::CurrentExceptionTypeName());
        reply.mutable_error()->set_message(error.what());
      } catch (...) {
        reply.set_failed(true);
        reply.mutable_error()->set_type_name(TaskExecutor::CurrentExceptionTypeName());
        reply.mutable_error()->set_message("a non-standard exception was thrown");
      }
      if (!reply.failed() && instance == nullptr) {
        reply.set_failed(true);
        reply.mutable_error()->set_message("the factory returned nullptr");
      }
    }
    if (reply.failed()) {
      reply.mutable_error()->set_kind(rpc::ACTOR_DIED);
      reply.mutable_error()->set_where(where_);
    } else {
      instance_ = std::move(instance);
      std::lock_guard<std::mutex> lock(mutex_);
      actor_ = actor;
      built_ = true;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      creating_ = false;
    }
    if (!reply.failed() && hooks_.on_created) hooks_.on_created(actor);
    done(reply);
  });
}

bool ActorHost::restarted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return built_ && actor_.num_restarts() > 0;
}

void ActorHost::Push(const rpc::PushActorTasksRequest& request, rpc::PushActorTasksReply* reply,
                     std::function<void()> done) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!built_ || request.actor_id() != actor_.actor_id() || request.instance() != actor_.num_restarts()) {
    reply->set_refused(built_ ? absl::StrCat("this worker hosts instance ", actor_.num_restarts(), " of actor ",
                                             actor_.actor_id(), ", not instance ", request.instance(), " of ",
                                             request.actor_id())
                              : "this worker hosts no actor");
    lock.unlock();
    done();
    return;
  }
  auto batch = std::make_shared<Batch>();
  batch->reply = reply;
  batch->done = std::move(done);
  batch->remaining = request.calls_size();
  for (int i = 0; i < request.calls_size(); ++i) reply->add_results();
  if (exiting_) {
    for (int i = 0; i < request.calls_size(); ++i) {
      *reply->mutable_results(i) = TaskExecutor::Failure(request.calls(i), rpc::ACTOR_DIED, "",
                                                         "the actor exited (halo::ExitActor)", where_);
    }
    lock.unlock();
    batch->done();
    return;
  }
  Caller& caller = callers_[request.caller_id()];
  std::vector<std::shared_ptr<Batch>> released;
  if (!caller.started || request.start_sequence() > caller.next) {
    // The caller finished or gave up everything below start_sequence: nothing to wait for there. Copies of
    // those calls still waiting here are answered (the caller no longer expects them).
    caller.started = true;
    caller.next = request.start_sequence();
    for (auto it = caller.waiting.begin(); it != caller.waiting.end() && it->first < caller.next;
         it = caller.waiting.erase(it)) {
      *it->second.batch->reply->mutable_results(it->second.index) = TaskExecutor::Failure(
          *it->second.call, rpc::ACTOR_UNAVAILABLE, "", "the caller gave this call up", where_);
      if (--it->second.batch->remaining == 0) released.push_back(it->second.batch);
    }
  }
  int answered = 0;
  for (int i = 0; i < request.calls_size(); ++i) {
    const rpc::TaskSpec& call = request.calls(i);
    if (call.sequence() < caller.next) {
      // Only a re-send to the same instance after a broken call gets here; its first run may have happened.
      *reply->mutable_results(i) = TaskExecutor::Failure(
          call, rpc::ACTOR_UNAVAILABLE, "", "this call was sent to the same instance twice; it may have run", where_);
      answered += 1;
      continue;
    }
    auto [slot, added] = caller.waiting.try_emplace(call.sequence(), Waiting{batch, i, &call});
    if (!added) {
      // A newer copy of a call still waiting here (re-sent to the same instance): the older copy's batch is
      // answered for it.
      Waiting& older = slot->second;
      *older.batch->reply->mutable_results(older.index) = TaskExecutor::Failure(
          *older.call, rpc::ACTOR_UNAVAILABLE, "", "this call was sent again", where_);
      if (--older.batch->remaining == 0) released.push_back(older.batch);
      older = Waiting{batch, i, &call};
    }
  }
  batch->remaining -= answered;
  DrainLocked(caller);
  const bool complete = batch->remaining == 0;
  lock.unlock();
  for (auto& other : released) other->done();
  if (complete) {
    tasks_.PassGate();
    batch->done();
  }
}

void ActorHost::DrainLocked(Caller& caller) {
  for (auto it = caller.waiting.begin(); it != caller.waiting.end() && it->first == caller.next;
       it = caller.waiting.erase(it)) {
    caller.next += 1;
    tasks_.Post([this, waiting = it->second] { RunCall(waiting.batch, waiting.index, *waiting.call); });
  }
}

void ActorHost::RunCall(const std::shared_ptr<Batch>& batch, int index, const rpc::TaskSpec& call) {
  bool exiting;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    exiting = exiting_;
  }
  rpc::TaskResult* result = batch->reply->mutable_results(index);
  bool exit_requested = false;
  if (call.skipped()) {
    // Only holds its place in the caller's order; the caller fails it with its argument's error.
    *result = TaskExecutor::Failure(call, rpc::ACTOR_UNAVAILABLE, "", "not run: its argument failed", where_);
  } else if (exiting) {
    *result = TaskExecutor::Failure(call, rpc::ACTOR_DIED, "", "the actor exited (halo::ExitActor)", where_);
  } else {
    const auto start = std::chrono::steady_clock::now();
    *result = TaskExecutor::Execute(call, where_, objects_, instance_.get(), &exit_requested);
    result->set_run_us(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
  }
  CompleteOne(batch);
  if (exit_requested) BeginExit("the actor called halo::ExitActor");
}

void ActorHost::CompleteOne(const std::shared_ptr<Batch>& batch) {
  bool complete;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    complete = --batch->remaining == 0;
  }
  if (complete) {
    tasks_.PassGate();
    batch->done();
  }
}

void ActorHost::BeginExit(const std::string& message) {
  rpc::ActorInfo actor;
  std::vector<std::shared_ptr<Batch>> to_fail;
  std::vector<std::pair<std::shared_ptr<Batch>, int>> failed_calls;
  std::map<uint64_t, std::function<void(bool, const std::string&, bool)>> watches;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    exiting_ = true;
    actor = actor_;
    for (auto& [id, caller] : callers_) {
      for (auto& [sequence, waiting] : caller.waiting) {
        *waiting.batch->reply->mutable_results(waiting.index) = TaskExecutor::Failure(
            *waiting.call, rpc::ACTOR_DIED, "", "the actor exited (halo::ExitActor)", where_);
        failed_calls.emplace_back(waiting.batch, waiting.index);
      }
      caller.waiting.clear();
    }
    watches.swap(watches_);
  }
  HALO_LOG_INFO("actor {} exits: {}", actor.actor_id(), message);
  if (hooks_.report_exit) hooks_.report_exit(actor, message);
  for (auto& [token, finish] : watches) finish(true, message, false);
  for (auto& [batch, index] : failed_calls) CompleteOne(batch);
  // Calls already queued on this thread fail as they come up (exiting_); then the process ends.
  tasks_.Post([this] {
    if (hooks_.exit_process) hooks_.exit_process();
  });
}

uint64_t ActorHost::Watch(const rpc::WatchActorRequest& request,
                          std::function<void(bool exited, const std::string& message, bool refused)> finish) {
  uint64_t token;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const bool mine = built_ && request.actor_id() == actor_.actor_id() && request.instance() == actor_.num_restarts();
    if (!mine || exiting_) {
      // Leaving, or not this instance (the address was reused): the GCS then asks the node how it ended.
      finish(exiting_, exiting_ ? "the actor exited (halo::ExitActor)" : "", !exiting_);
      return 0;
    }
    token = next_watch_++;
    watches_[token] = std::move(finish);
  }
  executor_.Post([this, token, wait_ms = request.wait_ms()] {
    executor_.RunAfter(wait_ms, [this, token] {
      std::function<void(bool, const std::string&, bool)> finish;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = watches_.find(token);
        if (it == watches_.end()) return;
        finish = std::move(it->second);
        watches_.erase(it);
      }
      finish(false, "", false);
    });
  });
  return token;
}

void ActorHost::CancelWatch(uint64_t token) {
  std::function<void(bool, const std::string&, bool)> finish;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = watches_.find(token);
    if (it == watches_.end()) return;
    finish = std::move(it->second);
    watches_.erase(it);
  }
  finish(false, "", false);
}

}  // namespace halo::core
