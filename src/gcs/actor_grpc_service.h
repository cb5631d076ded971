// gRPC front end of the actor manager: each handler posts to the GCS executor and finishes from the
// manager's callback.
#pragma once

#include "common/executor.h"
#include "gcs/actor_manager.h"
#include "proto/gcs.grpc.pb.h"

namespace halo::gcs {

class ActorServiceImpl final : public rpc::ActorService::CallbackService {
 public:
  ActorServiceImpl(Executor& executor, ActorManager& actors) : executor_(executor), actors_(actors) {}
  grpc::ServerUnaryReactor* RegisterActor(grpc::CallbackServerContext* context,
                                          const rpc::RegisterActorRequest* request,
                                          rpc::RegisterActorReply* reply) override;
  grpc::ServerUnaryReactor* ResolveActor(grpc::CallbackServerContext* context, const rpc::ResolveActorRequest* request,
                                         rpc::ResolveActorReply* reply) override;
  grpc::ServerUnaryReactor* WaitActor(grpc::CallbackServerContext* context, const rpc::WaitActorRequest* request,
                                      rpc::WaitActorReply* reply) override;
  grpc::ServerUnaryReactor* GetNamedActor(grpc::CallbackServerContext* context,
                                          const rpc::GetNamedActorRequest* request,
                                          rpc::GetNamedActorReply* reply) override;
  grpc::ServerUnaryReactor* KillActor(grpc::CallbackServerContext* context, const rpc::KillActorRequest* request,
                                      rpc::KillActorReply* reply) override;
  grpc::ServerUnaryReactor* ReportActorExit(grpc::CallbackServerContext* context,
                                            const rpc::ReportActorExitRequest* request,
                                            rpc::ReportActorExitReply* reply) override;
  grpc::ServerUnaryReactor* ListActors(grpc::CallbackServerContext* context, const rpc::ListActorsRequest* request,
                                       rpc::ListActorsReply* reply) override;

 private:
  Executor& executor_;
  ActorManager& actors_;
};

}  // namespace halo::gcs
