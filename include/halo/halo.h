// Halo's C++ API. A program marks ordinary functions remote with HALO_REMOTE, calls halo::Init, and runs them
// across the cluster with halo::Task(f).Remote(args...). The same executable runs as the driver (the user's
// process) and, started by node agents, as workers: in a worker, Init never returns.
//
//   double Square(double x) { return x * x; }
//   HALO_REMOTE(Square);
//   int main(int argc, char** argv) {
//     halo::Init(argc, argv);                      // --address HOST:PORT or HALO_ADDRESS; default: the local head
//     halo::ObjectRef<double> ref = halo::Task(Square).Remote(3.0);
//     double nine = *halo::Get(ref);
//     halo::Shutdown();
//   }
//
// Failures reach the caller from Get as the exceptions in halo/errors.h.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "halo/errors.h"
#include "halo/internal/function_registry.h"
#include "halo/internal/runtime.h"
#include "halo/serialization.h"

// Marks functions remote: HALO_REMOTE(Load, Sum). Put it at namespace scope in a file of the executable.
#define HALO_REMOTE(...) HALO_INTERNAL_FOR_EACH(HALO_INTERNAL_REGISTER_ONE, __VA_ARGS__)

namespace halo {

// Connects this process to the cluster (driver) or, in a process a node agent started, serves tasks and exits
// without returning. Reads --address (or HALO_ADDRESS); other Halo settings come from flags, HALO_* variables
// and the config file as for the daemons. Throws halo::RuntimeError when the cluster cannot be joined.
void Init(int argc, char** argv);
// Init without command-line arguments (settings from HALO_* variables only).
void Init();
// Marks the job finished and releases what it holds. Objects and refs are unusable afterwards.
void Shutdown();
bool IsInitialized();

using RuntimeStats = internal::RuntimeCounters;
// Counts of what this process' runtime did: tasks submitted, runs lost to failures, retries, rebuilt objects.
RuntimeStats Stats();

namespace internal {

// Shared by every copy of one ObjectRef; the runtime counts it as one local reference.
class RefHandle {
 public:
  explicit RefHandle(std::string id) : id_(std::move(id)) {}
  ~RefHandle() {
    if (Runtime* runtime = CurrentRuntime()) runtime->RemoveLocalReference(id_);
  }
  RefHandle(const RefHandle&) = delete;
  RefHandle& operator=(const RefHandle&) = delete;
  const std::string& id() const { return id_; }

 private:
  std::string id_;
};

}  // namespace internal

// A reference to a value that a task returns or Put stores; pass it to Get, Wait, or as an argument of another
// task (the task then receives the value). Copies refer to the same object; the value is freed when no copy
// anywhere refers to it.
template <typename T>
class ObjectRef {
 public:
  ObjectRef() = default;
  // Adopts a reference the runtime already counted (what SubmitTask and Put return).
  static ObjectRef Adopt(std::string id) {
    ObjectRef ref;
    ref.handle_ = std::make_shared<internal::RefHandle>(std::move(id));
    return ref;
  }
  const std::string& ID() const {
    static const std::string empty;
    return handle_ ? handle_->id() : empty;
  }
  bool IsNil() const { return !handle_; }
  bool operator==(const ObjectRef& other) const { return ID() == other.ID(); }

