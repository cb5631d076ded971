#include "gcs/tcp_gone_prover.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "common/advertised_address.h"

namespace halo::gcs {

TcpGoneProver::TcpGoneProver(Executor& executor, int64_t timeout_ms)
    : guard_(std::make_shared<Guard>()), timeout_ms_(timeout_ms) {
  guard_->executor = &executor;
}

TcpGoneProver::~TcpGoneProver() {
  std::lock_guard<std::mutex> lock(guard_->mutex);
  guard_->executor = nullptr;
}

void TcpGoneProver::ProveGone(const std::string& address, std::function<void(bool gone)> done) {
  std::thread([guard = guard_, address, timeout_ms = timeout_ms_, done = std::move(done)]() mutable {
    const bool gone = ConnectionRefused(address, timeout_ms);
    std::lock_guard<std::mutex> lock(guard->mutex);
    if (guard->executor != nullptr) guard->executor->Post([done = std::move(done), gone] { done(gone); });
  }).detach();
}

bool TcpGoneProver::ConnectionRefused(const std::string& address, int64_t timeout_ms) {
  auto resolved = ResolveHostPort(address, AF_UNSPEC, SOCK_STREAM);
  if (!resolved.ok()) return false;
  addrinfo* found = *resolved;
  bool refused = false;
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    int rc = connect(fd, found->ai_addr, found->ai_addrlen);
    if (rc != 0 && errno == ECONNREFUSED) {
      refused = true;
    } else if (rc != 0 && errno == EINPROGRESS) {
      pollfd waiting{fd, POLLOUT, 0};
      if (poll(&waiting, 1, static_cast<int>(std::clamp<int64_t>(timeout_ms, 1, 60'000))) == 1) {
        int error = 0;
        socklen_t length = sizeof(error);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        refused = error == ECONNREFUSED;
      }
    }
    close(fd);
  }
  freeaddrinfo(found);
  return refused;
}

}  // namespace halo::gcs
