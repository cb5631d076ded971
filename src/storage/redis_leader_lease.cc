#include "storage/redis_leader_lease.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "storage/redis_store.h"

namespace halo {
namespace {

// KEYS: leader, epoch. ARGV: holder, address, lease ms.
constexpr char kAcquire[] = R"lua(
local current = redis.call('GET', KEYS[1])
if current then
  local holder, epoch = string.match(current, '^([^|]*)|([^|]*)|')
  if holder == ARGV[1] then return tonumber(epoch) end
  return false
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch .. '|' .. ARGV[2], 'PX', ARGV[3])
return epoch
)lua";

// KEYS: leader. ARGV: holder, lease ms.
constexpr char kRenew[] = R"lua(
local current = redis.call('GET', KEYS[1])
if not current or string.match(current, '^([^|]*)|') ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua";

// KEYS: leader. ARGV: holder.
constexpr char kRelease[] = R"lua(
local current = redis.call('GET', KEYS[1])
if not current or string.match(current, '^([^|]*)|') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
)lua";

}  // namespace

std::string RedisEpochKey(const std::string& name_space) { return RedisTableKey(name_space, "EPOCH"); }

RedisLeaderLease::RedisLeaderLease(std::shared_ptr<RedisConnection> connection, std::string name_space)
    : connection_(std::move(connection)),
      leader_key_(RedisTableKey(name_space, "LEADER")),
      epoch_key_(RedisEpochKey(name_space)) {}

void RedisLeaderLease::TryAcquire(const std::string& holder, const std::string& address, int64_t lease_ms,
                                  std::function<void(StatusOr<std::optional<int64_t>>)> done) {
  connection_->SendReplicated({"EVAL", kAcquire, "2", leader_key_, epoch_key_, holder, address, std::to_string(lease_ms)},
                    [done = std::move(done)](StatusOr<RedisReply> reply) {
                      if (!reply.ok()) return done(reply.status());
                      if (reply->type == RedisReply::Type::kNil) return done(std::optional<int64_t>());
                      if (reply->type != RedisReply::Type::kInteger) {
                        return done(InternalError("Redis: the lease script gave no epoch"));
                      }
                      done(std::optional<int64_t>(reply->integer));
                    });
}

void RedisLeaderLease::Renew(const std::string& holder, int64_t lease_ms, std::function<void(StatusOr<bool>)> done) {
  connection_->SendReplicated({"EVAL", kRenew, "1", leader_key_, holder, std::to_string(lease_ms)},
                    [done = std::move(done)](StatusOr<RedisReply> reply) {
                      if (!reply.ok()) return done(reply.status());
                      done(reply->type == RedisReply::Type::kInteger && reply->integer == 1);
                    });
}

void RedisLeaderLease::Release(const std::string& holder, std::function<void(Status)> done) {
  connection_->SendReplicated({"EVAL", kRelease, "1", leader_key_, holder},
                    [done = std::move(done)](StatusOr<RedisReply> reply) { done(reply.status()); });
}

void RedisLeaderLease::Read(std::function<void(StatusOr<std::optional<LeaderRecord>>)> done) {
  connection_->Send({"GET", leader_key_}, [done = std::move(done)](StatusOr<RedisReply> reply) {
    if (!reply.ok()) return done(reply.status());
    if (reply->type == RedisReply::Type::kNil) return done(std::optional<LeaderRecord>());
    std::vector<std::string> parts = absl::StrSplit(reply->str, absl::MaxSplits('|', 2));
    LeaderRecord record;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &record.epoch)) {
      return done(InternalError(absl::StrCat("Redis: malformed leader record '", reply->str, "'")));
    }
    record.holder = parts[0];
    record.address = parts[2];
    done(std::optional<LeaderRecord>(std::move(record)));
  });
}

}  // namespace halo