 private:
  std::shared_ptr<internal::RefHandle> handle_;
};

namespace internal {

template <typename T>
struct IsObjectRef : std::false_type {};
template <typename T>
struct IsObjectRef<ObjectRef<T>> : std::true_type {
  using Value = T;
};

[[noreturn]] void ThrowError(const ErrorInfo& error);

template <typename Param, typename Arg>
TaskArgument MakeArgument(Arg&& arg) {
  using A = std::decay_t<Arg>;
  TaskArgument out;
  if constexpr (IsObjectRef<A>::value) {
    static_assert(std::is_convertible_v<typename IsObjectRef<A>::Value, std::decay_t<Param>>,
                  "an ObjectRef<T> argument needs a parameter that a T converts to");
    if (arg.IsNil()) throw RuntimeError("a nil ObjectRef was passed as a task argument");
    out.is_ref = true;
    out.object_id = arg.ID();
  } else {
    static_assert(std::is_convertible_v<A, std::decay_t<Param>>, "argument type does not match the parameter");
    out.value = Pack(static_cast<std::decay_t<Param>>(std::forward<Arg>(arg)));
  }
  return out;
}

template <typename T>
std::shared_ptr<T> Decode(const ObjectResult& result) {
  if (result.error) ThrowError(*result.error);
  if constexpr (std::is_void_v<T>) {
    return nullptr;
  } else {
    return std::make_shared<T>(Unpack<T>(*result.value));
  }
}

inline int64_t ToMs(std::chrono::milliseconds timeout) { return timeout.count(); }

}  // namespace internal

template <typename F>
class TaskCaller;

// Built by halo::Task(f); set options, then Remote(args...) submits.
template <typename R, typename... Params>
class TaskCaller<R (*)(Params...)> {
  static_assert(!std::is_pointer_v<R>, "a function returning T* is an actor factory, not a task");

 public:
  explicit TaskCaller(R (*fn)(Params...)) : fn_(fn) {}

  // Resources one run needs, e.g. {{"CPU", 2}, {"GPU", 1}}. Default {{"CPU", 1}}.
  TaskCaller& SetResources(std::map<std::string, double> resources) {
    options_.resources = std::move(resources);
    return *this;
  }
  // How many times the task reruns after its worker or node dies (default 3; -1 without bound).
  TaskCaller& SetMaxRetries(int max_retries) {
    options_.max_retries = max_retries;
    return *this;
  }
  // Also rerun when the task's own code throws (default false).
  TaskCaller& SetRetryExceptions(bool retry) {
    options_.retry_exceptions = retry;
    return *this;
  }
  TaskCaller& SetName(std::string name) {
    options_.name = std::move(name);
    return *this;
  }

  template <typename... Args>
  ObjectRef<R> Remote(Args&&... args) {
    static_assert(sizeof...(Args) == sizeof...(Params), "Remote() takes exactly the function's parameters");
    const std::string* name = internal::FunctionName(reinterpret_cast<const void*>(fn_));
    if (name == nullptr) throw RuntimeError("this function was not marked remote with HALO_REMOTE");
    if (options_.max_retries < -1) throw RuntimeError("SetMaxRetries: must be -1 (unlimited) or at least 0");
    for (const auto& [resource, amount] : options_.resources) {
      if (!(amount >= 0)) throw RuntimeError("SetResources: '" + resource + "' must not be negative");
    }
    std::vector<internal::TaskArgument> packed{internal::MakeArgument<Params>(std::forward<Args>(args))...};
    return ObjectRef<R>::Adopt(internal::RequireRuntime().SubmitTask(*name, std::move(packed), options_));
  }

 private:
  R (*fn_)(Params...);
  internal::TaskOptions options_;
};

template <typename R, typename... Params>
TaskCaller<R (*)(Params...)> Task(R (*fn)(Params...)) {
  return TaskCaller<R (*)(Params...)>(fn);
}

// ---- actors ----
//
//   class Counter { public: explicit Counter(int n) : n_(n) {} int Add(int d) { return n_ += d; } int n_; };
//   Counter* MakeCounter(int start) { return new Counter(start); }
//   HALO_REMOTE(MakeCounter, &Counter::Add);
//   auto c = halo::Actor(MakeCounter).SetMaxRestarts(-1).SetMaxTaskRetries(-1).Remote(0);
//   int one = *halo::Get(c.Task(&Counter::Add).Remote(1));
//
// An actor is a C++ object living in a worker process of its own; its methods run there one at a time, in the
// order each caller made its calls. Failure semantics are in the README ("Actors").

enum class ActorLifetime { kNonDetached, kDetached };
// Non-detached actors (the default) die with the process that created them and with its job.
inline constexpr ActorLifetime NonDetached = ActorLifetime::kNonDetached;
// Detached actors belong to the cluster: they outlive their creator until killed.
inline constexpr ActorLifetime Detached = ActorLifetime::kDetached;

namespace internal {

// Shared by every copy of one ActorHandle; the runtime counts it as one handle.
class ActorRefHandle {
 public:
  explicit ActorRefHandle(std::string id) : id_(std::move(id)) {}
  ~ActorRefHandle() {
    if (Runtime* runtime = CurrentRuntime()) runtime->RemoveActorHandle(id_);
  }
  ActorRefHandle(const ActorRefHandle&) = delete;
  ActorRefHandle& operator=(const ActorRefHandle&) = delete;
  const std::string& id() const { return id_; }

