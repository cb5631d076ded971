#include <grpcpp/grpcpp.h>

#include "rpc/gcs_node_client.h"
#include "proto/node.grpc.pb.h"
#include "rpc/async_call.h"
#include "rpc/head_call.h"
#include "rpc/head_endpoints.h"
#include "rpc/cluster_channel.h"

namespace halo {
namespace {

// The address may list head candidates ("h1:7001,h2:7001"). Calls go to the current one; a call that finds it
// unreachable (or gets no answer in time) moves the next calls on to the next one, and a standby's refusal
// moves them to the leader it names, so the agent's retries reach whichever candidate leads.
class GrpcGcsNodeClient : public GcsNodeClient {
 public:
  GrpcGcsNodeClient(const std::string& address, Executor& executor)
      : in_flight_(std::make_shared<rpc_util::InFlight>()),
        endpoints_(address, [this](const std::string& one) { return MakeEndpoint(one); }) {
    in_flight_->executor = &executor;
  }

  ~GrpcGcsNodeClient() override { in_flight_->CancelAll(); }

  void AsyncRegister(const rpc::NodeInfo& node, const std::string& cluster_id, int64_t timeout_ms,
                     std::function<void(StatusOr<std::string>)> done) override {
    rpc::RegisterNodeRequest request;
    *request.mutable_node() = node;
    request.set_cluster_id(cluster_id);
    Send<rpc::RegisterNodeReply>(
        std::move(request), timeout_ms,
        [](Endpoint& e, auto... call) { e.nodes->async()->RegisterNode(std::move(call)...); },
        [done = std::move(done)](StatusOr<rpc::RegisterNodeReply> reply) {
          done(reply.ok() ? StatusOr<std::string>(reply->cluster_id()) : StatusOr<std::string>(reply.status()));
        });
  }

  void AsyncUnregister(const std::string& node_id, rpc::DeathReason reason, const std::string& message,
                       int64_t timeout_ms, std::function<void(Status)> done) override {
    rpc::UnregisterNodeRequest request;
    request.set_node_id(node_id);
    request.set_reason(reason);
    request.set_message(message);
    Send<rpc::UnregisterNodeReply>(
        std::move(request), timeout_ms,
        [](Endpoint& e, auto... call) { e.nodes->async()->UnregisterNode(std::move(call)...); },
        [done = std::move(done)](StatusOr<rpc::UnregisterNodeReply> reply) { done(reply.status()); });
  }

  void AsyncRenewLease(const rpc::RenewNodeLeaseRequest& request, int64_t timeout_ms,
                       std::function<void(StatusOr<rpc::RenewNodeLeaseReply>)> done) override {
    Send<rpc::RenewNodeLeaseReply>(
        request, timeout_ms,
        [](Endpoint& e, auto... call) { e.nodes->async()->RenewNodeLease(std::move(call)...); }, std::move(done));
  }

  void AsyncPoll(const rpc::PollNodeEventsRequest& request, int64_t timeout_ms,
                 std::function<void(StatusOr<rpc::PollNodeEventsReply>)> done) override {
    Send<rpc::PollNodeEventsReply>(
        request, timeout_ms,
        [](Endpoint& e, auto... call) { e.events->async()->PollNodeEvents(std::move(call)...); },
        std::move(done));
  }

 private:
  struct Endpoint {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<rpc::NodeInfoService::Stub> nodes;
    std::unique_ptr<rpc::NodeEventService::Stub> events;
  };

  static std::shared_ptr<Endpoint> MakeEndpoint(const std::string& address) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 300);
    auto endpoint = std::make_shared<Endpoint>();
    endpoint->address = address;
    endpoint->channel = rpc::NewClusterChannel(address, args);
    endpoint->nodes = rpc::NodeInfoService::NewStub(endpoint->channel);
    endpoint->events = rpc::NodeEventService::NewStub(endpoint->channel);
    return endpoint;
  }

  template <typename Reply, typename Request, typename Issue>
  void Send(Request request, int64_t timeout_ms, Issue issue, std::function<void(StatusOr<Reply>)> done) {
    rpc_util::SendToHead<Reply>(in_flight_, endpoints_, std::move(request), timeout_ms, issue, std::move(done));
  }

  std::shared_ptr<rpc_util::InFlight> in_flight_;
  HeadEndpoints<Endpoint> endpoints_;
};

}  // namespace

std::unique_ptr<GcsNodeClient> MakeGrpcGcsNodeClient(const std::string& address, Executor& executor) {
  return std::make_unique<GrpcGcsNodeClient>(address, executor);
}

}  // namespace halo
