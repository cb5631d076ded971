#include "rpc/tls_probe.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>

namespace halo::rpc {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

namespace {
std::atomic<bool> g_explain{false};
}  // namespace

void SetExplainTlsRefusals(bool explain) { g_explain.store(explain); }
bool ExplainTlsRefusals() { return g_explain.load(); }

bool ClosesPlaintextConnections(const std::string& address, int64_t timeout_ms) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = address.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), address.substr(colon + 1).c_str(), &hints, &found) != 0 || found == nullptr) {
    return false;
  }
  Fd fd(socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const int connected = fd.get() < 0 ? -1 : connect(fd.get(), found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  if (fd.get() < 0 || (connected != 0 && errno != EINPROGRESS)) return false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto wait = [&](short events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), events, 0};
    return left.count() > 0 && poll(&p, 1, static_cast<int>(left.count())) == 1 ? p.revents : 0;
  };
  if ((wait(POLLOUT) & POLLOUT) == 0) return false;
  int error = 0;
  socklen_t length = sizeof(error);
  if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) return false;
  static const char kPrefaceAndSettings[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
  if (send(fd.get(), kPrefaceAndSettings, sizeof(kPrefaceAndSettings) - 1, MSG_NOSIGNAL) <= 0) return false;
  if ((wait(POLLIN) & (POLLIN | POLLHUP | POLLERR)) == 0) return false;
  char byte = 0;
  const ssize_t n = recv(fd.get(), &byte, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

}  // namespace halo::rpc
