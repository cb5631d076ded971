#include <grpcpp/grpcpp.h>

#include "node/gcs_node_client.h"
#include "proto/node.grpc.pb.h"
#include "rpc/async_call.h"

namespace halo::node {
namespace {

using rpc_util::Call;
using rpc_util::SetDeadline;
using rpc_util::StartCall;

class GrpcGcsNodeClient : public GcsNodeClient {
 public:
  GrpcGcsNodeClient(const std::string& address, Executor& executor)
      : in_flight_(std::make_shared<rpc_util::InFlight>()) {
    in_flight_->executor = &executor;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    channel_ = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    nodes_ = rpc::NodeInfoService::NewStub(channel_);
    events_ = rpc::NodeEventService::NewStub(channel_);
  }

  ~GrpcGcsNodeClient() override { in_flight_->CancelAll(); }

  void AsyncRegister(const rpc::NodeInfo& node, const std::string& cluster_id, int64_t timeout_ms,
                     std::function<void(StatusOr<std::string>)> done) override {
    auto* call = new Call<rpc::RegisterNodeRequest, rpc::RegisterNodeReply>;
    *call->request.mutable_node() = node;
    call->request.set_cluster_id(cluster_id);
    SetDeadline(call->context, timeout_ms);
    StartCall<rpc::RegisterNodeRequest, rpc::RegisterNodeReply>(
        in_flight_, call,
        [this](auto* context, auto* request, auto* reply, auto callback) {
          nodes_->async()->RegisterNode(context, request, reply, std::move(callback));
        },
        [done = std::move(done)](StatusOr<rpc::RegisterNodeReply> reply) {
          done(reply.ok() ? StatusOr<std::string>(reply->cluster_id()) : StatusOr<std::string>(reply.status()));
        });
  }

  void AsyncUnregister(const std::string& node_id, rpc::DeathReason reason, const std::string& message,
                       int64_t timeout_ms, std::function<void(Status)> done) override {
    auto* call = new Call<rpc::UnregisterNodeRequest, rpc::UnregisterNodeReply>;
    call->request.set_node_id(node_id);
    call->request.set_reason(reason);
    call->request.set_message(message);
    SetDeadline(call->context, timeout_ms);
    StartCall<rpc::UnregisterNodeRequest, rpc::UnregisterNodeReply>(
        in_flight_, call,
        [this](auto* context, auto* request, auto* reply, auto callback) {
          nodes_->async()->UnregisterNode(context, request, reply, std::move(callback));
        },
        [done = std::move(done)](StatusOr<rpc::UnregisterNodeReply> reply) { done(reply.status()); });
  }

  void AsyncPoll(const rpc::PollNodeEventsRequest& request, int64_t timeout_ms,
                 std::function<void(StatusOr<rpc::PollNodeEventsReply>)> done) override {
    auto* call = new Call<rpc::PollNodeEventsRequest, rpc::PollNodeEventsReply>;
    call->request = request;
    SetDeadline(call->context, timeout_ms);
    StartCall<rpc::PollNodeEventsRequest, rpc::PollNodeEventsReply>(
        in_flight_, call,
        [this](auto* context, auto* request, auto* reply, auto callback) {
          events_->async()->PollNodeEvents(context, request, reply, std::move(callback));
        },
        std::move(done));
  }

 private:
  std::shared_ptr<rpc_util::InFlight> in_flight_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rpc::NodeInfoService::Stub> nodes_;
  std::unique_ptr<rpc::NodeEventService::Stub> events_;
};

}  // namespace

std::unique_ptr<GcsNodeClient> MakeGrpcGcsNodeClient(const std::string& address, Executor& executor) {
  return std::make_unique<GrpcGcsNodeClient>(address, executor);
}

}  // namespace halo::node
