// Dependency resolution and pinning, shared by the task and actor-call submitters. A submitted spec's ref
// arguments are pinned (one object-table reference each, held until the call is done with them) and watched;
// as each completes, ResolveArgument writes what travels with the call: a small value inline, the copies'
// locations of a stored one (the executing node pulls it), or the error that fails the call.
// ArgumentPins is single-threaded (its submitter's executor); the object table is thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/executor.h"
#include "core/object_table.h"
#include "proto/core.pb.h"

namespace halo::core {

// The spec's ref arguments as (index, object id).
std::vector<std::pair<int, std::string>> RefArguments(const rpc::TaskSpec& spec);

// Writes into *arg what the completed object means for the call; returns the error that fails the call, if any.
std::optional<internal::ErrorInfo> ResolveArgument(rpc::TaskArg* arg, const ObjectLookup& lookup,
                                                   int64_t inline_max_bytes);

// Calls on_ready(index, lookup) on the executor once each of refs has completed.
void WatchArguments(ObjectTable& objects, Executor& executor, const std::vector<std::pair<int, std::string>>& refs,
                    std::function<void(int index, const ObjectLookup& lookup)> on_ready);

class ArgumentPins {
 public:
  explicit ArgumentPins(ObjectTable& objects) : objects_(objects) {}
  // The references the caller took for the spec's ref arguments now belong to the task (keyed by task id).
  // Pins a task already holds stay, released together with these.
  void Adopt(const rpc::TaskSpec& spec);
  // Drops the task's references.
  void Release(const std::string& task_id);
  // Hands the task's references to the caller (who then releases them); empty if it had none.
  std::vector<std::string> Take(const std::string& task_id);
  std::vector<std::string> Tasks() const;

 private:
  ObjectTable& objects_;
  std::unordered_map<std::string, std::vector<std::string>> pins_;  // by task id
};

}  // namespace halo::core
