#include "gcs/actor_grpc_service.h"

#include "gcs/grpc_services.h"

namespace halo::gcs {
namespace {

std::function<void(Status)> FinishWith(grpc::ServerUnaryReactor* reactor) {
  return [reactor](Status status) { reactor->Finish(ToGrpcStatus(status)); };
}

}  // namespace

grpc::ServerUnaryReactor* ActorServiceImpl::RegisterActor(grpc::CallbackServerContext* context,
                                                          const rpc::RegisterActorRequest* request,
                                                          rpc::RegisterActorReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    actors_.HandleRegister(request->actor(), request->dependencies_ready(), FinishWith(reactor));
  });
}

grpc::ServerUnaryReactor* ActorServiceImpl::ResolveActor(grpc::CallbackServerContext* context,
                                                         const rpc::ResolveActorRequest* request,
                                                         rpc::ResolveActorReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    actors_.HandleResolve(request->actor_id(), request->creation(), FinishWith(reactor));
  });
}

grpc::ServerUnaryReactor* ActorServiceImpl::WaitActor(grpc::CallbackServerContext* context,
                                                      const rpc::WaitActorRequest* request,
                                                      rpc::WaitActorReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    actors_.HandleWait(request->actor_id(), request->known_state(), request->known_num_restarts(),
                       request->wait_ms(), [reactor, reply](StatusOr<rpc::ActorInfo> actor) {
                         if (actor.ok()) *reply->mutable_actor() = std::move(*actor);
                         reactor->Finish(ToGrpcStatus(actor.status()));
                       });
  });
}

grpc::ServerUnaryReactor* ActorServiceImpl::GetNamedActor(grpc::CallbackServerContext* context,
                                                          const rpc::GetNamedActorRequest* request,
                                                          rpc::GetNamedActorReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    actors_.HandleGetNamed(request->name(), request->namespace_(), [reactor, reply](StatusOr<rpc::ActorInfo> actor) {
      if (actor.ok()) *reply->mutable_actor() = std::move(*actor);
      reactor->Finish(ToGrpcStatus(actor.status()));
    });
  });
}

grpc::ServerUnaryReactor* ActorServiceImpl::KillActor(grpc::CallbackServerContext* context,
                                                      const rpc::KillActorRequest* request, rpc::KillActorReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    actors_.HandleKill(request->actor_id(), request->no_restart(), request->out_of_scope(), FinishWith(reactor));
  });
}

grpc::ServerUnaryReactor* ActorServiceImpl::ReportActorExit(grpc::CallbackServerContext* context,
                                                            const rpc::ReportActorExitRequest* request,
                                                            rpc::ReportActorExitReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    actors_.HandleReportExit(request->actor_id(), request->instance(), request->message(), FinishWith(reactor));
  });
}

grpc::ServerUnaryReactor* ActorServiceImpl::ListActors(grpc::CallbackServerContext* context,
                                                       const rpc::ListActorsRequest*, rpc::ListActorsReply* reply) {
  return OnExecutor(context, executor_, [this, reply](grpc::ServerUnaryReactor* reactor) {
    for (auto& actor : actors_.All()) *reply->add_actors() = std::move(actor);
    reactor->Finish(grpc::Status::OK);
  });
}

}  // namespace halo::gcs
