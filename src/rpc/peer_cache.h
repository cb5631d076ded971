// Stubs for the peer processes a client calls by address (node agents, workers, the GCS), made on first use
// over rpc_util::MakePeerChannel and kept per address. Past peers_max the least recently used address is
// dropped (mostly workers long gone); calls in flight hold their stubs, so that is safe. Thread-safe.
// Stubs must have a `channel` member; make(stubs) fills in the rest.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "rpc/async_call.h"

namespace halo::rpc_util {

template <typename Stubs>
class PeerCache {
 public:
  PeerCache(size_t peers_max, std::function<void(Stubs&)> make) : peers_max_(peers_max), make_(std::move(make)) {}

  std::shared_ptr<Stubs> Get(const std::string& address) {
    std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t now = ++use_clock_;
    auto it = peers_.find(address);
    if (it != peers_.end()) {
      it->second.last_use = now;
      return it->second.stubs;
    }
    if (peers_.size() >= peers_max_) {
      auto oldest = std::min_element(peers_.begin(), peers_.end(), [](const auto& a, const auto& b) {
        return a.second.last_use < b.second.last_use;
      });
      peers_.erase(oldest);
    }
    auto stubs = std::make_shared<Stubs>();
    stubs->channel = MakePeerChannel(address);
    make_(*stubs);
    peers_[address] = Cached{stubs, now};
    return stubs;
  }

 private:
  struct Cached {
    std::shared_ptr<Stubs> stubs;
    uint64_t last_use = 0;
  };
  size_t peers_max_;
  std::function<void(Stubs&)> make_;
  std::mutex mutex_;
  std::unordered_map<std::string, Cached> peers_;
  uint64_t use_clock_ = 0;
};

}  // namespace halo::rpc_util
