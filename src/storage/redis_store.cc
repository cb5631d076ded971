#include "storage/redis_store.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "storage/redis_leader_lease.h"
#include "absl/strings/str_cat.h"

namespace halo {
namespace {

constexpr size_t kKeysPerCommand = 1000;

// KEYS: epoch key, hash. ARGV: epoch, verb, the verb's arguments after the hash.
constexpr char kFencedWrite[] = R"lua(
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then
  return redis.error_reply('HALO_FENCED writes of epoch ' .. ARGV[1] .. ' are refused: the current epoch is ' ..
                           tostring(current or 'none') .. ' (this GCS is no longer the leader)')
end
return redis.call(ARGV[2], KEYS[2], unpack(ARGV, 3))
)lua";

StatusOr<int64_t> IntegerOf(const StatusOr<RedisReply>& reply) {
  if (!reply.ok()) return reply.status();
  if (reply->type != RedisReply::Type::kInteger) return InternalError("Redis: expected an integer reply");
  return reply->integer;
}

}  // namespace

std::string RedisTableKey(const std::string& name_space, const std::string& table) {
  return absl::StrCat("HALO", name_space, "@", table);
}

std::string EscapeRedisGlob(const std::string& literal) {
  std::string out;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

RedisStore::RedisStore(std::shared_ptr<RedisConnection> connection, std::string name_space)
    : connection_(std::move(connection)),
      namespace_(std::move(name_space)),
      sentinel_(connection_->options().uri.sentinel()),  // fixed at creation, unlike the primary's address
      master_name_(connection_->options().uri.master_name),
      sentinels_(connection_->options().uri.SentinelList()) {}

RedisStore::~RedisStore() { connection_->Close(); }

void RedisStore::SetFatalHandler(std::function<void(Status)> handler) {
  connection_->SetFatalHandler(std::move(handler));
}

void RedisStore::SetFence(std::string epoch_key, int64_t epoch) {
  fence_key_ = std::move(epoch_key);
  fence_epoch_ = std::to_string(epoch);
}

Status RedisStore::Fence(int64_t epoch) {
  SetFence(RedisEpochKey(namespace_), epoch);
  return OkStatus();
}

void RedisStore::Write(std::vector<std::string> command, RedisConnection::ReplyCallback done) {
  if (fence_key_.empty()) return connection_->SendReplicated(std::move(command), std::move(done));
  std::vector<std::string> fenced = {"EVAL", kFencedWrite, "2", fence_key_, command[1], fence_epoch_, command[0]};
  fenced.insert(fenced.end(), std::make_move_iterator(command.begin() + 2), std::make_move_iterator(command.end()));
  connection_->SendReplicated(std::move(fenced), [done = std::move(done)](StatusOr<RedisReply> reply) {
    if (!reply.ok() && RedisErrorCode(reply.status()) == "HALO_FENCED") {
      return done(FencedError(std::string(reply.status().message())));
    }
    done(std::move(reply));
  });
}

std::string RedisStore::Kind() const { return connection_->options().uri.tls ? "rediss" : "redis"; }

std::string RedisStore::Location() const {
  // Any thread: the primary of a Sentinel deployment changes on the connection's thread.
  const std::string endpoint = connection_->CurrentEndpoint();
  if (!sentinel_) return endpoint;
  return absl::StrCat("master ", master_name_, " at ", endpoint, " (sentinels ", sentinels_, ")");
}

void RedisStore::AsyncPut(const std::string& table, const std::string& key, std::string value, bool overwrite,
                          std::function<void(StatusOr<bool>)> done) {
  Write({overwrite ? "HSET" : "HSETNX", RedisTableKey(namespace_, table), key, std::move(value)},
                    [done = std::move(done)](StatusOr<RedisReply> reply) {
                      auto n = IntegerOf(reply);
                      if (!n.ok()) return done(n.status());
                      done(*n > 0);
                    });
}

void RedisStore::AsyncGet(const std::string& table, const std::string& key,
                          std::function<void(StatusOr<std::optional<std::string>>)> done) {
  connection_->Send({"HGET", RedisTableKey(namespace_, table), key},
                    [done = std::move(done)](StatusOr<RedisReply> reply) {
                      if (!reply.ok()) return done(reply.status());
                      if (reply->type == RedisReply::Type::kNil) return done(std::optional<std::string>());
                      done(std::optional<std::string>(std::move(reply->str)));
                    });
}

void RedisStore::AsyncMultiGet(const std::string& table, const std::vector<std::string>& keys,
                               std::function<void(StatusOr<KeyValueMap>)> done) {
  if (keys.empty()) {
    connection_->Send({"PING"}, [done = std::move(done)](StatusOr<RedisReply> reply) {
      if (!reply.ok()) return done(reply.status());
      done(KeyValueMap{});
    });
    return;
  }
  std::vector<std::string> args = {"HMGET", RedisTableKey(namespace_, table)};
  args.insert(args.end(), keys.begin(), keys.end());
  connection_->Send(std::move(args), [keys, done = std::move(done)](StatusOr<RedisReply> reply) {
    if (!reply.ok()) return done(reply.status());
    KeyValueMap result;
    for (size_t i = 0; i < reply->elements.size() && i < keys.size(); ++i) {
      if (reply->elements[i].type == RedisReply::Type::kString) result[keys[i]] = std::move(reply->elements[i].str);
    }
    done(std::move(result));
  });
}

void RedisStore::AsyncGetAll(const std::string& table, std::function<void(StatusOr<KeyValueMap>)> done) {
  connection_->Send({"HGETALL", RedisTableKey(namespace_, table)},
                    [done = std::move(done)](StatusOr<RedisReply> reply) {
                      if (!reply.ok()) return done(reply.status());
                      KeyValueMap result;
                      auto& e = reply->elements;
                      for (size_t i = 0; i + 1 < e.size(); i += 2) {
                        result.emplace(std::move(e[i].str), std::move(e[i + 1].str));
                      }
                      done(std::move(result));
                    });
}

void RedisStore::AsyncDelete(const std::string& table, const std::string& key,
                             std::function<void(StatusOr<bool>)> done) {
  Write({"HDEL", RedisTableKey(namespace_, table), key},
                    [done = std::move(done)](StatusOr<RedisReply> reply) {
                      auto n = IntegerOf(reply);
                      if (!n.ok()) return done(n.status());
                      done(*n > 0);
                    });
}

void RedisStore::AsyncBatchDelete(const std::string& table, const std::vector<std::string>& keys,
                                  std::function<void(StatusOr<int64_t>)> done) {
  if (keys.empty()) {
    AsyncMultiGet(table, {}, [done = std::move(done)](StatusOr<KeyValueMap> r) {
      if (!r.ok()) return done(r.status());
      done(int64_t{0});
    });
    return;
  }
  // One HDEL per chunk; all are queued now, so they stay in order with later operations.
  struct Progress {
    size_t remaining;
    int64_t deleted = 0;
    Status error;
    std::function<void(StatusOr<int64_t>)> done;
  };
  size_t chunks = (keys.size() + kKeysPerCommand - 1) / kKeysPerCommand;
  auto progress = std::make_shared<Progress>(Progress{chunks, 0, OkStatus(), std::move(done)});
  for (size_t start = 0; start < keys.size(); start += kKeysPerCommand) {
    std::vector<std::string> args = {"HDEL", RedisTableKey(namespace_, table)};
    size_t end = std::min(keys.size(), start + kKeysPerCommand);
    args.insert(args.end(), keys.begin() + start, keys.begin() + end);
    Write(std::move(args), [progress](StatusOr<RedisReply> reply) {
      auto n = IntegerOf(reply);
      if (n.ok()) {
        progress->deleted += *n;
      } else if (progress->error.ok()) {
        progress->error = n.status();
      }
      if (--progress->remaining == 0) {
        if (!progress->error.ok()) return progress->done(progress->error);
        progress->done(progress->deleted);
      }
    });
  }
}

void RedisStore::AsyncGetKeys(const std::string& table, const std::string& prefix,
                              std::function<void(StatusOr<std::vector<std::string>>)> done) {
  ScanKeys(RedisTableKey(namespace_, table), EscapeRedisGlob(prefix) + "*", "0",
           std::make_shared<std::vector<std::string>>(), std::move(done));
}

void RedisStore::ScanKeys(std::string hash, std::string pattern, std::string cursor,
                          std::shared_ptr<std::vector<std::string>> keys,
                          std::function<void(StatusOr<std::vector<std::string>>)> done) {
  connection_->Send(
      {"HSCAN", hash, cursor, "MATCH", pattern, "COUNT", std::to_string(kKeysPerCommand)},
      [this, hash, pattern, keys, done = std::move(done)](StatusOr<RedisReply> reply) mutable {
        if (!reply.ok()) return done(reply.status());
        if (reply->elements.size() != 2) return done(InternalError("Redis: malformed HSCAN reply"));
        auto& items = reply->elements[1].elements;
        for (size_t i = 0; i + 1 < items.size(); i += 2) keys->push_back(std::move(items[i].str));
        std::string next = reply->elements[0].str;
        if (next == "0") {
          std::sort(keys->begin(), keys->end());
          keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
          return done(std::move(*keys));
        }
        ScanKeys(hash, pattern, next, keys, std::move(done));
      });
}

void RedisStore::AsyncExists(const std::string& table, const std::string& key,
                             std::function<void(StatusOr<bool>)> done) {
  connection_->Send({"HEXISTS", RedisTableKey(namespace_, table), key},
                    [done = std::move(done)](StatusOr<RedisReply> reply) {
                      auto n = IntegerOf(reply);
                      if (!n.ok()) return done(n.status());
                      done(*n > 0);
                    });
}

}  // namespace halo
