// gRPC front ends of the GCS's services and executable store (gcs/service_manager.h,
// gcs/executable_manager.h). Like every GCS handler: the work runs on the GCS executor.
#pragma once

#include "common/executor.h"
#include "gcs/executable_manager.h"
#include "gcs/service_manager.h"
#include "proto/executable.grpc.pb.h"
#include "proto/serve.grpc.pb.h"

namespace halo::gcs {

class ServeServiceImpl final : public rpc::ServeService::CallbackService {
 public:
  ServeServiceImpl(Executor& executor, ServiceManager& services) : executor_(executor), services_(services) {}
  grpc::ServerUnaryReactor* GetRoutes(grpc::CallbackServerContext* context, const rpc::GetRoutesRequest* request,
                                      rpc::GetRoutesReply* reply) override;
  grpc::ServerUnaryReactor* DeployService(grpc::CallbackServerContext* context,
                                          const rpc::DeployServiceRequest* request,
                                          rpc::DeployServiceReply* reply) override;
  grpc::ServerUnaryReactor* DeleteService(grpc::CallbackServerContext* context,
                                          const rpc::DeleteServiceRequest* request,
                                          rpc::DeleteServiceReply* reply) override;
  grpc::ServerUnaryReactor* GetServiceStatus(grpc::CallbackServerContext* context,
                                             const rpc::GetServiceStatusRequest* request,
                                             rpc::GetServiceStatusReply* reply) override;
  grpc::ServerUnaryReactor* ReportOngoing(grpc::CallbackServerContext* context,
                                          const rpc::ReportOngoingRequest* request,
                                          rpc::ReportOngoingReply* reply) override;

 private:
  Executor& executor_;
  ServiceManager& services_;
};

class ExecutableServiceImpl final : public rpc::ExecutableService::CallbackService {
 public:
  ExecutableServiceImpl(Executor& executor, ExecutableManager& executables)
      : executor_(executor), executables_(executables) {}
  grpc::ServerUnaryReactor* PutExecutableChunk(grpc::CallbackServerContext* context,
                                               const rpc::PutExecutableChunkRequest* request,
                                               rpc::PutExecutableChunkReply* reply) override;
  grpc::ServerUnaryReactor* CommitExecutable(grpc::CallbackServerContext* context,
                                             const rpc::CommitExecutableRequest* request,
                                             rpc::CommitExecutableReply* reply) override;
  grpc::ServerUnaryReactor* GetExecutableInfo(grpc::CallbackServerContext* context,
                                              const rpc::GetExecutableInfoRequest* request,
                                              rpc::GetExecutableInfoReply* reply) override;
  grpc::ServerUnaryReactor* GetExecutableChunk(grpc::CallbackServerContext* context,
                                               const rpc::GetExecutableChunkRequest* request,
                                               rpc::GetExecutableChunkReply* reply) override;

 private:
  Executor& executor_;
  ExecutableManager& executables_;
};

}  // namespace halo::gcs
