// The seam between the header-only API templates and the runtime library (src/core). Users never call this
// directly; halo.h does.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace halo::internal {

// One argument of a remote call: msgpack bytes, or a reference to an object the runtime resolves first.
struct TaskArgument {
  bool is_ref = false;
  std::string value;      // msgpack bytes when !is_ref
  std::string object_id;  // when is_ref
};

struct TaskOptions {
  std::map<std::string, double> resources;  // empty: {"CPU": 1}
  int max_retries = 3;                      // -1: unlimited
  bool retry_exceptions = false;
  std::string name;
};

struct ActorOptions {
  int max_restarts = 0;        // -1: unlimited
  int max_task_retries = 0;    // 0: at most once; -1 or n > 0: at least once, in order
  int max_pending_calls = -1;  // -1: unbounded
  std::string name;            // empty: unnamed
  std::string name_space;      // empty: "default"
  bool detached = false;
  std::map<std::string, double> resources;  // held for the actor's life; empty: none
  std::string class_name;      // the C++ type, checked by GetActor
};

// Thrown by halo::ExitActor inside an actor method and caught by the runtime (deliberately not a
// std::exception, so user code catching std::exception does not swallow it).
struct ActorExitRequest {};

// A failure as the runtime records it; halo.h turns it into the matching exception type.
struct ErrorInfo {
  enum class Kind { kTaskException, kWorkerCrashed, kNodeDied, kObjectLost, kOwnerDied, kReconstructionFailed,
                    kTaskUnschedulable, kGetTimeout, kRuntime, kActorDied, kActorUnavailable };
  Kind kind = Kind::kRuntime;
  std::string type_name;
  std::string message;
  std::string where;
};

// A value's bytes, or why there is none.
struct ObjectResult {
  std::shared_ptr<const std::string> value;  // set when ok
  std::optional<ErrorInfo> error;
};

// What this process' runtime has done so far.
struct RuntimeCounters {
  int64_t tasks_submitted = 0;
  int64_t task_failures = 0;    // runs lost to a dead worker or node (each then retried or failed)
  int64_t tasks_retried = 0;    // reruns after such failures or retried exceptions
  int64_t objects_rebuilt = 0;  // lost objects rerun from their lineage
  int64_t objects_lost = 0;     // lost objects that could not be rebuilt (not rebuildable, or out of retries)
  int64_t rebuilds_completed = 0;  // rebuilds whose rerun produced the object again
  int64_t rebuild_ms_total = 0;    // their time summed, from the rerun's start to the object produced again
};

class Runtime {
 public:
  virtual RuntimeCounters Counters() const = 0;
  virtual ~Runtime() = default;
  // Returns the id of the task's return object; the caller holds one local reference to it.
  virtual std::string SubmitTask(const std::string& function_name, std::vector<TaskArgument> args,
                                 const TaskOptions& options) = 0;
  // Stores a value owned by this process; returns its id with one local reference held.
  virtual std::string Put(std::string value) = 0;
  // Blocks until each object is ready or failed, or the timeout passes (then the missing ones carry kGetTimeout).
  // timeout_ms < 0 waits without bound.
  virtual std::vector<ObjectResult> Get(const std::vector<std::string>& object_ids, int64_t timeout_ms) = 0;
  // Blocks until num_ready objects are ready (or failed) or the timeout passes; returns one flag per object.
  virtual std::vector<bool> Wait(const std::vector<std::string>& object_ids, int num_ready, int64_t timeout_ms) = 0;
  // A reference is being serialised into a value (it may reach other processes): returns the address of the
  // object's owner; an object this process owns then stays alive as long as this process does.
  virtual std::string EscapeReference(const std::string& object_id) = 0;
  // A reference arrived inside a value: counts one local reference, fetching the object from its owner.
  virtual void AddBorrowedReference(const std::string& object_id, const std::string& owner_address) = 0;
  virtual void AddLocalReference(const std::string& object_id) = 0;
  virtual void RemoveLocalReference(const std::string& object_id) = 0;

  // Actors. Creating one registers it with the GCS (waiting up to gcs_wait_timeout_ms for it) and returns its
  // id with one handle reference held.
  virtual std::string CreateActor(const std::string& factory_name, std::vector<TaskArgument> args,
                                  const ActorOptions& options) = 0;
  // Returns the id of the call's return object (one local reference held). Throws ActorDied when the actor is
  // known dead, PendingCallsLimitExceeded past max_pending_calls.
  virtual std::string SubmitActorTask(const std::string& actor_id, const std::string& method_name,
                                      std::vector<TaskArgument> args) = 0;
  // A live named actor's id with one handle reference held; ActorNotFound, or GcsUnavailable after
  // gcs_wait_timeout_ms.
  virtual std::string GetActor(const std::string& name, const std::string& name_space,
                               const std::string& class_name) = 0;
  virtual void KillActor(const std::string& actor_id, bool no_restart) = 0;
  virtual void AddActorHandle(const std::string& actor_id) = 0;
  virtual void RemoveActorHandle(const std::string& actor_id) = 0;
  // A handle is being serialised into a value: returns bytes that AddBorrowedActorHandle turns back into it.
  virtual std::string EscapeActorHandle(const std::string& actor_id) = 0;
  // Returns the actor id with one handle reference held; RuntimeError when the actor is not a class_name
  // (typeid name of the handle's T).
  virtual std::string AddBorrowedActorHandle(const std::string& description, const std::string& class_name) = 0;
  // In an actor: whether this instance is a restart (the constructor ran before in another process).
  virtual bool WasCurrentActorRestarted() const = 0;
};

// The process' runtime after halo::Init, else nullptr.
Runtime* CurrentRuntime();
// CurrentRuntime(), or throws halo::RuntimeError when Init has not run.
Runtime& RequireRuntime();

}  // namespace halo::internal
