// A simulated network between SimProcesses: each message takes a random delay, may be lost once at random
// (then, as over TCP, it arrives after a retransmission timeout), is dropped on a cut link (one-way cuts and
// full partitions), reaches a paused process only when it resumes, and bounces off a crashed one
// ("connection refused") back to the sender unless its whole host is down. SimCall builds request/reply on top, with a
// timeout on the caller's side, as a gRPC unary call behaves.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

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

  // deliver runs on `to`; refused (if given) runs on `from` when `to` is crashed at delivery. A cut link drops
  // the message, unless `reliable`: then it waits for the link to heal, as TCP retransmits on a connection
  // that outlives the cut (held calls). A message whose sender crashes while it is in flight is dropped, unless
  // `outlives_sender` (a reply already written: its host's kernel still delivers the bytes, as after a SIGKILL).
  void Send(SimProcess& from, SimProcess& to, std::function<void()> deliver, std::function<void()> refused = nullptr,
            bool reliable = false, bool outlives_sender = false);

  // Cuts are between hosts (every process on them); processes on one host always reach each other.
  void Cut(const std::string& from_host, const std::string& to_host) { cut_.insert({from_host, to_host}); }
  void Heal(const std::string& from_host, const std::string& to_host);
  void HealAll();
  bool IsCut(const std::string& from_host, const std::string& to_host) const {
    return cut_.count({from_host, to_host}) > 0;
  }
  // A host that is down (powered off) refuses nothing: messages to its crashed processes vanish.
  void SetHostDown(const std::string& host, bool down) {
    if (down) {
      down_.insert(host);
    } else {
      down_.erase(host);
    }
  }
  bool HostDown(const std::string& host) const { return down_.count(host) > 0; }
  int64_t max_delay_ms() const { return settings_.max_delay_ms; }
  // Processes that had at least one message to or from them lost (and retransmitted).
  bool LostMessagesOf(const std::string& name) const { return lossy_.count(name) > 0; }

 private:
  Simulation& sim_;
  NetworkSettings settings_;
  std::set<std::pair<std::string, std::string>> cut_;
  std::set<std::string> lossy_;
  std::set<std::string> down_;
  // Reliable messages waiting for a cut link to heal.
  std::map<std::pair<std::string, std::string>, std::vector<std::function<void()>>> parked_;

  void Deliver(SimProcess& from, SimProcess& to, uint64_t from_epoch, uint64_t to_epoch, std::function<void()> deliver,
               std::function<void()> refused, bool reliable, bool outlives_sender);
};

// A unary call: handler runs on `to` and answers once through its argument; done runs on `from` exactly
// once, with the answer, or with Unavailable when the call times out or is refused.
template <typename Reply>
void SimCall(SimNetwork& network, SimProcess& from, SimProcess& to, int64_t timeout_ms,
             std::function<void(std::function<void(Reply)>)> handler, std::function<void(Reply)> done,
             bool reliable = false) {
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
      [&network, &from, &to, handler, finish, reliable] {
        handler([&network, &from, &to, finish, reliable](Reply reply) {
          network.Send(
              to, from, [finish, reply = std::move(reply)]() mutable { finish(std::move(reply)); }, nullptr, reliable,
              /*outlives_sender=*/true);
        });
      },
      [finish] { finish(Reply(UnavailableError("connection refused"))); }, reliable);
}

}  // namespace halo::sim