 private:
  std::string id_;
};

}  // namespace internal

template <typename T, typename M>
class ActorTaskCaller;

// Calls one method of an actor: handle.Task(&Counter::Add).Remote(1).
template <typename T, typename R, typename... Params>
class ActorTaskCaller<T, R (*)(Params...)> {
 public:
  ActorTaskCaller(std::string actor_id, const std::string* method_name)
      : actor_id_(std::move(actor_id)), method_name_(method_name) {}

  template <typename... Args>
  ObjectRef<R> Remote(Args&&... args) {
    static_assert(sizeof...(Args) == sizeof...(Params), "Remote() takes exactly the method's parameters");
    if (method_name_ == nullptr) throw RuntimeError("this method was not marked remote with HALO_REMOTE");
    if (actor_id_.empty()) throw RuntimeError("a nil ActorHandle was called");
    std::vector<internal::TaskArgument> packed{internal::MakeArgument<Params>(std::forward<Args>(args))...};
    return ObjectRef<R>::Adopt(internal::RequireRuntime().SubmitActorTask(actor_id_, *method_name_, std::move(packed)));
  }

 private:
  std::string actor_id_;
  const std::string* method_name_;
};

// A reference to an actor. Copies refer to the same actor; handles can be passed to tasks and other actors
// (as arguments or inside values).
template <typename T>
class ActorHandle {
 public:
  ActorHandle() = default;
  // Adopts a handle the runtime already counted.
  static ActorHandle Adopt(std::string id) {
    ActorHandle handle;
    handle.handle_ = std::make_shared<internal::ActorRefHandle>(std::move(id));
    return handle;
  }
  const std::string& ID() const {
    static const std::string empty;
    return handle_ ? handle_->id() : empty;
  }
  bool IsNil() const { return !handle_; }

  template <typename R, typename... Params>
  ActorTaskCaller<T, R (*)(Params...)> Task(R (T::*method)(Params...)) const {
    return ActorTaskCaller<T, R (*)(Params...)>(ID(), internal::MethodName(method));
  }
  template <typename R, typename... Params>
  ActorTaskCaller<T, R (*)(Params...)> Task(R (T::*method)(Params...) const) const {
    return ActorTaskCaller<T, R (*)(Params...)>(ID(), internal::MethodName(method));
  }

 private:
  std::shared_ptr<internal::ActorRefHandle> handle_;
};

template <typename F>
class ActorCreator;

// Built by halo::Actor(factory); set options, then Remote(args...) creates the actor.
template <typename T, typename... Params>
class ActorCreator<T* (*)(Params...)> {
 public:
  explicit ActorCreator(T* (*factory)(Params...)) : factory_(factory) {}

  // Restarts after its process or node dies (default 0; -1 without bound). The constructor runs again.
  ActorCreator& SetMaxRestarts(int max_restarts) {
    options_.max_restarts = max_restarts;
    return *this;
  }
  // 0 (default): a call whose instance dies fails (at most once). -1 or n > 0: it is re-sent to the next
  // instance, in order (at least once).
  ActorCreator& SetMaxTaskRetries(int max_task_retries) {
    options_.max_task_retries = max_task_retries;
    return *this;
  }
  // Unfinished calls one process may have on this actor (default -1: unbounded); past it Remote throws
  // PendingCallsLimitExceeded.
  ActorCreator& SetMaxPendingCalls(int max_pending_calls) {
    options_.max_pending_calls = max_pending_calls;
    return *this;
  }
  // Unique in its namespace while the actor lives; halo::GetActor finds it.
  ActorCreator& SetName(std::string name) {
    options_.name = std::move(name);
    return *this;
  }
  ActorCreator& SetNamespace(std::string name_space) {
    options_.name_space = std::move(name_space);
    return *this;
  }
  ActorCreator& SetLifetime(ActorLifetime lifetime) {
    options_.detached = lifetime == ActorLifetime::kDetached;
    return *this;
  }
  // Held for the actor's whole life, e.g. {{"CPU", 1}}. Default: none.
  ActorCreator& SetResources(std::map<std::string, double> resources) {
    options_.resources = std::move(resources);
    return *this;
  }

