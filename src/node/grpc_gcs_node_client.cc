#include <grpcpp/grpcpp.h>

#include <mutex>
#include <set>

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

// Calls in flight outlive nothing: the client's destructor cancels them and stops their results from being
// posted to the executor.
struct InFlight {
  std::mutex mutex;
  Executor* executor;
  std::set<grpc::ClientContext*> contexts;

  void Begin(grpc::ClientContext* context) {
    std::lock_guard<std::mutex> lock(mutex);
    contexts.insert(context);
  }
  // Ends the call; posts fn to the executor unless the client is gone.
  void End(grpc::ClientContext* context, std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mutex);
    contexts.erase(context);
    if (executor != nullptr) executor->Post(std::move(fn));
  }
};

class GrpcGcsNodeClient : public GcsNodeClient {
 public:
  GrpcGcsNodeClient(const std::string& address, Executor& executor) : in_flight_(std::make_shared<InFlight>()) {
    in_flight_->executor = &executor;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    channel_ = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    nodes_ = rpc::NodeInfoService::NewStub(channel_);
    events_ = rpc::NodeEventService::NewStub(channel_);
  }

  ~GrpcGcsNodeClient() override {
    std::lock_guard<std::mutex> lock(in_flight_->mutex);
    in_flight_->executor = nullptr;
    for (auto* context : in_flight_->contexts) context->TryCancel();
  }

  void AsyncRegister(const rpc::NodeInfo& node, const std::string& cluster_id, int64_t timeout_ms,
                     std::function<void(StatusOr<std::string>)> done) override {
    auto* call = new Call<rpc::RegisterNodeRequest, rpc::RegisterNodeReply>;
    *call->request.mutable_node() = node;
    call->request.set_cluster_id(cluster_id);
    SetDeadline(call->context, timeout_ms);
    in_flight_->Begin(&call->context);
    nodes_->async()->RegisterNode(&call->context, &call->request, &call->reply,
                                  [in_flight = in_flight_, call, done = std::move(done)](grpc::Status status) mutable {
                                    StatusOr<std::string> result =
                                        status.ok() ? StatusOr<std::string>(call->reply.cluster_id())
                                                    : StatusOr<std::string>(FromGrpc(status));
                                    in_flight->End(&call->context, [done = std::move(done), result] { done(result); });
                                    delete call;
                                  });
  }

  void AsyncUnregister(const std::string& node_id, rpc::DeathReason reason, const std::string& message,
                       int64_t timeout_ms, std::function<void(Status)> done) override {
    auto* call = new Call<rpc::UnregisterNodeRequest, rpc::UnregisterNodeReply>;
    call->request.set_node_id(node_id);
    call->request.set_reason(reason);
    call->request.set_message(message);
    SetDeadline(call->context, timeout_ms);
    in_flight_->Begin(&call->context);
    nodes_->async()->UnregisterNode(&call->context, &call->request, &call->reply,
                                    [in_flight = in_flight_, call, done = std::move(done)](grpc::Status status) mutable {
                                      in_flight->End(&call->context,
                                                     [done = std::move(done), s = FromGrpc(status)] { done(s); });
                                      delete call;
                                    });
  }

  void AsyncPoll(const rpc::PollNodeEventsRequest& request, int64_t timeout_ms,
                 std::function<void(StatusOr<rpc::PollNodeEventsReply>)> done) override {
    auto* call = new Call<rpc::PollNodeEventsRequest, rpc::PollNodeEventsReply>;
    call->request = request;
    SetDeadline(call->context, timeout_ms);
    in_flight_->Begin(&call->context);
    events_->async()->PollNodeEvents(&call->context, &call->request, &call->reply,
                                     [in_flight = in_flight_, call, done = std::move(done)](grpc::Status status) mutable {
                                       StatusOr<rpc::PollNodeEventsReply> result =
                                           status.ok() ? StatusOr<rpc::PollNodeEventsReply>(std::move(call->reply))
                                                       : StatusOr<rpc::PollNodeEventsReply>(FromGrpc(status));
                                       in_flight->End(&call->context,
                                                      [done = std::move(done), result = std::move(result)] {
                                                        done(result);
                                                      });
                                       delete call;
                                     });
  }

 private:
  static void SetDeadline(grpc::ClientContext& context, int64_t timeout_ms) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  }

  std::shared_ptr<InFlight> in_flight_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rpc::NodeInfoService::Stub> nodes_;
  std::unique_ptr<rpc::NodeEventService::Stub> events_;
};

}  // namespace

std::unique_ptr<GcsNodeClient> MakeGrpcGcsNodeClient(const std::string& address, Executor& executor) {
  return std::make_unique<GrpcGcsNodeClient>(address, executor);
}

}  // namespace halo::node
