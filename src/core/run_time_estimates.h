// Batch sizing by measured run time, shared by the task and actor-call submitters: a running mean of each
// function's (or method's) run time, and from it how many calls go in one push (about kTargetBatchUs of
// expected work) and how many pushes may be outstanding per worker (one for slow or unmeasured work, so each
// finished call is answered at once and queued work stays free for whichever worker is free first).
// Single-threaded: used on its submitter's executor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace halo::core {

class RunTimeEstimates {
 public:
  // A push should keep its worker busy about this long.
  static constexpr double kTargetBatchUs = 2000;

  // The running mean of name's run times, or nullopt before its first run.
  std::optional<double> EstimateUs(const std::string& name) const {
    auto it = run_us_.find(name);
    if (it == run_us_.end()) return std::nullopt;
    return it->second;
  }
  // One finished run of name.
  void Record(const std::string& name, double run_us) {
    auto [it, added] = run_us_.try_emplace(name, run_us);
    if (!added) it->second = 0.8 * it->second + 0.2 * run_us;
  }
  // What a call of name adds to a push's expected work: a full push when it was never measured.
  double CostUs(const std::string& name) const { return EstimateUs(name).value_or(kTargetBatchUs); }
  // True while a push holding expected_us of work has room for more.
  static bool HasRoom(double expected_us) { return expected_us < kTargetBatchUs; }
  // Pushes allowed outstanding to one worker when the next call is of name: batches_in_flight_max for short,
  // measured work; one otherwise.
  int64_t InFlightMax(const std::string& name, int64_t batches_in_flight_max) const {
    const std::optional<double> next = EstimateUs(name);
    return next && *next < kTargetBatchUs ? batches_in_flight_max : 1;
  }

 private:
  std::unordered_map<std::string, double> run_us_;
};

}  // namespace halo::core
