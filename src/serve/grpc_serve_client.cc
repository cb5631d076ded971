#include "serve/grpc_serve_client.h"

#include <grpcpp/grpcpp.h>

#include "proto/serve.grpc.pb.h"
#include "rpc/async_call.h"
#include "rpc/head_call.h"
#include "rpc/head_endpoints.h"

namespace halo::serve {

class GrpcServeClient::Impl {
 public:
  Impl(const std::string& addresses, Executor& executor, int64_t rpc_timeout_ms)
      : in_flight_(std::make_shared<rpc_util::InFlight>()),
        endpoints_(addresses, [](const std::string& one) { return MakeEndpoint(one); }),
        rpc_timeout_ms_(rpc_timeout_ms) {
    in_flight_->executor = &executor;
  }
  ~Impl() { in_flight_->CancelAll(); }

  struct Endpoint {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<rpc::ServeService::Stub> serve;
  };

  static std::shared_ptr<Endpoint> MakeEndpoint(const std::string& address) {
    auto endpoint = std::make_shared<Endpoint>();
    endpoint->address = address;
    endpoint->channel = rpc_util::MakePeerChannel(address);
    endpoint->serve = rpc::ServeService::NewStub(endpoint->channel);
    return endpoint;
  }

  template <typename Reply, typename Request, typename Issue>
  void Send(Request request, int64_t timeout_ms, Issue issue, std::function<void(StatusOr<Reply>)> done) {
    rpc_util::SendToHead<Reply>(in_flight_, endpoints_, std::move(request), timeout_ms, issue, std::move(done));
  }

  std::shared_ptr<rpc_util::InFlight> in_flight_;
  HeadEndpoints<Endpoint> endpoints_;
  int64_t rpc_timeout_ms_;
};

GrpcServeClient::GrpcServeClient(const std::string& gcs_addresses, Executor& executor, int64_t rpc_timeout_ms)
    : impl_(std::make_unique<Impl>(gcs_addresses, executor, rpc_timeout_ms)) {}

GrpcServeClient::~GrpcServeClient() = default;

void GrpcServeClient::Poll(const rpc::GetRoutesRequest& request,
                           std::function<void(StatusOr<rpc::GetRoutesReply>)> done) {
  impl_->Send<rpc::GetRoutesReply>(
      request, request.wait_ms() + impl_->rpc_timeout_ms_,
      [](Impl::Endpoint& e, auto... call) { e.serve->async()->GetRoutes(std::move(call)...); }, std::move(done));
}

void GrpcServeClient::ReportOngoing(const rpc::ReportOngoingRequest& request, std::function<void(Status)> done) {
  impl_->Send<rpc::ReportOngoingReply>(
      request, impl_->rpc_timeout_ms_,
      [](Impl::Endpoint& e, auto... call) { e.serve->async()->ReportOngoing(std::move(call)...); },
      [done = std::move(done)](StatusOr<rpc::ReportOngoingReply> reply) { done(reply.status()); });
}

}  // namespace halo::serve
