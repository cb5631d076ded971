#include "storage/redis_admin.h"

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

}  // namespace halo
