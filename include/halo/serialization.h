// How Halo turns arguments and results into bytes: msgpack-cxx. A user type travels once it has msgpack's
// usual adaptor, for example MSGPACK_DEFINE(field1, field2) inside the struct.
#pragma once

#include <msgpack.hpp>

#include <string>
#include <string_view>

#include "halo/errors.h"

namespace halo::internal {

template <typename T>
std::string Pack(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return std::string(buffer.data(), buffer.size());
}

inline std::string PackNil() {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, msgpack::type::nil_t());
  return std::string(buffer.data(), buffer.size());
}

template <typename T>
T Unpack(std::string_view bytes) {
  msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
  return handle.get().as<T>();
}

}  // namespace halo::internal
