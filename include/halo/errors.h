// The exceptions Halo's C++ API throws. Every failure of a remote task reaches the caller from halo::Get as one
// of these; each names what failed and where.
#pragma once

#include <stdexcept>
#include <string>

namespace halo {

// Base of every Halo exception.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// The task's own code threw. type_name() is the exception's C++ type, where() the node and worker that ran it.
class TaskException : public Error {
 public:
  TaskException(std::string type_name, std::string message, std::string where)
      : Error(type_name + ": " + message + " (raised by the task at " + where + ")"),
        type_name_(std::move(type_name)),
        message_(std::move(message)),
        where_(std::move(where)) {}
  const std::string& type_name() const { return type_name_; }
  const std::string& remote_message() const { return message_; }
  const std::string& where() const { return where_; }

 private:
  std::string type_name_;
  std::string message_;
  std::string where_;
};

// The worker running the task died, and the task's retries are used up.
class WorkerCrashed : public Error {
  using Error::Error;
};
// The node running the task (or holding its result) died, and retries are used up.
class NodeDied : public Error {
  using Error::Error;
};
// The object is gone and cannot be rebuilt (an object made by Put, lost with its node).
class ObjectLost : public Error {
  using Error::Error;
};
// The process that owned the object died.
class OwnerDied : public Error {
  using Error::Error;
};
// Rebuilding a lost object from its lineage failed (its task's attempts were exhausted).
class ReconstructionFailed : public Error {
  using Error::Error;
};
// No node in the cluster can ever run the task (its resources fit nowhere, or the worker lacks the function).
class TaskUnschedulable : public Error {
  using Error::Error;
};
// The actor is dead for good: it exhausted max_restarts, was killed, exited, lost its owner, or its constructor
// threw. The message says which.
class ActorDied : public Error {
  using Error::Error;
};
// The actor's instance died while the call was unfinished and the call is not retried (max_task_retries 0);
// the actor is restarting, and later calls go to the new instance.
class ActorUnavailable : public Error {
  using Error::Error;
};
// The handle already has max_pending_calls unfinished calls; this one was not sent.
class PendingCallsLimitExceeded : public Error {
  using Error::Error;
};
// This process already has task_pending_per_shape_max unfinished tasks of this resource shape; this one was
// not submitted. Wait for some of them (Get/Wait) and submit again.
class PendingTasksLimitExceeded : public Error {
  using Error::Error;
};
// No live actor has that name in that namespace.
class ActorNotFound : public Error {
  using Error::Error;
};
// The GCS did not answer within gcs_wait_timeout_ms (it is down or unreachable).
class GcsUnavailable : public Error {
  using Error::Error;
};
// halo::Get waited longer than its timeout.
class GetTimeout : public Error {
  using Error::Error;
};
// Init failed, the API was used before Init, or the cluster cannot be reached.
class RuntimeError : public Error {
  using Error::Error;
};

}  // namespace halo
