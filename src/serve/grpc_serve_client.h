// What a node's ingress asks of the GCS, over gRPC: its routes (a held poll) and its load reports. The
// address may list head candidates; calls follow the leader the way every GCS client does
// (rpc/head_endpoints.h). Callbacks run on the executor given.
#pragma once

#include <memory>
#include <string>

#include "common/executor.h"
#include "proto/serve.pb.h"
#include "serve/route_follower.h"

namespace halo::serve {

class GrpcServeClient : public RoutesSource {
 public:
  // rpc_timeout_ms bounds a call beyond the poll's own wait.
  GrpcServeClient(const std::string& gcs_addresses, Executor& executor, int64_t rpc_timeout_ms);
  ~GrpcServeClient() override;

  void Poll(const rpc::GetRoutesRequest& request, std::function<void(StatusOr<rpc::GetRoutesReply>)> done) override;
  void ReportOngoing(const rpc::ReportOngoingRequest& request, std::function<void(Status)> done);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace halo::serve
