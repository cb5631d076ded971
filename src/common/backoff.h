// Bounded exponential backoff: initial, doubling, capped at max. Pure arithmetic; the caller owns time.
#pragma once

#include <algorithm>
#include <cstdint>

namespace halo {

class ExponentialBackoff {
 public:
  ExponentialBackoff(int64_t initial_ms, int64_t max_ms) : initial_ms_(initial_ms), max_ms_(max_ms) {}
  // The delay before the next attempt; each call doubles the following one up to max_ms.
  int64_t NextDelayMs() {
    int64_t delay = current_ms_ == 0 ? initial_ms_ : std::min(current_ms_ * 2, max_ms_);
    current_ms_ = delay;
    return delay;
  }
  void Reset() { current_ms_ = 0; }

 private:
  int64_t initial_ms_;
  int64_t max_ms_;
  int64_t current_ms_ = 0;
};

}  // namespace halo
