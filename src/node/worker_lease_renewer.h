// The node agent's side of its workers' lease: every lease_ms / 4 it pushes the workers' deadline to
// now + lease_ms on its own executor, so a node agent that is paused, hung or gone stops renewing and its
// workers stop serving within lease_ms (core/worker_lease_guard). The deadline never passes the bound set
// with LimitTo (the node's own authority, when it holds one); Revoke ends it at once (the node was declared
// dead, or stops). Event-driven on the agent's executor; clock and the place the deadline is written are
// handed in.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>

#include "common/executor.h"

namespace halo::node {

class WorkerLeaseRenewer {
 public:
  using Sink = std::function<void(int64_t deadline_ms)>;
  WorkerLeaseRenewer(Executor& executor, Clock& clock, int64_t lease_ms, Sink sink);
  ~WorkerLeaseRenewer();

  void Start();
  // Workers' deadline never later than limit_ms (monotonic); takes effect at once, lowered or raised.
  void LimitTo(int64_t limit_ms);
  // Deadline 0 from now on: every worker stops at its next check.
  void Revoke();
  int64_t deadline_ms() const { return deadline_ms_; }

 private:
  void Renew();

  Executor& executor_;
  Clock& clock_;
  const int64_t lease_ms_;
  Sink sink_;
  int64_t limit_ms_ = std::numeric_limits<int64_t>::max();
  int64_t deadline_ms_ = 0;
  bool revoked_ = false;
  TimerId timer_ = 0;
};

}  // namespace halo::node
