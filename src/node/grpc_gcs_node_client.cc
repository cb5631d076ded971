#include <grpcpp/grpcpp.h>

#include "node/gcs_node_client.h"
#include "proto/node.grpc.pb.h"

namespace halo::node {
namespace {

Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return OkStatus();
  return Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

template <typename Request, typename Reply>
struct Call {
  grpc::ClientContext context;
  Request request;
  Reply reply;
};

class GrpcGcsNodeClient : public GcsNodeClient {
 public:
  GrpcGcsNodeClient(const std::string& address, Executor& executor) : executor_(executor) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    channel_ = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    nodes_ = rpc::NodeInfoService::NewStub(channel_);
    events_ = rpc::NodeEventService::NewStub(channel_);
  }

  void AsyncRegister(const rpc::NodeInfo& node, const std::string& cluster_id, int64_t timeout_ms,
                     std::function<void(StatusOr<std::string>)> done) override {
    auto* call = new Call<rpc::RegisterNodeRequest, rpc::RegisterNodeReply>;
    *call->request.mutable_node() = node;
    call->request.set_cluster_id(cluster_id);
    SetDeadline(call->context, timeout_ms);
    nodes_->async()->RegisterNode(&call->context, &call->request, &call->reply,
                                  [this, call, done = std::move(done)](grpc::Status status) mutable {
                                    StatusOr<std::string> result =
                                        status.ok() ? StatusOr<std::string>(call->reply.cluster_id())
                                                    : StatusOr<std::string>(FromGrpc(status));
                                    delete call;
                                    executor_.Post([done = std::move(done), result] { done(result); });
                                  });
  }

  void AsyncUnregister(const std::string& node_id, rpc::DeathReason reason, const std::string& message,
                       int64_t timeout_ms, std::function<void(Status)> done) override {
    auto* call = new Call<rpc::UnregisterNodeRequest, rpc::UnregisterNodeReply>;
    call->request.set_node_id(node_id);
    call->request.set_reason(reason);
    call->request.set_message(message);
    SetDeadline(call->context, timeout_ms);
    nodes_->async()->UnregisterNode(&call->context, &call->request, &call->reply,
                                    [this, call, done = std::move(done)](grpc::Status status) mutable {
                                      delete call;
                                      executor_.Post([done = std::move(done), s = FromGrpc(status)] { done(s); });
                                    });
  }

  void AsyncPoll(const rpc::PollNodeEventsRequest& request, int64_t timeout_ms,
                 std::function<void(StatusOr<rpc::PollNodeEventsReply>)> done) override {
    auto* call = new Call<rpc::PollNodeEventsRequest, rpc::PollNodeEventsReply>;
    call->request = request;
    SetDeadline(call->context, timeout_ms);
    events_->async()->PollNodeEvents(&call->context, &call->request, &call->reply,
                                     [this, call, done = std::move(done)](grpc::Status status) mutable {
                                       StatusOr<rpc::PollNodeEventsReply> result =
                                           status.ok() ? StatusOr<rpc::PollNodeEventsReply>(std::move(call->reply))
                                                       : StatusOr<rpc::PollNodeEventsReply>(FromGrpc(status));
                                       delete call;
                                       executor_.Post([done = std::move(done), result = std::move(result)] {
                                         done(result);
                                       });
                                     });
  }

 private:
  static void SetDeadline(grpc::ClientContext& context, int64_t timeout_ms) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  }

  Executor& executor_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rpc::NodeInfoService::Stub> nodes_;
  std::unique_ptr<rpc::NodeEventService::Stub> events_;
};

}  // namespace

std::unique_ptr<GcsNodeClient> MakeGrpcGcsNodeClient(const std::string& address, Executor& executor) {
  return std::make_unique<GrpcGcsNodeClient>(address, executor);
}

}  // namespace halo::node
