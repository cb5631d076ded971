#include "storage/redis_admin.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/redis_store.h"

namespace halo {
namespace {

struct CleanupRun {
  std::shared_ptr<RedisConnection> connection;
  std::string pattern;
  int64_t removed = 0;
  std::optional<Status> result;

  void ScanFrom(const std::string& cursor) {
    connection->Send({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}, [this](StatusOr<RedisReply> reply) {
      if (!reply.ok()) return Finish(reply.status());
      if (reply->elements.size() != 2) return Finish(InternalError("Redis: malformed SCAN reply"));
      std::string next = reply->elements[0].str;
      std::vector<std::string> args = {"UNLINK"};
      for (auto& key : reply->elements[1].elements) args.push_back(std::move(key.str));
      if (args.size() == 1) return Continue(next);
      connection->Send(std::move(args), [this, next](StatusOr<RedisReply> unlinked) {
        if (!unlinked.ok()) return Finish(unlinked.status());
        removed += unlinked->integer;
        Continue(next);
      });
    });
  }
  void Continue(const std::string& next) {
    if (next == "0") return Finish(OkStatus());
    ScanFrom(next);
  }
  void Finish(Status status) {
    result = status;
    connection->Close();
  }
};

}  // namespace

StatusOr<int64_t> CleanupRedisNamespace(const RedisOptions& options, const std::string& name_space) {
  boost::asio::io_context io;
  CleanupRun run;
  run.connection = RedisConnection::Create(io, options);
  run.pattern = EscapeRedisGlob(RedisTableKey(name_space, "")) + "*";
  run.connection->Start([&](Status started) {
    if (!started.ok()) {
      run.result = started;
      return;
    }
    run.ScanFrom("0");
  });
  io.run();
  if (!run.result.has_value()) return InternalError("storage cleanup ended without a result");
  if (!run.result->ok()) return *run.result;
  return run.removed;
}

std::optional<std::string> RedisInfoField(const std::string& info, const std::string& key) {
  const std::string prefix = key + ":";
  size_t at = 0;
  while (at < info.size()) {
    size_t end = info.find('\n', at);
    if (end == std::string::npos) end = info.size();
    std::string line = info.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    at = end + 1;
  }
  return std::nullopt;
}

StatusOr<RedisMemory> ReadRedisMemory(RedisOptions options, int64_t timeout_ms) {
  options.connect_timeout_ms = std::min(options.connect_timeout_ms, timeout_ms);
  options.unavailable_timeout_ms = timeout_ms;
  options.reply_timeout_ms = timeout_ms;
  boost::asio::io_context io;
  auto connection = RedisConnection::Create(io, options);
  std::optional<StatusOr<RedisMemory>> result;
  auto finish = [&](StatusOr<RedisMemory> outcome) {
    if (!result) result = std::move(outcome);
    connection->Close();
  };
  connection->Start([&](Status started) {
    if (!started.ok()) return finish(started);
    connection->Send({"INFO", "memory"}, [&](StatusOr<RedisReply> reply) {
      if (!reply.ok()) return finish(reply.status());
      RedisMemory memory;
      auto used = RedisInfoField(reply->str, "used_memory");
      auto max = RedisInfoField(reply->str, "maxmemory");
      if (!used || !max || !absl::SimpleAtoi(*used, &memory.used_bytes) || !absl::SimpleAtoi(*max, &memory.max_bytes)) {
        return finish(InternalError("Redis: INFO memory lacks used_memory or maxmemory"));
      }
      finish(memory);
    });
  });
  // Bounded however the connection behaves: twice the timeout, then whatever is still pending is dropped.
  io.run_for(std::chrono::milliseconds(2 * timeout_ms));
  if (!result) {
    connection->Close();
    io.restart();
    io.poll();
    return DeadlineExceededError(absl::StrCat("Redis at ", options.uri.Endpoint(), " did not answer INFO within ",
                                              timeout_ms, " ms"));
  }
  return std::move(*result);
}

}  // namespace halo
