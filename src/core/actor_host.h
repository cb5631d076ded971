// The actor's side inside its worker process: builds the instance when the GCS asks (on the worker's main
// thread, where all of the actor's code runs), runs calls one at a time in each caller's sequence order
// (calls that arrive early wait for the ones before them), holds the GCS' watch calls, and carries out
// halo::ExitActor: the GCS is told, every unfinished call fails with ACTOR_DIED, then the process exits.
// Thread-safe: gRPC threads hand calls in; the main thread runs them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/executor.h"
#include "core/task_executor.h"
#include "proto/core.pb.h"

namespace halo::core {

class ActorHost {
 public:
  struct Hooks {
    // Told before the process exits after halo::ExitActor (the GCS must not restart the actor).
    std::function<void(const rpc::ActorInfo& actor, const std::string& message)> report_exit;
    // Ends the process once replies are out.
    std::function<void()> exit_process;
    // The actor is built: a detached one no longer follows its driver.
    std::function<void(const rpc::ActorInfo& actor)> on_created;
  };

  ActorHost(TaskExecutor& tasks, Executor& executor, ObjectAccess* objects, std::string where, Hooks hooks)
      : tasks_(tasks), executor_(executor), objects_(objects), where_(std::move(where)), hooks_(std::move(hooks)) {}

  // From the GCS. done runs once the constructor returned or threw.
  void Create(const rpc::CreateActorRequest& request, std::function<void(rpc::CreateActorReply)> done);
  // From a caller. done runs once every call has a result in *reply (or the request was refused).
  void Push(const rpc::PushActorTasksRequest& request, rpc::PushActorTasksReply* reply, std::function<void()> done);
  // From the GCS. finish runs exactly once: after wait_ms, when the actor exits, on CancelWatch(token), or at
  // once (refused) when this worker does not host that instance.
  uint64_t Watch(const rpc::WatchActorRequest& request,
                 std::function<void(bool exited, const std::string& message, bool refused)> finish);
  void CancelWatch(uint64_t token);

  bool restarted() const;

 private:
  struct Batch {
    rpc::PushActorTasksReply* reply;
    std::function<void()> done;
    int remaining = 0;
  };
  struct Waiting {
    std::shared_ptr<Batch> batch;
    int index = 0;
    const rpc::TaskSpec* call = nullptr;  // in the batch's request, alive until the batch is done
  };
  struct Caller {
    bool started = false;
    uint64_t next = 0;
    std::map<uint64_t, Waiting> waiting;  // by sequence
  };
  // Sends the calls that are next in line to the main thread. Under the lock.
  void DrainLocked(Caller& caller);
  void RunCall(const std::shared_ptr<Batch>& batch, int index, const rpc::TaskSpec& call);
  void CompleteOne(const std::shared_ptr<Batch>& batch);
  void BeginExit(const std::string& message);

  TaskExecutor& tasks_;
  Executor& executor_;
  ObjectAccess* objects_;
  std::string where_;
  Hooks hooks_;
  mutable std::mutex mutex_;
  rpc::ActorInfo actor_;            // set once built
  bool built_ = false;
  bool creating_ = false;
  bool exiting_ = false;
  std::shared_ptr<void> instance_;  // main thread only
  std::unordered_map<std::string, Caller> callers_;
  std::map<uint64_t, std::function<void(bool, const std::string&, bool)>> watches_;
  uint64_t next_watch_ = 1;
};

}  // namespace halo::core
