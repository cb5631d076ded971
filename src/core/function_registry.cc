#include "halo/internal/function_registry.h"

#include <mutex>
#include <unordered_map>

namespace halo::internal {
namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_map<std::string, Invoker> by_name;
  std::unordered_map<const void*, std::string> names;
};

// Built on first use, so registrations from any translation unit's static initialisers find it.
Registry& TheRegistry() {
  static Registry* registry = new Registry;
  return *registry;
}

}  // namespace

bool RegisterFunction(const std::string& name, const void* address, Invoker invoker) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  registry.by_name[name] = std::move(invoker);
  registry.names[address] = name;
  return true;
}

const std::string* FunctionName(const void* address) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto it = registry.names.find(address);
  return it == registry.names.end() ? nullptr : &it->second;
}

const Invoker* FindInvoker(const std::string& name) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto it = registry.by_name.find(name);
  return it == registry.by_name.end() ? nullptr : &it->second;
}

}  // namespace halo::internal
