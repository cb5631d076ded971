// Parses the `storage` setting: embedded | memory | redis://[user:password@]host[:port] | rediss://... |
// redis+sentinel://[user:password@]host[:port],host[:port],.../MASTERNAME | rediss+sentinel://... (Redis Sentinel:
// the sentinels are asked which server is the primary of MASTERNAME; credentials and TLS apply to the servers).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace halo {

struct StorageUri {
  enum class Kind { kEmbedded, kMemory, kRedis };
  Kind kind = Kind::kEmbedded;
  bool tls = false;      // rediss://
  std::string username;  // empty: none (the "default" user)
  std::string password;  // empty: no AUTH
  std::string host;      // the server; with Sentinel, the primary last found (empty until then)
  int port = 6379;
  struct HostPort {
    std::string host;
    int port = 26379;
  };
  std::vector<HostPort> sentinels;  // not empty: Redis Sentinel
  std::string master_name;          // with Sentinel: the name the sentinels monitor the primary under
  bool sentinel() const { return !sentinels.empty(); }
  // The sentinels, "h1:26379,h2:26379", never credentials.
  std::string SentinelList() const;

  // host:port, never credentials.
  std::string Endpoint() const;
};

// InvalidArgument with a message naming the problem and the accepted forms.
StatusOr<StorageUri> ParseStorageUri(const std::string& text);

}  // namespace halo
