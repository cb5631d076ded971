#include "core/core_worker_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <atomic>
#include <optional>

#include "core/task_submitter.h"
#include "rpc/cluster_security.h"

namespace halo::core {
namespace {

constexpr size_t kExecutableChunkBytes = 1 << 20;

// Streams the driver's executable to a node agent, one chunk per write.
class ExecutableWriter final : public grpc::ServerWriteReactor<rpc::ExecutableChunk> {
 public:
  ExecutableWriter(const std::string& path) : fd_(open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) {
      Finish(grpc::Status(grpc::StatusCode::INTERNAL, "cannot open the driver's executable " + path));
      return;
    }
    total_ = static_cast<uint64_t>(lseek(fd_, 0, SEEK_END));
    lseek(fd_, 0, SEEK_SET);
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the fetcher went away"));
    Next();
  }
  void OnDone() override {
    if (fd_ >= 0) close(fd_);
    delete this;
  }

 private:
  void Next() {
    std::string data(kExecutableChunkBytes, '\0');
    ssize_t got = read(fd_, data.data(), data.size());
    if (got < 0) return Finish(grpc::Status(grpc::StatusCode::INTERNAL, "reading the executable failed"));
    if (got == 0) return Finish(grpc::Status::OK);
    data.resize(static_cast<size_t>(got));
    chunk_.set_data(std::move(data));
    chunk_.set_total_bytes(total_);
    StartWrite(&chunk_);
  }
  int fd_;
  uint64_t total_ = 0;
  rpc::ExecutableChunk chunk_;
};

}  // namespace

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::PushTasks(grpc::CallbackServerContext* context,
                                                           const rpc::PushTasksRequest* request,
                                                           rpc::PushTasksReply* reply) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = context->DefaultReactor();
  if (tasks_ == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "a driver does not run tasks"));
    return reactor;
  }
  tasks_->Enqueue(request, reply, [reactor] { reactor->Finish(grpc::Status::OK); });
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::GetObject(grpc::CallbackServerContext* context,
                                                           const rpc::GetObjectRequest* request,
                                                           rpc::GetObjectReply* reply) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = context->DefaultReactor();
  auto answered = std::make_shared<bool>(false);  // executor thread only
  auto answer = [this, reactor, reply, answered](std::optional<ObjectLookup> lookup) {
    executor_.Post([reactor, reply, answered, lookup = std::move(lookup)] {
      if (*answered) return;
      *answered = true;
      if (!lookup) {
        reply->set_state(rpc::GetObjectReply::PENDING);
      } else if (lookup->result.error) {
        const bool unknown = lookup->result.error->kind == internal::ErrorInfo::Kind::kRuntime;
        reply->set_state(unknown ? rpc::GetObjectReply::UNKNOWN : rpc::GetObjectReply::FAILED);
        reply->mutable_error()->set_kind(ToRpcErrorKind(lookup->result.error->kind));
        reply->mutable_error()->set_type_name(lookup->result.error->type_name);
        reply->mutable_error()->set_message(lookup->result.error->message);
        reply->mutable_error()->set_where(lookup->result.error->where);
      } else if (lookup->result.value) {
        reply->set_state(rpc::GetObjectReply::READY);
        reply->set_value(*lookup->result.value);
      } else {
        reply->set_state(rpc::GetObjectReply::STORED);
        for (const auto& location : lookup->locations) *reply->add_locations() = location;
      }
      reactor->Finish(grpc::Status::OK);
    });
  };
  const uint64_t token =
      objects_.WhenComplete(request->object_id(), [answer](const ObjectLookup& lookup) { answer(lookup); });
  if (token == 0) return reactor;  // answered already
  // Not complete yet: answer PENDING after wait_ms and drop the watcher, so polls do not pile watchers up.
  const int64_t wait_ms = std::clamp<int64_t>(request->wait_ms(), 0, 60000);
  executor_.Post([this, wait_ms, answer, token, id = request->object_id()] {
    executor_.RunAfter(wait_ms, [this, answer, token, id] {
      objects_.StopWatching(id, token);
      answer(std::nullopt);
    });
  });
  return reactor;
}

grpc::ServerWriteReactor<rpc::ExecutableChunk>* CoreWorkerServiceImpl::FetchExecutable(
    grpc::CallbackServerContext* context, const rpc::FetchExecutableRequest* request) {
  class Refusal final : public grpc::ServerWriteReactor<rpc::ExecutableChunk> {
   public:
    explicit Refusal(grpc::Status status) { Finish(status); }
    void OnDone() override { delete this; }
  };
  grpc::Status authenticated = rpc::CheckCallToken(*context);
  if (!authenticated.ok()) return new Refusal(authenticated);
  if (executable_path_.empty() || request->sha256() != executable_sha256_) {
    return new Refusal(
        grpc::Status(grpc::StatusCode::NOT_FOUND, "this process does not serve executable " + request->sha256()));
  }
  return new ExecutableWriter(executable_path_);
}

namespace {

// Held until the actor host finishes the watch (timeout, exit, refusal) or the GCS cancels it.
class WatchReactor final : public grpc::ServerUnaryReactor {
 public:
  WatchReactor(ActorHost& host, const rpc::WatchActorRequest& request, rpc::WatchActorReply* reply) : host_(host) {
    token_ = host_.Watch(request, [this, reply](bool exited, const std::string& message, bool refused) {
      if (refused) {
        Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "this worker does not host that actor instance"));
        return;
      }
      reply->set_exited(exited);
      reply->set_message(message);
      Finish(grpc::Status::OK);
    });
  }
  void OnCancel() override { host_.CancelWatch(token_.load()); }
  void OnDone() override { delete this; }

 private:
  ActorHost& host_;
  std::atomic<uint64_t> token_{0};
};

}  // namespace

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::CreateActor(grpc::CallbackServerContext* context,
                                                             const rpc::CreateActorRequest* request,
                                                             rpc::CreateActorReply* reply) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = context->DefaultReactor();
  if (actor_ == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "a driver hosts no actor"));
    return reactor;
  }
  actor_->Create(*request, [reactor, reply](rpc::CreateActorReply created) {
    *reply = std::move(created);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::PushActorTasks(grpc::CallbackServerContext* context,
                                                                const rpc::PushActorTasksRequest* request,
                                                                rpc::PushActorTasksReply* reply) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = context->DefaultReactor();
  if (actor_ == nullptr) {
    reply->set_refused("a driver hosts no actor");
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  actor_->Push(*request, reply, [reactor] { reactor->Finish(grpc::Status::OK); });
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::WatchActor(grpc::CallbackServerContext* context,
                                                            const rpc::WatchActorRequest* request,
                                                            rpc::WatchActorReply* reply) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  if (actor_ == nullptr) {
    class Refusal final : public grpc::ServerUnaryReactor {
     public:
      Refusal() { Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "a driver hosts no actor")); }
      void OnDone() override { delete this; }
    };
    return new Refusal();
  }
  return new WatchReactor(*actor_, *request, reply);
}

}  // namespace halo::core
