#include "node/peer_watch.h"

namespace halo::node {

PeerWatch::PeerWatch(Executor& executor, health::HealthProber& prober, PeerWatchSettings settings,
                     std::function<std::set<std::string>()> wanted,
                     std::function<void(const std::string& address)> gone)
    : executor_(executor),
      settings_(settings),
      wanted_(std::move(wanted)),
      gone_(std::move(gone)),
      checks_(executor, prober, *this, settings.checks) {}

void PeerWatch::Start() { Sync(); }

void PeerWatch::OnNodeFailed(const std::string& address) {
  watched_.erase(address);  // the checker forgot it
  gone_(address);
}

void PeerWatch::Sync() {
  const std::set<std::string> wanted = wanted_();
  for (const auto& peer : wanted) {
    if (watched_.insert(peer).second) checks_.AddNode(peer, peer);
  }
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (wanted.count(*it) == 0) {
      checks_.RemoveNode(*it);
      it = watched_.erase(it);
    } else {
      ++it;
    }
  }
  executor_.RunAfter(settings_.sync_interval_ms, [this] { Sync(); });
}

}  // namespace halo::node
