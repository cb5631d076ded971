// The worker side of task execution: batches pushed by owners queue here and run one task at a time on the
// thread that calls Run() (the worker's main thread, so user code may itself submit tasks and block in Get).
// A task's exception becomes a TASK_EXCEPTION result naming its type, message and where it ran.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "common/status.h"
#include "proto/core.pb.h"

namespace halo::core {

// How an executing task reaches objects in node stores: argument objects passed by reference, and results
// too large to travel inline.
class ObjectAccess {
 public:
  virtual ~ObjectAccess() = default;
  virtual StatusOr<std::string> Fetch(const rpc::ObjectRefInfo& ref) = 0;
  virtual StatusOr<rpc::ObjectLocation> Store(const std::string& id, const std::string& value) = 0;
  virtual size_t inline_max_bytes() const = 0;
};

class TaskExecutor {
 public:
  TaskExecutor(std::string where, ObjectAccess* objects) : where_(std::move(where)), objects_(objects) {}

  // Thread-safe. done() runs on the executing thread once every task of the batch has a result in *reply.
  void Enqueue(const rpc::PushTasksRequest* request, rpc::PushTasksReply* reply, std::function<void()> done);
  // Thread-safe. Runs work on the executing thread, after what is already queued (actor construction and calls).
  void Post(std::function<void()> work);
  // Called before each piece of work runs and before each reply leaves (the worker's lease check, which ends
  // the process when the lease lapsed). Set before Run().
  void SetGate(std::function<void()> gate) { gate_ = std::move(gate); }
  void PassGate() const {
    if (gate_) gate_();
  }
  // Runs batches for as long as the process lives (a worker ends with its process).
  [[noreturn]] void Run();

  // Runs one task through the function registry: a plain function, or, given an actor instance, a method
  // of it. Without object access, ref arguments fail and results always travel inline. *exit_requested is set
  // when an actor method called halo::ExitActor.
  static rpc::TaskResult Execute(const rpc::TaskSpec& spec, const std::string& where, ObjectAccess* objects,
                                 void* actor_instance = nullptr, bool* exit_requested = nullptr);
  // A failed result naming the error.
  static rpc::TaskResult Failure(const rpc::TaskSpec& spec, rpc::ErrorKind kind, std::string type_name,
                                 std::string message, const std::string& where);
  // The demangled type of the exception being handled.
  static std::string CurrentExceptionTypeName();

 private:
  void RunBatch(const rpc::PushTasksRequest* request, rpc::PushTasksReply* reply);

  std::string where_;
  ObjectAccess* objects_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> queue_;
  std::function<void()> gate_;
};

}  // namespace halo::core
