#include "node/worker_lease_renewer.h"

#include <algorithm>

#include "common/check.h"

namespace halo::node {

WorkerLeaseRenewer::WorkerLeaseRenewer(Executor& executor, Clock& clock, int64_t lease_ms, Sink sink)
    : executor_(executor), clock_(clock), lease_ms_(lease_ms), sink_(std::move(sink)) {
  HALO_CHECK(lease_ms_ > 0) << "worker lease of " << lease_ms_ << " ms";
}

WorkerLeaseRenewer::~WorkerLeaseRenewer() {
  if (timer_ != 0) executor_.Cancel(timer_);
}

void WorkerLeaseRenewer::Start() { Renew(); }

void WorkerLeaseRenewer::Renew() {
  timer_ = 0;
  if (revoked_) return;
  deadline_ms_ = std::min(clock_.MonotonicMs() + lease_ms_, limit_ms_);
  sink_(deadline_ms_);
  timer_ = executor_.RunAfter(std::max<int64_t>(1, lease_ms_ / 4), [this] { Renew(); });
}

void WorkerLeaseRenewer::LimitTo(int64_t limit_ms) {
  limit_ms_ = limit_ms;
  if (revoked_ || timer_ == 0) return;  // not started yet, or over: Start / Revoke write the deadline
  const int64_t deadline = std::min(clock_.MonotonicMs() + lease_ms_, limit_ms_);
  if (deadline != deadline_ms_) {
    deadline_ms_ = deadline;
    sink_(deadline_ms_);
  }
}

void WorkerLeaseRenewer::Revoke() {
  revoked_ = true;
  deadline_ms_ = 0;
  sink_(0);
  if (timer_ != 0) executor_.Cancel(timer_);
  timer_ = 0;
}

}  // namespace halo::node
