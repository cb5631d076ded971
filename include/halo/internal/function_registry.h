// The table of remote functions, filled at static-initialisation time by HALO_REMOTE. A driver names a function
// by the string HALO_REMOTE recorded; the worker (the same executable) finds the invoker by that name.
// Three kinds: plain functions (tasks), actor factories (functions returning T*: the worker keeps the instance),
// and member functions of actor classes (called on that instance).
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "halo/serialization.h"

namespace halo::internal {

// Decodes msgpack arguments, calls the function, and returns its msgpack result. Throws what the function
// throws, or msgpack::type_error when an argument does not decode.
using Invoker = std::function<std::string(const std::vector<std::string_view>& args)>;

bool RegisterFunction(const std::string& name, const void* address, Invoker invoker);
// The registered name of a function, or nullptr if it was not registered with HALO_REMOTE.
const std::string* FunctionName(const void* address);
const Invoker* FindInvoker(const std::string& name);

template <typename R, typename... Args, std::size_t... I>
std::string InvokeWith(R (*fn)(Args...), const std::vector<std::string_view>& args, std::index_sequence<I...>) {
  if constexpr (std::is_void_v<R>) {
    fn(Unpack<std::decay_t<Args>>(args[I])...);
    return PackNil();
  } else {
    return Pack(fn(Unpack<std::decay_t<Args>>(args[I])...));
  }
}

// Builds an actor instance from msgpack arguments; the worker owns what it returns.
using ActorFactory = std::function<std::shared_ptr<void>(const std::vector<std::string_view>& args)>;
// Calls a member function on an instance made by a factory of its class.
using MethodInvoker = std::function<std::string(void* instance, const std::vector<std::string_view>& args)>;

bool RegisterActorFactory(const std::string& name, const void* address, ActorFactory factory);
const ActorFactory* FindActorFactory(const std::string& name);
bool RegisterMethod(const std::string& name, MethodInvoker invoker);
const MethodInvoker* FindMethodInvoker(const std::string& name);

inline void CheckArity(size_t given, size_t expected) {
  if (given != expected) {
    throw std::invalid_argument("wrong number of arguments: " + std::to_string(given) + " given, " +
                                std::to_string(expected) + " expected");
  }
}

// Member function pointers cannot become addresses, so each signature keeps its own (pointer, name) list.
template <typename M>
std::vector<std::pair<M, std::string>>& MethodNames() {
  static auto* names = new std::vector<std::pair<M, std::string>>;
  return *names;
}
// The registered name of a member function, or nullptr. Lookups and registration happen on one thread at
// static-initialisation time, then only lookups.
template <typename M>
const std::string* MethodName(M method) {
  for (const auto& [registered, name] : MethodNames<M>()) {
    if (registered == method) return &name;
  }
  return nullptr;
}

template <typename T, typename... Args>
bool RegisterRemote(const char* name, T* (*factory)(Args...)) {
  ActorFactory make = [factory](const std::vector<std::string_view>& args) -> std::shared_ptr<void> {
    CheckArity(args.size(), sizeof...(Args));
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::shared_ptr<void>(factory(Unpack<std::decay_t<Args>>(args[I])...),
                                   [](void* instance) { delete static_cast<T*>(instance); });
    }(std::index_sequence_for<Args...>{});
  };
  return RegisterActorFactory(name, reinterpret_cast<const void*>(factory), std::move(make));
}

template <typename M, typename C, typename R, typename... Args>
bool RegisterMemberFunction(const char* name, M method) {
  MethodNames<M>().emplace_back(method, name);
  MethodInvoker invoke = [method](void* instance, const std::vector<std::string_view>& args) -> std::string {
    CheckArity(args.size(), sizeof...(Args));
    C* self = static_cast<C*>(instance);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      if constexpr (std::is_void_v<R>) {
        (self->*method)(Unpack<std::decay_t<Args>>(args[I])...);
        return PackNil();
      } else {
        return Pack((self->*method)(Unpack<std::decay_t<Args>>(args[I])...));
      }
    }(std::index_sequence_for<Args...>{});
  };
  return RegisterMethod(name, std::move(invoke));
}

