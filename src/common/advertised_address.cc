#include "common/advertised_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace halo {

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) return false;
  return (ntohl(addr.s_addr) >> 24) == 127;
}

std::string HostOfAddress(const std::string& address) {
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    return close == std::string::npos ? address : address.substr(1, close - 1);
  }
  const size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

StatusOr<addrinfo*> ResolveHostPort(const std::string& host_port, int family, int socket_type) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == host_port.size()) {
    return InvalidArgumentError(absl::StrCat("'", host_port, "' is not host:port"));
  }
  const std::string host = HostOfAddress(host_port);
  const std::string port = host_port.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = socket_type;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return InvalidArgumentError(absl::StrCat("cannot resolve '", host, "': ", gai_strerror(rc)));
  }
  return found;
}

StatusOr<std::string> LocalAddressToward(const std::string& host_port) {
  auto resolved = ResolveHostPort(host_port, AF_INET, SOCK_DGRAM);
  if (!resolved.ok()) return resolved.status();
  addrinfo* found = *resolved;
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(found);
    return InternalError(absl::StrCat("socket: ", strerror(errno)));
  }
  Status failed = OkStatus();
  std::string local;
  if (connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    failed = UnavailableError(absl::StrCat("no route to ", host_port, ": ", strerror(errno)));
  } else {
    sockaddr_in self{};
    socklen_t length = sizeof(self);
    char text[INET_ADDRSTRLEN] = {0};
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&self), &length) != 0 ||
        inet_ntop(AF_INET, &self.sin_addr, text, sizeof(text)) == nullptr) {
      failed = InternalError(absl::StrCat("getsockname: ", strerror(errno)));
    } else {
      local = text;
    }
  }
  close(fd);
  freeaddrinfo(found);
  if (!failed.ok()) return failed;
  return local;
}

StatusOr<ChosenHosts> ChooseHosts(const Settings& settings, bool host_given, const std::string& gcs_addresses,
                                  const std::string& who) {
  std::vector<std::string> candidates = absl::StrSplit(gcs_addresses, ',', absl::SkipWhitespace());
  ChosenHosts chosen{settings.host, settings.advertise_host.empty() ? settings.host : settings.advertise_host};
  if (!host_given && settings.advertise_host.empty()) {
    Status last = InvalidArgumentError("no GCS address to find this machine's address from");
    bool found = false;
    for (const auto& candidate : candidates) {
      auto local = LocalAddressToward(candidate);
      if (local.ok()) {
        chosen = ChosenHosts{*local, *local};
        found = true;
        break;
      }
      last = local.status();
    }
    if (!found) {
      return Status(last.code(), absl::StrCat(who, " cannot tell which of this machine's addresses reaches the GCS (",
                                              last.message(), "); give --host"));
    }
  }
  if (chosen.advertise_host == "0.0.0.0" || chosen.advertise_host.empty()) {
    return InvalidArgumentError(absl::StrCat(who, " binds ", chosen.bind_host,
                                             ", which is not an address others can dial; give --advertise-host"));
  }
  if (IsLoopbackHost(chosen.advertise_host)) {
    for (const auto& candidate : candidates) {
      if (!IsLoopbackHost(HostOfAddress(candidate))) {
        return FailedPreconditionError(absl::StrCat(
            who, " would advertise the loopback address ", chosen.advertise_host, " to a cluster whose GCS is at ",
            candidate, ", and no other host could reach it; give --host (or --advertise-host) an address of this "
            "machine that the other hosts can reach"));
      }
    }
  }
  return chosen;
}

}  // namespace halo
