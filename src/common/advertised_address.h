// Which address a process binds and which it advertises to its peers. A process that was not told its host
// advertises the local address of its route to the GCS (what the kernel would use to reach it), so every
// process of a multi-host cluster is reachable without per-machine configuration; bind and advertised
// addresses can differ (advertise_host, for NAT and containers). A process that would advertise a loopback
// address to a cluster whose GCS is not on loopback is refused: nobody on another host could reach it.
#pragma once

#include <netdb.h>

#include <string>

#include "common/settings.h"
#include "common/status.h"

namespace halo {

// 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

// The host part of "host:port" ("[v6]:port" too); the whole text when it has no port.
std::string HostOfAddress(const std::string& address);

// Resolves "host:port" to its first address of the given family and socket type (getaddrinfo; the caller
// frees it with freeaddrinfo). InvalidArgument for text that is not host:port or a host that does not resolve.
StatusOr<addrinfo*> ResolveHostPort(const std::string& host_port, int family, int socket_type);

// The local IPv4 address this machine would use to reach host:port: the source address of a connected UDP
// socket (connecting one sends no packet). InvalidArgument for an address that is not host:port, Unavailable
// when there is no route.
StatusOr<std::string> LocalAddressToward(const std::string& host_port);

struct ChosenHosts {
  std::string bind_host;       // what the process listens on
  std::string advertise_host;  // what it tells others to dial
};

// who: "the node agent", "the driver" (for the error line). host_given: `host` was set by a flag, the
// environment or a file rather than defaulted. gcs_addresses: the GCS candidates, comma-separated.
StatusOr<ChosenHosts> ChooseHosts(const Settings& settings, bool host_given, const std::string& gcs_addresses,
                                  const std::string& who);

}  // namespace halo
