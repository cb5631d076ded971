#include "sim/sim_network.h"

namespace halo::sim {

void SimNetwork::Send(SimProcess& from, SimProcess& to, std::function<void()> deliver, std::function<void()> refused) {
  if (IsCut(from.name(), to.name())) return;
  int64_t delay = sim_.Uniform(settings_.min_delay_ms, settings_.max_delay_ms);
  if (settings_.loss_probability > 0 && sim_.Chance(settings_.loss_probability)) {
    // Calls run over TCP: a lost segment is sent again after a retransmission timeout, so the message is
    // late, not gone (only cuts and crashes make it go).
    lossy_.insert(from.name());
    lossy_.insert(to.name());
    delay += sim_.Uniform(200, 1000);
  }
  sim_.At(sim_.now_ms() + delay, [this, &from, &to, to_epoch = to.epoch(), from_epoch = from.epoch(),
                                   deliver = std::move(deliver), refused = std::move(refused)]() mutable {
    if (IsCut(from.name(), to.name())) return;  // cut while in flight
    // The connection died with either end: nothing sent on it reaches a restarted process.
    if (to.epoch() != to_epoch && !to.crashed()) return;
    if (from.epoch() != from_epoch) return;
    if (to.crashed()) {
      if (refused && !IsCut(to.name(), from.name())) {
        from.RunAfter(sim_.Uniform(settings_.min_delay_ms, settings_.max_delay_ms), std::move(refused));
      }
      return;
    }
    to.Post(std::move(deliver));
  });
}

}  // namespace halo::sim
