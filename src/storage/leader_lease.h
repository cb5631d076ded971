// The head-election primitive kept in storage: one lease key that at most one candidate holds at a time,
// taken only when free and kept alive by its holder's renewals; each taking bumps an epoch counter that only
// grows. The epoch key is also the fence: a store fenced with an epoch applies a write only while that epoch
// is still the current one (RedisStore::SetFence), so a deposed holder, however long it was paused, can
// change nothing. Callbacks run on the connection's executor.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"

namespace halo {

struct LeaderRecord {
  std::string holder;   // the candidate's unique id (one per process incarnation)
  std::string address;  // where it serves
  int64_t epoch = 0;
};

class LeaderLease {
 public:
  virtual ~LeaderLease() = default;
  // Takes the lease for lease_ms if nobody holds it, bumping the epoch: yields the new epoch. Yields nullopt
  // when another holder has it. Asking again while holding it yields the same epoch (safe to re-send).
  virtual void TryAcquire(const std::string& holder, const std::string& address, int64_t lease_ms,
                          std::function<void(StatusOr<std::optional<int64_t>>)> done) = 0;
  // Extends the lease to lease_ms from now if holder still holds it: true; false if it does not (lapsed, or
  // someone else took it).
  virtual void Renew(const std::string& holder, int64_t lease_ms, std::function<void(StatusOr<bool>)> done) = 0;
  // Gives the lease up at once if holder holds it (a graceful stop), so a standby can take it without waiting.
  virtual void Release(const std::string& holder, std::function<void(Status)> done) = 0;
  // The current holder, if any.
  virtual void Read(std::function<void(StatusOr<std::optional<LeaderRecord>>)> done) = 0;
};

}  // namespace halo
