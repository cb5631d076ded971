// The gRPC service every driver and worker process serves: tasks pushed to a worker (run by its
// TaskExecutor), objects asked of their owner by processes that borrowed a reference (held while pending), and
// a driver's own executable, streamed to node agents that start workers from it.
#pragma once

#include <string>

#include "common/executor.h"
#include "core/actor_host.h"
#include "core/object_table.h"
#include "core/task_executor.h"
#include "proto/core.grpc.pb.h"

namespace halo::core {

class CoreWorkerServiceImpl final : public rpc::CoreWorkerService::CallbackService {
 public:
  // tasks, actor: null in a driver (it runs no tasks and hosts no actor). executable_path: empty in a worker
  // (it serves none).
  CoreWorkerServiceImpl(ObjectTable& objects, Executor& executor, TaskExecutor* tasks, ActorHost* actor,
                        std::string executable_path, std::string executable_sha256)
      : objects_(objects), executor_(executor), tasks_(tasks), actor_(actor),
        executable_path_(std::move(executable_path)), executable_sha256_(std::move(executable_sha256)) {}

  grpc::ServerUnaryReactor* PushTasks(grpc::CallbackServerContext* context, const rpc::PushTasksRequest* request,
                                      rpc::PushTasksReply* reply) override;
  grpc::ServerUnaryReactor* GetObject(grpc::CallbackServerContext* context, const rpc::GetObjectRequest* request,
                                      rpc::GetObjectReply* reply) override;
  grpc::ServerWriteReactor<rpc::ExecutableChunk>* FetchExecutable(
      grpc::CallbackServerContext* context, const rpc::FetchExecutableRequest* request) override;
  grpc::ServerUnaryReactor* CreateActor(grpc::CallbackServerContext* context, const rpc::CreateActorRequest* request,
                                        rpc::CreateActorReply* reply) override;
  grpc::ServerUnaryReactor* PushActorTasks(grpc::CallbackServerContext* context,
                                           const rpc::PushActorTasksRequest* request,
                                           rpc::PushActorTasksReply* reply) override;
  grpc::ServerUnaryReactor* WatchActor(grpc::CallbackServerContext* context, const rpc::WatchActorRequest* request,
                                       rpc::WatchActorReply* reply) override;

 private:
  ObjectTable& objects_;
  Executor& executor_;
  TaskExecutor* tasks_;
  ActorHost* actor_;
  std::string executable_path_;
  std::string executable_sha256_;
};

}  // namespace halo::core
