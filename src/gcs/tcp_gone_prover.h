// GoneProver over TCP: connects to the node agent's address; a refused connection (the host answered with a
// reset: nothing listens there any more) is the proof. A timeout or an unreachable host proves nothing.
// Each probe runs on its own short-lived thread, bounded by timeout_ms; answers reach the executor only while
// the prover exists.
#pragma once

#include <memory>
#include <mutex>

#include "common/executor.h"
#include "gcs/node_manager.h"

namespace halo::gcs {

class TcpGoneProver : public GoneProver {
 public:
  TcpGoneProver(Executor& executor, int64_t timeout_ms);
  ~TcpGoneProver() override;
  void ProveGone(const std::string& address, std::function<void(bool gone)> done) override;

  // Blocking: whether connecting to address was refused within timeout_ms.
  static bool ConnectionRefused(const std::string& address, int64_t timeout_ms);

 private:
  struct Guard {
    std::mutex mutex;
    Executor* executor = nullptr;
  };
  std::shared_ptr<Guard> guard_;
  int64_t timeout_ms_;
};

}  // namespace halo::gcs
