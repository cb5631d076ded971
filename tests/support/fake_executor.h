// A deterministic Executor and Clock for unit tests: nothing runs until the test says so, and time moves
// only when the test advances it.
#pragma once

#include <deque>
#include <functional>
#include <map>

#include <stdexcept>

#include "common/executor.h"

namespace halo::testing {

class FakeExecutor : public Executor, public Clock {
 public:
  void Post(std::function<void()> fn) override { ready_.push_back(std::move(fn)); }
  TimerId RunAfter(int64_t delay_ms, std::function<void()> fn) override {
    TimerId id = next_id_++;
    timers_[{now_ms_ + delay_ms, id}] = std::move(fn);
    return id;
  }
  void Cancel(TimerId id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.second == id) {
        timers_.erase(it);
        return;
      }
    }
  }
  int64_t MonotonicMs() const override { return now_ms_; }
  int64_t WallMs() const override { return 1'700'000'000'000 + now_ms_; }

  // Runs posted closures (and those they post) until none is left. Returns how many ran.
  int RunUntilIdle() {
    int ran = 0;
    while (!ready_.empty()) {
      if (ran >= kMaxSteps) throw std::runtime_error("FakeExecutor: more than a million closures; a runaway loop?");
      auto fn = std::move(ready_.front());
      ready_.pop_front();
      fn();
      ++ran;
    }
    return ran;
  }
  // Moves time forward, firing due timers in time order.
  void AdvanceMs(int64_t ms) {
    const int64_t target = now_ms_ + ms;
    RunUntilIdle();
    for (int fired = 0; !timers_.empty() && timers_.begin()->first.first <= target; ++fired) {
      if (fired >= kMaxSteps) throw std::runtime_error("FakeExecutor: more than a million timers; a runaway loop?");
      auto it = timers_.begin();
      now_ms_ = it->first.first;
      auto fn = std::move(it->second);
      timers_.erase(it);
      fn();
      RunUntilIdle();
    }
    now_ms_ = target;
  }

 private:
  static constexpr int kMaxSteps = 1'000'000;
  int64_t now_ms_ = 0;
  TimerId next_id_ = 1;
  std::deque<std::function<void()>> ready_;
  std::map<std::pair<int64_t, TimerId>, std::function<void()>> timers_;
};

}  // namespace halo::testing
