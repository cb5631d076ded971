// The worker side of task execution: batches pushed by owners queue here and run one task at a time on the
// thread that calls Run() (the worker's main thread, so user code may itself submit tasks and block in Get).
// A task's exception becomes a TASK_EXCEPTION result naming its type, message and where it ran.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "proto/core.pb.h"

namespace halo::core {

class TaskExecutor {
 public:
  explicit TaskExecutor(std::string where) : where_(std::move(where)) {}

  // Thread-safe. done() runs on the executing thread once every task of the batch has a result in *reply.
  void Enqueue(const rpc::PushTasksRequest* request, rpc::PushTasksReply* reply, std::function<void()> done);
  // Runs batches until Stop().
  void Run();
  void Stop();

  // Runs one task through the function registry.
  static rpc::TaskResult Execute(const rpc::TaskSpec& spec, const std::string& where);

 private:
  struct Work {
    const rpc::PushTasksRequest* request;
    rpc::PushTasksReply* reply;
    std::function<void()> done;
  };
  std::string where_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Work> queue_;
  bool stopped_ = false;
};

}  // namespace halo::core
