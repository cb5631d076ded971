// The standard gRPC health service every Halo process serves: SERVING until the process says it stops.
#pragma once

#include <atomic>

#include "proto/health.grpc.pb.h"

namespace halo::health {

class HealthServiceImpl final : public grpc::health::v1::Health::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  void SetServing(bool serving) { serving_.store(serving); }

 private:
  std::atomic<bool> serving_{true};
};

}  // namespace halo::health