  template <typename... Args>
  ActorHandle<T> Remote(Args&&... args) {
    static_assert(sizeof...(Args) == sizeof...(Params), "Remote() takes exactly the factory's parameters");
    const std::string* name = internal::FunctionName(reinterpret_cast<const void*>(factory_));
    if (name == nullptr) throw RuntimeError("this actor factory was not marked remote with HALO_REMOTE");
    if (options_.max_restarts < -1) throw RuntimeError("SetMaxRestarts: must be -1 (unlimited) or at least 0");
    if (options_.max_task_retries < -1) throw RuntimeError("SetMaxTaskRetries: must be -1 (unlimited) or at least 0");
    if (options_.max_pending_calls < -1 || options_.max_pending_calls == 0) {
      throw RuntimeError("SetMaxPendingCalls: must be -1 (unbounded) or at least 1");
    }
    for (const auto& [resource, amount] : options_.resources) {
      if (!(amount >= 0)) throw RuntimeError("SetResources: '" + resource + "' must not be negative");
    }
    options_.class_name = typeid(T).name();
    std::vector<internal::TaskArgument> packed{internal::MakeArgument<Params>(std::forward<Args>(args))...};
    return ActorHandle<T>::Adopt(internal::RequireRuntime().CreateActor(*name, std::move(packed), options_));
  }

 private:
  T* (*factory_)(Params...);
  internal::ActorOptions options_;
};

template <typename T, typename... Params>
ActorCreator<T* (*)(Params...)> Actor(T* (*factory)(Params...)) {
  return ActorCreator<T* (*)(Params...)>(factory);
}

// The live actor named name in name_space (empty: "default"). Throws ActorNotFound, RuntimeError when it is
// not a T, or GcsUnavailable when the GCS does not answer within gcs_wait_timeout_ms.
template <typename T>
ActorHandle<T> GetActor(const std::string& name, const std::string& name_space = "") {
  return ActorHandle<T>::Adopt(internal::RequireRuntime().GetActor(name, name_space, typeid(T).name()));
}

// Kills the actor's process now. no_restart (default): it is dead for good (calls fail with ActorDied);
// otherwise it restarts if max_restarts allows.
template <typename T>
void Kill(const ActorHandle<T>& actor, bool no_restart = true) {
  if (actor.IsNil()) throw RuntimeError("halo::Kill: a nil ActorHandle");
  internal::RequireRuntime().KillActor(actor.ID(), no_restart);
}

// Inside an actor method: ends the actor for good once this call returns (the call itself fails with
// ActorDied for its caller, as do calls queued behind it). Not restarted.
[[noreturn]] inline void ExitActor() { throw internal::ActorExitRequest{}; }

// Inside an actor: true when this instance is a restart.
bool WasCurrentActorRestarted();


// Stores a value in the cluster, owned by this process.
template <typename T>
ObjectRef<std::decay_t<T>> Put(const T& value) {
  return ObjectRef<std::decay_t<T>>::Adopt(internal::RequireRuntime().Put(internal::Pack(value)));
}

// The object's value, waiting as long as it takes; throws the task's failure (halo/errors.h).
template <typename T>
std::shared_ptr<T> Get(const ObjectRef<T>& ref) {
  auto results = internal::RequireRuntime().Get({ref.ID()}, -1);
  return internal::Decode<T>(results[0]);
}

// As Get(ref), or GetTimeout after the timeout.
template <typename T>
std::shared_ptr<T> Get(const ObjectRef<T>& ref, std::chrono::milliseconds timeout) {
  auto results = internal::RequireRuntime().Get({ref.ID()}, internal::ToMs(timeout));
  return internal::Decode<T>(results[0]);
}

// Every value, in order; throws the first failure.
template <typename T>
std::vector<std::shared_ptr<T>> Get(const std::vector<ObjectRef<T>>& refs,
                                    std::chrono::milliseconds timeout = std::chrono::milliseconds(-1)) {
  std::vector<std::string> ids;
  ids.reserve(refs.size());
  for (const auto& ref : refs) ids.push_back(ref.ID());
  auto results = internal::RequireRuntime().Get(ids, internal::ToMs(timeout));
  std::vector<std::shared_ptr<T>> values;
  values.reserve(results.size());
  for (const auto& result : results) values.push_back(internal::Decode<T>(result));
  return values;
}

template <typename T>
struct WaitResult {
  std::vector<ObjectRef<T>> ready;
  std::vector<ObjectRef<T>> pending;
};

// Waits until num_ready of refs are ready (a failed task counts as ready: Get then throws) or the timeout
// passes. Keeps the order of refs within each part.
template <typename T>
WaitResult<T> Wait(const std::vector<ObjectRef<T>>& refs, int num_ready, std::chrono::milliseconds timeout) {
  if (num_ready < 0 || static_cast<size_t>(num_ready) > refs.size()) {
    throw RuntimeError("Wait: num_ready must be between 0 and the number of refs (" + std::to_string(refs.size()) +
                       ")");
  }
  std::vector<std::string> ids;
  ids.reserve(refs.size());
  for (const auto& ref : refs) ids.push_back(ref.ID());
  std::vector<bool> ready = internal::RequireRuntime().Wait(ids, num_ready, internal::ToMs(timeout));
  WaitResult<T> out;
  for (size_t i = 0; i < refs.size(); ++i) (ready[i] ? out.ready : out.pending).push_back(refs[i]);
  return out;
}

}  // namespace halo

