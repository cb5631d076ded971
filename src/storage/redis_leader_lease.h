// LeaderLease on Redis, namespaced like the tables: the lease is the string key "HALO<ns>@LEADER" holding
// "holder|epoch|address" with a PX expiry (Redis' clock decides when it lapses), and the epoch counter is
// "HALO<ns>@EPOCH" (INCR). Each operation is one Lua script, so taking, renewing and releasing are atomic and
// can be re-sent after a reconnect. The epoch only grows as long as Redis keeps its data (persistence on).
#pragma once

#include <memory>
#include <string>

#include "storage/leader_lease.h"
#include "storage/redis_connection.h"

namespace halo {

// The key whose value is the current epoch: what RedisStore::SetFence compares with.
std::string RedisEpochKey(const std::string& name_space);

class RedisLeaderLease : public LeaderLease {
 public:
  RedisLeaderLease(std::shared_ptr<RedisConnection> connection, std::string name_space);

  void TryAcquire(const std::string& holder, const std::string& address, int64_t lease_ms,
                  std::function<void(StatusOr<std::optional<int64_t>>)> done) override;
  void Renew(const std::string& holder, int64_t lease_ms, std::function<void(StatusOr<bool>)> done) override;
  void Release(const std::string& holder, std::function<void(Status)> done) override;
  void Read(std::function<void(StatusOr<std::optional<LeaderRecord>>)> done) override;

 private:
  std::shared_ptr<RedisConnection> connection_;
  std::string leader_key_;
  std::string epoch_key_;
};

}  // namespace halo
