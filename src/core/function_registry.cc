#include "halo/internal/function_registry.h"

#include <mutex>
#include <unordered_map>

namespace halo::internal {
namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_map<std::string, Invoker> by_name;
  std::unordered_map<std::string, ActorFactory> factories;
  std::unordered_map<std::string, MethodInvoker> methods;
  std::unordered_map<const void*, std::string> names;  // functions and factories
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

bool RegisterActorFactory(const std::string& name, const void* address, ActorFactory factory) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  registry.factories[name] = std::move(factory);
  registry.names[address] = name;
  return true;
}

const ActorFactory* FindActorFactory(const std::string& name) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto it = registry.factories.find(name);
  return it == registry.factories.end() ? nullptr : &it->second;
}

bool RegisterMethod(const std::string& name, MethodInvoker invoker) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  registry.methods[name] = std::move(invoker);
  return true;
}

const MethodInvoker* FindMethodInvoker(const std::string& name) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto it = registry.methods.find(name);
  return it == registry.methods.end() ? nullptr : &it->second;
}

}  // namespace halo::internal
