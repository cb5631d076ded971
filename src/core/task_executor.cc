#include "core/task_executor.h"

#include <cxxabi.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "halo/internal/function_registry.h"
#include "halo/internal/runtime.h"

namespace halo::core {
std::string TaskExecutor::CurrentExceptionTypeName() {
  const std::type_info* type = abi::__cxa_current_exception_type();
  if (type == nullptr) return "unknown";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(type->name(), nullptr, nullptr, &status),
                                                    std::free);
  return status == 0 && demangled ? std::string(demangled.get()) : std::string(type->name());
}

rpc::TaskResult TaskExecutor::Failure(const rpc::TaskSpec& spec, rpc::ErrorKind kind, std::string type_name,
                                      std::string message, const std::string& where) {
  rpc::TaskResult result;
  result.set_task_id(spec.task_id());
  result.set_failed(true);
  result.mutable_error()->set_kind(kind);
  result.mutable_error()->set_type_name(std::move(type_name));
  result.mutable_error()->set_message(std::move(message));
  result.mutable_error()->set_where(where);
  return result;
}

rpc::TaskResult TaskExecutor::Execute(const rpc::TaskSpec& spec, const std::string& where, ObjectAccess* objects,
                                      void* actor_instance, bool* exit_requested) {
  const internal::Invoker* invoker = nullptr;
  const internal::MethodInvoker* method = nullptr;
  if (actor_instance != nullptr) {
    method = internal::FindMethodInvoker(spec.function_name());
  } else {
    invoker = internal::FindInvoker(spec.function_name());
  }
  if (invoker == nullptr && method == nullptr) {
    return Failure(spec, rpc::TASK_UNSCHEDULABLE, "", "function '" + spec.function_name() +
                   "' is not registered with HALO_REMOTE in the worker's executable", where);
  }
  std::vector<std::string> fetched;  // owns the bytes of argument objects while the task runs
  fetched.reserve(spec.args_size());
  for (const auto& arg : spec.args()) {
    if (!arg.has_ref()) continue;
    StatusOr<std::string> value = objects == nullptr
                                      ? StatusOr<std::string>(UnavailableError("no object store here"))
                                      : objects->Fetch(arg.ref());
    if (!value.ok()) {
      rpc::TaskResult lost = Failure(spec, rpc::OBJECT_LOST, "",
                                     "argument object " + arg.ref().object_id() + " could not be fetched: " +
                                         std::string(value.status().message()),
                                     where);
      lost.mutable_error()->set_lost_object_id(arg.ref().object_id());
      return lost;
    }
    fetched.push_back(std::move(*value));
  }
  std::vector<std::string_view> args;
  args.reserve(spec.args_size());
  size_t next_fetched = 0;
  for (const auto& arg : spec.args()) {
    args.emplace_back(arg.has_ref() ? std::string_view(fetched[next_fetched++]) : std::string_view(arg.value()));
  }
  std::string value;
  try {
    value = method != nullptr ? (*method)(actor_instance, args) : (*invoker)(args);
  } catch (const internal::ActorExitRequest&) {
    if (exit_requested != nullptr) *exit_requested = true;
    return Failure(spec, rpc::ACTOR_DIED, "", "the actor called halo::ExitActor during this call", where);
  } catch (const std::exception& error) {
    return Failure(spec, rpc::TASK_EXCEPTION, CurrentExceptionTypeName(), error.what(), where);
  } catch (...) {
    return Failure(spec, rpc::TASK_EXCEPTION, CurrentExceptionTypeName(), "a non-standard exception was thrown",
                   where);
  }
  rpc::TaskResult result;
  result.set_task_id(spec.task_id());
  if (objects != nullptr && !spec.return_inline() && value.size() > objects->inline_max_bytes()) {
    auto location = objects->Store(spec.task_id(), value);
    if (!location.ok()) {
      return Failure(spec, rpc::WORKER_CRASHED, "",
                     "the result could not be stored in the node's object store: " +
                         std::string(location.status().message()),
                     where);
    }
    *result.mutable_location() = std::move(*location);
    result.set_stored(true);
    return result;
  }
  result.set_value(std::move(value));
  return result;
}

void TaskExecutor::Enqueue(const rpc::PushTasksRequest* request, rpc::PushTasksReply* reply,
                           std::function<void()> done) {
  Post([this, request, reply, done = std::move(done)] {
    RunBatch(request, reply);
    PassGate();
    done();
  });
}

void TaskExecutor::Post(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(work));
  }
  changed_.notify_one();
}

void TaskExecutor::Run() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return !queue_.empty(); });
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    PassGate();
    work();
  }
}

void TaskExecutor::RunBatch(const rpc::PushTasksRequest* request, rpc::PushTasksReply* reply) {
  const auto start = std::chrono::steady_clock::now();
  for (const auto& spec : request->tasks()) {
    PassGate();  // a batch may take long: each task checks the lease before it runs
    const auto task_start = std::chrono::steady_clock::now();
    rpc::TaskResult* result = reply->add_results();
    *result = Execute(spec, where_, objects_);
    result->set_run_us(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - task_start).count());
  }
  reply->set_run_us(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace halo::core
