#include "storage/storage_uri.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace halo {
namespace {

Status Malformed(const std::string& text, const std::string& why) {
  return InvalidArgumentError(absl::StrCat("malformed storage URI '", text, "': ", why,
                                           " (expected embedded, memory, redis://[user:password@]host:port, "
                                           "rediss://[user:password@]host:port or "
                                           "redis+sentinel://[user:password@]host:port,host:port,.../MASTERNAME)"));
}

// host[:port] into out; a message naming what is wrong, or empty.
std::string ParseHostPort(const std::string& text, std::string* host, int* port) {
  auto colon = text.rfind(':');
  if (colon != std::string::npos) {
    *host = text.substr(0, colon);
    const std::string port_text = text.substr(colon + 1);
    int value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() || value < 1 ||
        value > 65535) {
      return absl::StrCat("port '", port_text, "' is not a number from 1 to 65535");
    }
    *port = value;
  } else {
    *host = text;
  }
  if (host->empty()) return "missing host";
  for (char c : *host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
      return absl::StrCat("host '", *host, "' has an invalid character");
    }
  }
  return "";
}

}  // namespace

std::string StorageUri::Endpoint() const {
  if (sentinel() && host.empty()) return absl::StrCat("master ", master_name, " of the sentinels ", SentinelList());
  return absl::StrCat(host, ":", port);
}

std::string StorageUri::SentinelList() const {
  std::string list;
  for (const auto& s : sentinels) absl::StrAppend(&list, list.empty() ? "" : ",", s.host, ":", s.port);
  return list;
}

StatusOr<StorageUri> ParseStorageUri(const std::string& text) {
  StorageUri uri;
  if (text == "embedded") return uri;
  if (text == "memory") {
    uri.kind = StorageUri::Kind::kMemory;
    return uri;
  }
  std::string rest;
  bool sentinel = false;
  if (text.starts_with("redis://")) {
    rest = text.substr(8);
  } else if (text.starts_with("rediss://")) {
    rest = text.substr(9);
    uri.tls = true;
  } else if (text.starts_with("redis+sentinel://")) {
    rest = text.substr(17);
    sentinel = true;
  } else if (text.starts_with("rediss+sentinel://")) {
    rest = text.substr(18);
    sentinel = true;
    uri.tls = true;
  } else {
    return Malformed(text, "unknown scheme");
  }
  uri.kind = StorageUri::Kind::kRedis;
  if (sentinel) {
    auto slash = rest.rfind('/');
    if (slash == std::string::npos || slash + 1 == rest.size()) {
      return Malformed(text, "a Sentinel URI ends with /MASTERNAME, the name the sentinels monitor");
    }
    uri.master_name = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    for (char c : uri.master_name) {
      if (std::isspace(static_cast<unsigned char>(c)) || c == '/') {
        return Malformed(text, absl::StrCat("master name '", uri.master_name, "' has an invalid character"));
      }
    }
  } else {
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.find('/') != std::string::npos) return Malformed(text, "a path or database number is not supported");
  }
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
  if (!sentinel) {
    std::string why = ParseHostPort(rest, &uri.host, &uri.port);
    if (!why.empty()) return Malformed(text, why);
    return uri;
  }
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t comma = rest.find(',', start);
    const std::string part = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    StorageUri::HostPort one;
    std::string why = ParseHostPort(part, &one.host, &one.port);
    if (!why.empty()) return Malformed(text, absl::StrCat("sentinel '", part, "': ", why));
    uri.sentinels.push_back(one);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  uri.host.clear();
  return uri;
}

}  // namespace halo
