// Services: an HTTP request as a deployment's handler sees it and the response it returns. A handler is an
// ordinary method, `halo::serve::Response Handle(const halo::serve::Request&)`, of a class whose instances
// (replicas) Halo runs as actors behind the HTTP ingress every node serves:
//
//   Greeter* MakeGreeter(std::string greeting) { return new Greeter(std::move(greeting)); }
//   HALO_DEPLOYMENT(MakeGreeter, &Greeter::Handle, &Greeter::CheckHealth);   // the health check is optional
//
// The factory's parameters come from the service config's `args` (strings and numbers), converted to the
// parameter types here, in the executable that defines them.
#pragma once

#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "halo/halo.h"

namespace halo::serve {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query: "/hello/world"
  std::map<std::string, std::string> query;    // decoded ?name=ada&x=1
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  // The query parameter's value, or fallback when it is absent.
  std::string Query(const std::string& name, const std::string& fallback = "") const {
    auto it = query.find(name);
    return it == query.end() ? fallback : it->second;
  }
  // The header's value (name in any case), or fallback when it is absent.
  std::string Header(const std::string& name, const std::string& fallback = "") const;

  MSGPACK_DEFINE(method, path, query, headers, body);
};

struct Response {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;

  static Response Text(std::string body, int status = 200) {
    return Response{status, {{"content-type", "text/plain; charset=utf-8"}}, std::move(body)};
  }
  static Response Json(std::string json, int status = 200) {
    return Response{status, {{"content-type", "application/json"}}, std::move(json)};
  }

  MSGPACK_DEFINE(status, headers, body);
};

inline std::string Request::Header(const std::string& name, const std::string& fallback) const {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  auto it = headers.find(lower);
  return it == headers.end() ? fallback : it->second;
}

// The main function of a service's executable: `int main(int argc, char** argv) { return halo::serve::Main(argc,
// argv); }`. Started by a node agent it serves its replicas; `halo serve deploy` runs it to check the config
// against the deployments it defines; run by hand it lists them.
int Main(int argc, char** argv);

namespace internal {

// One HALO_DEPLOYMENT: the names HALO_REMOTE registered its factory and methods under, and how the config's
// args become the factory's packed arguments.
struct Deployment {
  std::string factory;
  std::string handler;
  std::string health;  // "" when the class has no health check
  // The packed arguments, or nullopt with *error naming the argument that does not fit.
  std::optional<std::vector<std::string>> (*convert_args)(const std::vector<std::string>& args, std::string* error);
};

inline std::map<std::string, Deployment>& Deployments() {
  static std::map<std::string, Deployment> deployments;
  return deployments;
}

// A config value as parameter type T, packed; nullopt when it is not one.
template <typename T>
std::optional<std::string> ConvertArg(const std::string& text) {
  using V = std::decay_t<T>;
  if constexpr (std::is_same_v<V, std::string>) {
    return ::halo::internal::Pack(text);
  } else if constexpr (std::is_same_v<V, bool>) {
    if (text == "true") return ::halo::internal::Pack(true);
    if (text == "false") return ::halo::internal::Pack(false);
    return std::nullopt;
  } else if constexpr (std::is_arithmetic_v<V>) {
    V value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return ::halo::internal::Pack(value);
  } else {
    return std::nullopt;  // a type a config file cannot write
  }
}

// What a parameter of type T must be, for an error message.
template <typename T>
const char* TypeWord() {
  using V = std::decay_t<T>;
  if constexpr (std::is_same_v<V, std::string>) return "a string";
  if constexpr (std::is_same_v<V, bool>) return "true or false";
  if constexpr (std::is_integral_v<V>) return "a whole number";
  if constexpr (std::is_floating_point_v<V>) return "a number";
  return "of a type a service config can give (string, number, bool)";
}

template <typename R, typename... Params>
std::optional<std::vector<std::string>> ConvertArgs(const std::vector<std::string>& args, std::string* error,
                                                    R (*)(Params...)) {
  if (args.size() != sizeof...(Params)) {
    *error = "takes " + std::to_string(sizeof...(Params)) + " argument(s), the config gives " +
             std::to_string(args.size());
    return std::nullopt;
  }
  std::vector<std::string> packed;
  [[maybe_unused]] size_t index = 0;
  [[maybe_unused]] bool ok = true;
  (
      [&] {
        if (!ok) return;
        std::optional<std::string> one = ConvertArg<Params>(args[index]);
        if (!one) {
          *error = "argument " + std::to_string(index) + " ('" + args[index] + "') is not " +
                   TypeWord<Params>();
          ok = false;
          return;
        }
        packed.push_back(std::move(*one));
        ++index;
      }(),
      ...);
  if (!ok) return std::nullopt;
  return packed;
}

template <auto Factory>
std::optional<std::vector<std::string>> ConvertArgsOf(const std::vector<std::string>& args, std::string* error) {
  return ConvertArgs(args, error, Factory);
}

template <auto Factory>
bool RegisterDeployment(const char* factory, const char* handler, const char* health) {
  Deployments()[factory] = Deployment{factory, handler, health, &ConvertArgsOf<Factory>};
  return true;
}

}  // namespace internal
}  // namespace halo::serve

// Marks a deployment: its factory (returning T*), its handler (Response (T::*)(const Request&)) and, optionally,
// its health check (bool (T::*)()). At namespace scope in a file of the service's executable.
#define HALO_DEPLOYMENT(factory, handler, ...)                                                              \
  HALO_REMOTE(factory, handler __VA_OPT__(, ) __VA_ARGS__)                                                 \
  [[maybe_unused]] static const bool HALO_INTERNAL_CAT(halo_internal_deployment_, __COUNTER__) =          \
      ::halo::serve::internal::RegisterDeployment<factory>(#factory, #handler, "" #__VA_ARGS__)
