// A simulated network between SimProcesses: each message takes a random delay, may be lost once at random
// (then, as over TCP, it arrives after a retransmission timeout), is dropped on a cut link (one-way cuts and
// full partitions), reaches a paused process only when it resumes, and bounces off a crashed one
// ("connection refused") back to the sender. SimCall builds request/reply on top, with a
// timeout on the caller's side, as a gRPC unary call behaves.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "common/status.h"
#include "sim/simulation.h"

namespace halo::sim {

struct NetworkSettings {
  int64_t min_delay_ms = 1;
  int64_t max_delay_ms = 20;
  double loss_probability = 0.0;  // that a message is lost once and retransmitted
};

class SimNetwork {
 public:
  SimNetwork(Simulation& sim, NetworkSettings settings) : sim_(sim), settings_(settings) {}

  // deliver runs on `to`; refused (if given) runs on `from` when `to` is crashed at delivery.
  void Send(SimProcess& from, SimProcess& to, std::function<void()> deliver, std::function<void()> refused = nullptr);

  void Cut(const std::string& from, const std::string& to) { cut_.insert({from, to}); }
  void Heal(const std::string& from, const std::string& to) { cut_.erase({from, to}); }
  void HealAll() { cut_.clear(); }
  bool IsCut(const std::string& from, const std::string& to) const { return cut_.count({from, to}) > 0; }
  int64_t max_delay_ms() const { return settings_.max_delay_ms; }
  // Processes that had at least one message to or from them lost (and retransmitted).
  bool LostMessagesOf(const std::string& name) const { return lossy_.count(name) > 0; }

 private:
  Simulation& sim_;
  NetworkSettings settings_;
  std::set<std::pair<std::string, std::string>> cut_;
  std::set<std::string> lossy_;
};

// A unary call: handler runs on `to` and answers once through its argument; done runs on `from` exactly
// once, with the answer, or with Unavailable when the call times out or is refused.
template <typename Reply>
void SimCall(SimNetwork& network, SimProcess& from, SimProcess& to, int64_t timeout_ms,
             std::function<void(std::function<void(Reply)>)> handler, std::function<void(Reply)> done) {
  struct State {
    bool finished = false;
    TimerId timer = 0;
  };
  auto state = std::make_shared<State>();
  // A reply never reaches a later incarnation of the caller: the caller's connection died with it.
  auto finish = [state, &from, caller_epoch = from.epoch(), done](Reply reply) {
    if (state->finished || from.epoch() != caller_epoch) return;
    state->finished = true;
    from.Cancel(state->timer);
    done(std::move(reply));
  };
  state->timer = from.RunAfter(timeout_ms, [finish] { finish(Reply(DeadlineExceededError("call timed out"))); });
  network.Send(
      from, to,
      [&network, &from, &to, handler, finish] {
        handler([&network, &from, &to, finish](Reply reply) {
          network.Send(to, from, [finish, reply = std::move(reply)]() mutable { finish(std::move(reply)); });
        });
      },
      [finish] { finish(Reply(UnavailableError("connection refused"))); });
}

}  // namespace halo::sim
