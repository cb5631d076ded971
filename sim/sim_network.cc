#include "sim/sim_network.h"

namespace halo::sim {

void SimNetwork::Send(SimProcess& from, SimProcess& to, std::function<void()> deliver, std::function<void()> refused,
                      bool reliable, bool outlives_sender) {
  Deliver(from, to, from.epoch(), to.epoch(), std::move(deliver), std::move(refused), reliable, outlives_sender);
}

void SimNetwork::Deliver(SimProcess& from, SimProcess& to, uint64_t from_epoch, uint64_t to_epoch,
                         std::function<void()> deliver, std::function<void()> refused, bool reliable,
                         bool outlives_sender) {
  if (IsCut(from.host(), to.host())) {
    if (!reliable) return;
    parked_[{from.host(), to.host()}].push_back(
        [this, &from, &to, from_epoch, to_epoch, outlives_sender, deliver = std::move(deliver),
         refused = std::move(refused)] {
          Deliver(from, to, from_epoch, to_epoch, deliver, refused, true, outlives_sender);
        });
    return;
  }
  int64_t delay = sim_.Uniform(settings_.min_delay_ms, settings_.max_delay_ms);
  if (settings_.loss_probability > 0 && sim_.Chance(settings_.loss_probability)) {
    // Calls run over TCP: a lost segment is sent again after a retransmission timeout, so the message is
    // late, not gone (only cuts and crashes make it go).
    lossy_.insert(from.name());
    lossy_.insert(to.name());
    delay += sim_.Uniform(200, 1000);
  }
  sim_.At(sim_.now_ms() + delay, [this, &from, &to, to_epoch, from_epoch, reliable, outlives_sender,
                                   deliver = std::move(deliver), refused = std::move(refused)]() mutable {
    if (IsCut(from.host(), to.host())) {  // cut while in flight
      if (reliable) {
        Deliver(from, to, from_epoch, to_epoch, std::move(deliver), std::move(refused), true, outlives_sender);
      }
      return;
    }
    // The connection died with either end: nothing sent on it reaches a restarted process.
    if (to.epoch() != to_epoch && !to.crashed()) return;
    // What a crashed sender had written is lost too, unless its host's kernel still sends it.
    if (from.epoch() != from_epoch && !(outlives_sender && !HostDown(from.host()))) return;
    if (to.crashed()) {
      if (refused && !HostDown(to.host()) && !IsCut(to.host(), from.host())) {
        from.RunAfter(sim_.Uniform(settings_.min_delay_ms, settings_.max_delay_ms), std::move(refused));
      }
      return;
    }
    to.Post(std::move(deliver));
  });
}

void SimNetwork::Heal(const std::string& from_host, const std::string& to_host) {
  cut_.erase({from_host, to_host});
  auto parked = parked_.find({from_host, to_host});
  if (parked == parked_.end()) return;
  std::vector<std::function<void()>> resend = std::move(parked->second);
  parked_.erase(parked);
  for (auto& fn : resend) fn();
}

void SimNetwork::HealAll() {
  cut_.clear();
  auto parked = std::move(parked_);
  parked_.clear();
  for (auto& [link, resend] : parked) {
    for (auto& fn : resend) fn();
  }
}

}  // namespace halo::sim
