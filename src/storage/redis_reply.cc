#include "storage/redis_reply.h"

#include <hiredis/hiredis.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace halo {

Status RedisErrorStatus(const std::string& error) {
  Status status = InternalError(error);
  status.SetPayload(kRedisErrorCodePayload, absl::Cord(error.substr(0, error.find(' '))));
  return status;
}

std::string RedisErrorCode(const Status& status) {
  auto code = status.GetPayload(kRedisErrorCodePayload);
  return code ? std::string(*code) : std::string();
}
namespace {

RedisReply Convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

}  // namespace

RedisReplyReader::RedisReplyReader() : reader_(redisReaderCreate()) {}

RedisReplyReader::~RedisReplyReader() { redisReaderFree(static_cast<redisReader*>(reader_)); }

Status RedisReplyReader::Feed(const char* data, size_t size) {
  auto* reader = static_cast<redisReader*>(reader_);
  if (redisReaderFeed(reader, data, size) != REDIS_OK) {
    return InternalError(absl::StrCat("Redis protocol error: ", reader->errstr));
  }
  return OkStatus();
}

StatusOr<bool> RedisReplyReader::Next(RedisReply* reply) {
  auto* reader = static_cast<redisReader*>(reader_);
  void* raw = nullptr;
  if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
    return InternalError(absl::StrCat("Redis protocol error: ", reader->errstr));
  }
  if (raw == nullptr) return false;
  *reply = Convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return true;
}

std::string FormatRedisCommand(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  char* target = nullptr;
  int len = redisFormatCommandArgv(&target, static_cast<int>(args.size()), argv.data(), lengths.data());
  std::string out(target, static_cast<size_t>(len));
  std::free(target);
  return out;
}

}  // namespace halo
