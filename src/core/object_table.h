// The objects this process owns: pending until their task finishes, then a value or an error. User threads
// block in Get/Wait; the submitter (on the executor thread) fills values in. An object is forgotten once no
// local reference and no pending task argument refers to it. Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "halo/internal/runtime.h"

namespace halo::core {

using internal::ErrorInfo;
using internal::ObjectResult;

class ObjectTable {
 public:
  // A new pending object with one local reference.
  void AddPending(const std::string& id);
  // A new ready object with one local reference (Put).
  void AddReady(const std::string& id, std::shared_ptr<const std::string> value);
  // Completes a pending object; a no-op if it is already complete or forgotten. Runs its watchers.
  void Complete(const std::string& id, std::shared_ptr<const std::string> value);
  void Fail(const std::string& id, ErrorInfo error);

  std::vector<ObjectResult> Get(const std::vector<std::string>& ids, int64_t timeout_ms);
  std::vector<bool> Wait(const std::vector<std::string>& ids, size_t num_ready, int64_t timeout_ms);

  void AddReference(const std::string& id);
  void RemoveReference(const std::string& id);

  // Calls done(result) once the object is complete: at once (on this thread) if it already is, else on the
  // thread that completes it. An unknown object gives an error result at once.
  void WhenComplete(const std::string& id, std::function<void(const ObjectResult&)> done);

  // Fails every pending object (the runtime is shutting down or lost its cluster).
  void FailAllPending(const ErrorInfo& error);
  size_t size() const;

 private:
  struct Entry {
    bool complete = false;
    ObjectResult result;
    int references = 0;
    std::vector<std::function<void(const ObjectResult&)>> watchers;
  };
  void Finish(const std::string& id, ObjectResult result);
  static ObjectResult Unknown(const std::string& id);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace halo::core
