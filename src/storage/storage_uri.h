// Parses the `storage` setting: embedded | memory | redis://[user:password@]host[:port] | rediss://...
#pragma once

#include <string>

#include "common/status.h"

namespace halo {

struct StorageUri {
  enum class Kind { kEmbedded, kMemory, kRedis };
  Kind kind = Kind::kEmbedded;
  bool tls = false;      // rediss://
  std::string username;  // empty: none (the "default" user)
  std::string password;  // empty: no AUTH
  std::string host;
  int port = 6379;

  // host:port, never credentials.
  std::string Endpoint() const;
};

// InvalidArgument with a message naming the problem and the accepted forms.
StatusOr<StorageUri> ParseStorageUri(const std::string& text);

}  // namespace halo
