#include "health/health_service.h"

#include "rpc/cluster_security.h"

namespace halo::health {

grpc::ServerUnaryReactor* HealthServiceImpl::Check(grpc::CallbackServerContext* context,
                                                   const grpc::health::v1::HealthCheckRequest*,
                                                   grpc::health::v1::HealthCheckResponse* response) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  response->set_status(serving_.load() ? grpc::health::v1::HealthCheckResponse::SERVING
                                       : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace halo::health
