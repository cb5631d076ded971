#include "storage/storage_uri.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace halo {
namespace {

Status Malformed(const std::string& text, const std::string& why) {
  return InvalidArgumentError(absl::StrCat("malformed storage URI '", text, "': ", why,
                                           " (expected embedded, memory, redis://[user:password@]host:port "
                                           "or rediss://[user:password@]host:port)"));
}

}  // namespace

std::string StorageUri::Endpoint() const { return absl::StrCat(host, ":", port); }

StatusOr<StorageUri> ParseStorageUri(const std::string& text) {
  StorageUri uri;
  if (text == "embedded") return uri;
  if (text == "memory") {
    uri.kind = StorageUri::Kind::kMemory;
    return uri;
  }
  std::string rest;
  if (text.starts_with("redis://")) {
    rest = text.substr(8);
  } else if (text.starts_with("rediss://")) {
    rest = text.substr(9);
    uri.tls = true;
  } else {
    return Malformed(text, "unknown scheme");
  }
  uri.kind = StorageUri::Kind::kRedis;
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) return Malformed(text, "a path or database number is not supported");
  auto at = rest.rfind('@');
  if (at != std::string::npos) {
    std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = userinfo.find(':');
    if (colon == std::string::npos) {
      uri.password = userinfo;  // redis://password@host, as redis-cli accepts
    } else {
      uri.username = userinfo.substr(0, colon);
      uri.password = userinfo.substr(colon + 1);
    }
    if (uri.password.empty()) return Malformed(text, "empty password");
  }
  auto colon = rest.rfind(':');
  std::string port_text;
  if (colon != std::string::npos) {
    uri.host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
    int port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      return Malformed(text, absl::StrCat("port '", port_text, "' is not a number from 1 to 65535"));
    }
    uri.port = port;
  } else {
    uri.host = rest;
  }
  if (uri.host.empty()) return Malformed(text, "missing host");
  for (char c : uri.host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
      return Malformed(text, absl::StrCat("host '", uri.host, "' has an invalid character"));
    }
  }
  return uri;
}

}  // namespace halo
