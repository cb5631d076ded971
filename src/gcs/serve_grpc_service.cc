#include "gcs/serve_grpc_service.h"

#include "gcs/grpc_services.h"

namespace halo::gcs {

grpc::ServerUnaryReactor* ServeServiceImpl::GetRoutes(grpc::CallbackServerContext* context,
                                                      const rpc::GetRoutesRequest* request,
                                                      rpc::GetRoutesReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    services_.HandleGetRoutes(*request, [reactor, reply](StatusOr<rpc::GetRoutesReply> routes) {
      if (routes.ok()) *reply = std::move(*routes);
      reactor->Finish(ToGrpcStatus(routes.status()));
    });
  });
}

grpc::ServerUnaryReactor* ServeServiceImpl::DeployService(grpc::CallbackServerContext* context,
                                                          const rpc::DeployServiceRequest* request,
                                                          rpc::DeployServiceReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    services_.HandleDeploy(*request, [reactor, reply](StatusOr<int64_t> version) {
      if (version.ok()) reply->set_version(*version);
      reactor->Finish(ToGrpcStatus(version.status()));
    });
  });
}

grpc::ServerUnaryReactor* ServeServiceImpl::DeleteService(grpc::CallbackServerContext* context,
                                                          const rpc::DeleteServiceRequest* request,
                                                          rpc::DeleteServiceReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    services_.HandleDelete(request->name(), [reactor](Status status) { reactor->Finish(ToGrpcStatus(status)); });
  });
}

grpc::ServerUnaryReactor* ServeServiceImpl::GetServiceStatus(grpc::CallbackServerContext* context,
                                                             const rpc::GetServiceStatusRequest* request,
                                                             rpc::GetServiceStatusReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    StatusOr<rpc::GetServiceStatusReply> status = services_.ServiceStatus(request->name());
    if (status.ok()) *reply = std::move(*status);
    reactor->Finish(ToGrpcStatus(status.status()));
  });
}

grpc::ServerUnaryReactor* ServeServiceImpl::ReportOngoing(grpc::CallbackServerContext* context,
                                                          const rpc::ReportOngoingRequest* request,
                                                          rpc::ReportOngoingReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    services_.HandleReportOngoing(*request);
    reactor->Finish(grpc::Status::OK);
  });
}

grpc::ServerUnaryReactor* ExecutableServiceImpl::PutExecutableChunk(grpc::CallbackServerContext* context,
                                                                    const rpc::PutExecutableChunkRequest* request,
                                                                    rpc::PutExecutableChunkReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    executables_.HandlePutChunk(request->sha256(), request->index(), request->data(),
                                [reactor](Status status) { reactor->Finish(ToGrpcStatus(status)); });
  });
}

grpc::ServerUnaryReactor* ExecutableServiceImpl::CommitExecutable(grpc::CallbackServerContext* context,
                                                                  const rpc::CommitExecutableRequest* request,
                                                                  rpc::CommitExecutableReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    executables_.HandleCommit(request->sha256(), request->chunks(), request->total_bytes(),
                              [reactor](Status status) { reactor->Finish(ToGrpcStatus(status)); });
  });
}

grpc::ServerUnaryReactor* ExecutableServiceImpl::GetExecutableInfo(grpc::CallbackServerContext* context,
                                                                   const rpc::GetExecutableInfoRequest* request,
                                                                   rpc::GetExecutableInfoReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    executables_.HandleInfo(request->sha256(), [reactor, reply](StatusOr<rpc::GetExecutableInfoReply> info) {
      if (info.ok()) *reply = std::move(*info);
      reactor->Finish(ToGrpcStatus(info.status()));
    });
  });
}

grpc::ServerUnaryReactor* ExecutableServiceImpl::GetExecutableChunk(grpc::CallbackServerContext* context,
                                                                    const rpc::GetExecutableChunkRequest* request,
                                                                    rpc::GetExecutableChunkReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    executables_.HandleGetChunk(request->sha256(), request->index(), [reactor, reply](StatusOr<std::string> data) {
      if (data.ok()) reply->set_data(std::move(*data));
      reactor->Finish(ToGrpcStatus(data.status()));
    });
  });
}

}  // namespace halo::gcs
