// A Redis reply decoded from RESP, owned by value. Decoding uses hiredis' reader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace halo {

struct RedisReply {
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<RedisReply> elements;

  bool IsError() const { return type == Type::kError; }
};

// An error reply reaches callers as a Status whose payload kRedisErrorCodePayload holds the error's code: its
// first word, by Redis' convention ("WRONGTYPE", "NOSCRIPT", our "HALO_FENCED").
inline constexpr char kRedisErrorCodePayload[] = "type.halo.dev/redis-error-code";
Status RedisErrorStatus(const std::string& error);
// The code of the Redis error behind status ("" when it is none).
std::string RedisErrorCode(const Status& status);

// Incremental RESP decoder: feed bytes, take complete replies.
class RedisReplyReader {
 public:
  RedisReplyReader();
  ~RedisReplyReader();
  RedisReplyReader(const RedisReplyReader&) = delete;
  RedisReplyReader& operator=(const RedisReplyReader&) = delete;

  Status Feed(const char* data, size_t size);
  // Ok(true) and fills *reply when a whole reply is buffered; Ok(false) when more bytes are needed.
  StatusOr<bool> Next(RedisReply* reply);

 private:
  void* reader_;  // redisReader*
};

// Encodes one command as RESP (a multi-bulk of its arguments).
std::string FormatRedisCommand(const std::vector<std::string>& args);

}  // namespace halo
