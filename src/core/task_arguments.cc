#include "core/task_arguments.h"

namespace halo::core {

std::vector<std::pair<int, std::string>> RefArguments(const rpc::TaskSpec& spec) {
  std::vector<std::pair<int, std::string>> refs;
  for (int i = 0; i < spec.args_size(); ++i) {
    if (spec.args(i).has_ref()) refs.emplace_back(i, spec.args(i).ref().object_id());
  }
  return refs;
}

std::optional<internal::ErrorInfo> ResolveArgument(rpc::TaskArg* arg, const ObjectLookup& lookup,
                                                   int64_t inline_max_bytes) {
  if (lookup.result.error) return lookup.result.error;
  const auto& value = lookup.result.value;
  if (value && static_cast<int64_t>(value->size()) <= inline_max_bytes) {
    arg->set_value(*value);  // small, or a copy this process fetched: travels inside the call
  } else if (!lookup.locations.empty()) {
    // Stays a ref: the executing worker's node pulls it from one of these copies.
    auto* locations = arg->mutable_ref()->mutable_locations();
    locations->Clear();
    for (const auto& location : lookup.locations) *locations->Add() = location;
  } else if (value) {
    arg->set_value(*value);  // large, but its copies are gone: the fetched value travels inline
  } else {
    return internal::ErrorInfo{internal::ErrorInfo::Kind::kObjectLost, "",
                               "argument object " + arg->ref().object_id() + " has no copy left", ""};
  }
  return std::nullopt;
}

void WatchArguments(ObjectTable& objects, Executor& executor, const std::vector<std::pair<int, std::string>>& refs,
                    std::function<void(int index, const ObjectLookup& lookup)> on_ready) {
  for (const auto& [index, object_id] : refs) {
    objects.WhenComplete(object_id, [&executor, on_ready, index = index](const ObjectLookup& lookup) {
      executor.Post([on_ready, index, lookup] { on_ready(index, lookup); });
    });
  }
}

void ArgumentPins::Adopt(const rpc::TaskSpec& spec) {
  for (const auto& arg : spec.args()) {
    if (arg.has_ref()) pins_[spec.task_id()].push_back(arg.ref().object_id());
  }
}

void ArgumentPins::Release(const std::string& task_id) {
  for (const auto& id : Take(task_id)) objects_.RemoveReference(id);
}

std::vector<std::string> ArgumentPins::Take(const std::string& task_id) {
  auto it = pins_.find(task_id);
  if (it == pins_.end()) return {};
  std::vector<std::string> pins = std::move(it->second);
  pins_.erase(it);
  return pins;
}

std::vector<std::string> ArgumentPins::Tasks() const {
  std::vector<std::string> tasks;
  tasks.reserve(pins_.size());
  for (const auto& [task_id, pins] : pins_) tasks.push_back(task_id);
  return tasks;
}

}  // namespace halo::core