// ObjectRefs inside values (a task's result, a container argument): packed as [id, owner address]. The process
// that unpacks one borrows it: Get asks the owner, and fails with OwnerDied if the owner is gone. ActorHandles
// travel as the runtime's description of the actor (id, options, last known instance).
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  template <typename T>
  struct pack<halo::ObjectRef<T>> {
    template <typename Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& out, const halo::ObjectRef<T>& ref) const {
      const std::string owner = ref.IsNil() ? "" : halo::internal::RequireRuntime().EscapeReference(ref.ID());
      out.pack_array(2);
      out.pack(ref.ID());
      out.pack(owner);
      return out;
    }
  };

  template <typename T>
  struct convert<halo::ObjectRef<T>> {
    const msgpack::object& operator()(const msgpack::object& in, halo::ObjectRef<T>& ref) const {
      if (in.type != msgpack::type::ARRAY || in.via.array.size != 2) throw msgpack::type_error();
      const std::string id = in.via.array.ptr[0].as<std::string>();
      const std::string owner = in.via.array.ptr[1].as<std::string>();
      if (id.empty()) {
        ref = halo::ObjectRef<T>();
        return in;
      }
      halo::internal::RequireRuntime().AddBorrowedReference(id, owner);
      ref = halo::ObjectRef<T>::Adopt(id);
      return in;
    }
  };

  template <typename T>
  struct pack<halo::ActorHandle<T>> {
    template <typename Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& out, const halo::ActorHandle<T>& handle) const {
      const std::string bytes = handle.IsNil() ? "" : halo::internal::RequireRuntime().EscapeActorHandle(handle.ID());
      out.pack_bin(static_cast<uint32_t>(bytes.size()));
      out.pack_bin_body(bytes.data(), static_cast<uint32_t>(bytes.size()));
      return out;
    }
  };

  template <typename T>
  struct convert<halo::ActorHandle<T>> {
    const msgpack::object& operator()(const msgpack::object& in, halo::ActorHandle<T>& handle) const {
      if (in.type != msgpack::type::BIN) throw msgpack::type_error();
      if (in.via.bin.size == 0) {
        handle = halo::ActorHandle<T>();
        return in;
      }
      const std::string bytes(in.via.bin.ptr, in.via.bin.size);
      handle = halo::ActorHandle<T>::Adopt(halo::internal::RequireRuntime().AddBorrowedActorHandle(bytes, typeid(T).name()));
      return in;
    }
  };

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