template <typename C, typename R, typename... Args>
bool RegisterRemote(const char* name, R (C::*method)(Args...)) {
  return RegisterMemberFunction<R (C::*)(Args...), C, R, Args...>(name, method);
}
template <typename C, typename R, typename... Args>
bool RegisterRemote(const char* name, R (C::*method)(Args...) const) {
  return RegisterMemberFunction<R (C::*)(Args...) const, const C, R, Args...>(name, method);
}

template <typename R, typename... Args>
bool RegisterRemote(const char* name, R (*fn)(Args...)) {
  Invoker invoker = [fn](const std::vector<std::string_view>& args) -> std::string {
    CheckArity(args.size(), sizeof...(Args));
    return InvokeWith(fn, args, std::index_sequence_for<Args...>{});
  };
  return RegisterFunction(name, reinterpret_cast<const void*>(fn), std::move(invoker));
}

}  // namespace halo::internal

#define HALO_INTERNAL_CAT2(a, b) a##b
#define HALO_INTERNAL_CAT(a, b) HALO_INTERNAL_CAT2(a, b)
// f is a function name (Load) or a member function pointer (&Counter::Add).
#define HALO_INTERNAL_REGISTER_ONE(f)                                                             \
  [[maybe_unused]] static const bool HALO_INTERNAL_CAT(halo_internal_registered_, __COUNTER__) = \
      ::halo::internal::RegisterRemote(#f, f);

// Applies HALO_INTERNAL_REGISTER_ONE to up to 24 names.
#define HALO_INTERNAL_EXPAND(x) x
#define HALO_INTERNAL_FE_1(m, x) m(x)
#define HALO_INTERNAL_FE_2(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_1(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_3(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_2(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_4(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_3(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_5(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_4(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_6(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_5(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_7(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_6(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_8(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_7(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_9(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_8(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_10(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_9(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_11(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_10(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_12(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_11(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_13(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_12(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_14(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_13(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_15(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_14(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_16(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_15(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_17(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_16(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_18(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_17(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_19(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_18(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_20(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_19(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_21(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_20(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_22(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_21(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_23(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_22(m, __VA_ARGS__))
#define HALO_INTERNAL_FE_24(m, x, ...) m(x) HALO_INTERNAL_EXPAND(HALO_INTERNAL_FE_23(m, __VA_ARGS__))
#define HALO_INTERNAL_GET_FE(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, \
                             _20, _21, _22, _23, _24, NAME, ...)                                                 \
  NAME
#define HALO_INTERNAL_FOR_EACH(m, ...)                                                                            \
  HALO_INTERNAL_EXPAND(HALO_INTERNAL_GET_FE(                                                                      \
      __VA_ARGS__, HALO_INTERNAL_FE_24, HALO_INTERNAL_FE_23, HALO_INTERNAL_FE_22, HALO_INTERNAL_FE_21,            \
      HALO_INTERNAL_FE_20, HALO_INTERNAL_FE_19, HALO_INTERNAL_FE_18, HALO_INTERNAL_FE_17, HALO_INTERNAL_FE_16,    \
      HALO_INTERNAL_FE_15, HALO_INTERNAL_FE_14, HALO_INTERNAL_FE_13, HALO_INTERNAL_FE_12, HALO_INTERNAL_FE_11,    \
      HALO_INTERNAL_FE_10, HALO_INTERNAL_FE_9, HALO_INTERNAL_FE_8, HALO_INTERNAL_FE_7, HALO_INTERNAL_FE_6,        \
      HALO_INTERNAL_FE_5, HALO_INTERNAL_FE_4, HALO_INTERNAL_FE_3, HALO_INTERNAL_FE_2, HALO_INTERNAL_FE_1)(m, __VA_ARGS__))
