// Deterministic simulation core: one thread, virtual time, one seed. Processes are Executors and Clocks
// whose closures run on the shared virtual-time queue; a process can crash (its pending work is dropped),
// pause (its work waits until it resumes) and restart. Every run with the same seed executes the same
// closures in the same order, so its trace (and the trace's hash) is the same.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "common/executor.h"
#include "common/random.h"

namespace halo::sim {

class Simulation {
 public:
  explicit Simulation(uint64_t seed) : seed_(seed), random_(seed) {}

  uint64_t seed() const { return seed_; }
  int64_t now_ms() const { return now_ms_; }
  RandomSource& random() { return random_; }
  // Uniform in [low, high].
  int64_t Uniform(int64_t low, int64_t high);
  bool Chance(double probability);

  void At(int64_t time_ms, std::function<void()> fn);
  // Runs every closure due up to and including time_ms, in (time, insertion) order. Returns how many ran.
  int64_t RunUntil(int64_t time_ms);

  // The trace: every line is hashed; kept in memory only when `keep_trace_lines` was asked for.
  void Trace(const std::string& line);
  uint64_t trace_hash() const { return trace_hash_; }
  void set_keep_trace_lines(bool keep) { keep_trace_lines_ = keep; }
  // Prints every line as it is traced instead (interleaved with the managers' logs).
  void set_echo_trace_lines(bool echo) { echo_trace_lines_ = echo; }
  const std::vector<std::string>& trace_lines() const { return trace_lines_; }

  // Invariant violations found so far (a run passes when this stays empty).
  void Violation(const std::string& what);
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  static constexpr int64_t kMaxSteps = 50'000'000;  // per run; far above any scenario's need
  struct Item {
    int64_t time_ms;
    uint64_t order;
    std::function<void()> fn;
    bool operator>(const Item& other) const {
      return time_ms != other.time_ms ? time_ms > other.time_ms : order > other.order;
    }
  };
  uint64_t seed_;
  SeededRandom random_;
  int64_t now_ms_ = 0;
  uint64_t next_order_ = 0;
  int64_t steps_ = 0;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue_;
  uint64_t trace_hash_ = 1469598103934665603ull;
  bool keep_trace_lines_ = false;
  bool echo_trace_lines_ = false;
  std::vector<std::string> trace_lines_;
  std::vector<std::string> violations_;
};

// A simulated process on a host (by default a host of its own). Executor and Clock for the managers that run
// "inside" it. Its monotonic clock runs at its host's rate from its host's origin (hosts' clocks differ in
// both); its timers fire when its own clock says their delay passed. Wall clocks agree (NTP).
class SimProcess : public Executor, public Clock {
 public:
  SimProcess(Simulation& sim, std::string name, std::string host = "")
      : sim_(sim), name_(std::move(name)), host_(host.empty() ? name_ : std::move(host)) {}

  void Post(std::function<void()> fn) override { RunAfter(0, std::move(fn)); }
  TimerId RunAfter(int64_t delay_ms, std::function<void()> fn) override;
  void Cancel(TimerId id) override { pending_.erase(id); }
  int64_t MonotonicMs() const override;
  int64_t WallMs() const override { return 1'800'000'000'000 + sim_.now_ms(); }
  // rate: monotonic ms per virtual ms (1.0 exact); origin_ms: its monotonic reading at virtual time 0.
  void SetClock(double rate, int64_t origin_ms) {
    clock_rate_ = rate;
    clock_origin_ms_ = origin_ms;
  }
  double clock_rate() const { return clock_rate_; }
  int64_t clock_origin_ms() const { return clock_origin_ms_; }

  // Drops every pending closure; nothing runs until Restart.
  void Crash();
  void Restart();
  // Closures due while paused run, in order, when it resumes.
  void Pause();
  void Resume();

  bool crashed() const { return crashed_; }
  bool paused() const { return paused_; }
  bool running() const { return !crashed_ && !paused_; }
  // Bumped by every crash: a message sent to an earlier incarnation never reaches a later one.
  uint64_t epoch() const { return epoch_; }
  const std::string& name() const { return name_; }
  const std::string& host() const { return host_; }
  Simulation& sim() { return sim_; }

 private:
  Simulation& sim_;
  std::string name_;
  std::string host_;
  double clock_rate_ = 1.0;
  int64_t clock_origin_ms_ = 0;
  uint64_t epoch_ = 0;
  TimerId next_id_ = 1;
  std::set<TimerId> pending_;
  bool crashed_ = false;
  bool paused_ = false;
  std::deque<std::function<void()>> deferred_;
};

}  // namespace halo::sim
