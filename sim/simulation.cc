#include "sim/simulation.h"

#include <cmath>
#include <cstdio>

namespace halo::sim {

int64_t Simulation::Uniform(int64_t low, int64_t high) {
  if (high <= low) return low;
  return low + static_cast<int64_t>(random_.Next64() % static_cast<uint64_t>(high - low + 1));
}

bool Simulation::Chance(double probability) {
  return static_cast<double>(random_.Next64() % 1'000'000) < probability * 1'000'000;
}

void Simulation::At(int64_t time_ms, std::function<void()> fn) {
  queue_.push(Item{std::max(time_ms, now_ms_), next_order_++, std::move(fn)});
}

int64_t Simulation::RunUntil(int64_t time_ms) {
  int64_t ran = 0;
  while (!queue_.empty() && queue_.top().time_ms <= time_ms) {
    if (++steps_ > kMaxSteps) {
      Violation("more than " + std::to_string(kMaxSteps) + " events: a runaway loop");
      return ran;
    }
    Item item = std::move(const_cast<Item&>(queue_.top()));
    queue_.pop();
    now_ms_ = item.time_ms;
    item.fn();
    ++ran;
  }
  now_ms_ = std::max(now_ms_, time_ms);
  return ran;
}

void Simulation::Trace(const std::string& line) {
  const std::string stamped = std::to_string(now_ms_) + " " + line;
  for (unsigned char c : stamped) {
    trace_hash_ ^= c;
    trace_hash_ *= 1099511628211ull;
  }
  trace_hash_ ^= '\n';
  trace_hash_ *= 1099511628211ull;
  if (echo_trace_lines_) std::printf("%s\n", stamped.c_str());
  if (keep_trace_lines_) trace_lines_.push_back(stamped);
}

void Simulation::Violation(const std::string& what) {
  violations_.push_back("t=" + std::to_string(now_ms_) + "ms: " + what);
  Trace("VIOLATION " + what);
}

int64_t SimProcess::MonotonicMs() const {
  return clock_origin_ms_ + static_cast<int64_t>(std::floor(static_cast<double>(sim_.now_ms()) * clock_rate_));
}

TimerId SimProcess::RunAfter(int64_t delay_ms, std::function<void()> fn) {
  const TimerId id = next_id_++;
  pending_.insert(id);
  // Rounded up: a timer never fires before its own clock says the delay passed.
  const int64_t virtual_delay_ms =
      clock_rate_ == 1.0 ? std::max<int64_t>(0, delay_ms)
                         : static_cast<int64_t>(std::ceil(static_cast<double>(std::max<int64_t>(0, delay_ms)) / clock_rate_));
  sim_.At(sim_.now_ms() + virtual_delay_ms, [this, id, epoch = epoch_, fn = std::move(fn)]() mutable {
    if (epoch != epoch_ || pending_.erase(id) == 0) return;  // crashed since, or cancelled
    if (paused_) {
      deferred_.push_back(std::move(fn));
      return;
    }
    fn();
  });
  return id;
}

void SimProcess::Crash() {
  ++epoch_;
  pending_.clear();
  deferred_.clear();
  crashed_ = true;
  paused_ = false;
}

void SimProcess::Restart() { crashed_ = false; }

void SimProcess::Pause() {
  if (!crashed_) paused_ = true;
}

void SimProcess::Resume() {
  if (!paused_) return;
  paused_ = false;
  // Run what came due during the pause now, in order, before anything scheduled later (re-posting would let
  // a closure due at this same instant overtake them).
  const uint64_t epoch = epoch_;
  while (!deferred_.empty() && !paused_ && epoch == epoch_) {
    auto fn = std::move(deferred_.front());
    deferred_.pop_front();
    fn();
  }
}

}  // namespace halo::sim
