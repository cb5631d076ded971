#include "gcs/node_grpc_services.h"

#include "gcs/grpc_services.h"

namespace halo::gcs {

grpc::ServerUnaryReactor* NodeInfoServiceImpl::RegisterNode(grpc::CallbackServerContext* context,
                                                            const rpc::RegisterNodeRequest* request,
                                                            rpc::RegisterNodeReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    nodes_.HandleRegister(request->node(), request->cluster_id(), [this, reactor, reply](Status status) {
      reply->set_cluster_id(cluster_id_);
      reactor->Finish(ToGrpcStatus(status));
    });
  });
}

grpc::ServerUnaryReactor* NodeInfoServiceImpl::RenewNodeLease(grpc::CallbackServerContext* context,
                                                              const rpc::RenewNodeLeaseRequest* request,
                                                              rpc::RenewNodeLeaseReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    nodes_.HandleRenewLease(*request, [reactor, reply](StatusOr<rpc::RenewNodeLeaseReply> answer) {
      if (!answer.ok()) return reactor->Finish(ToGrpcStatus(answer.status()));
      *reply = *answer;
      reactor->Finish(grpc::Status::OK);
    });
  });
}

grpc::ServerUnaryReactor* NodeInfoServiceImpl::UnregisterNode(grpc::CallbackServerContext* context,
                                                              const rpc::UnregisterNodeRequest* request,
                                                              rpc::UnregisterNodeReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    nodes_.HandleUnregister(request->node_id(), request->reason(), request->message(),
                            [reactor](Status status) { reactor->Finish(ToGrpcStatus(status)); });
  });
}

grpc::ServerUnaryReactor* NodeInfoServiceImpl::DrainNode(grpc::CallbackServerContext* context,
                                                         const rpc::DrainNodeRequest* request, rpc::DrainNodeReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    nodes_.HandleDrain(request->node_id(), request->reason(), request->deadline_ms(),
                       [reactor](Status status) { reactor->Finish(ToGrpcStatus(status)); });
  });
}

grpc::ServerUnaryReactor* NodeInfoServiceImpl::GetAllNodes(grpc::CallbackServerContext* context,
                                                           const rpc::GetAllNodesRequest*,
                                                           rpc::GetAllNodesReply* reply) {
  return OnExecutor(context, executor_, [this, reply](grpc::ServerUnaryReactor* reactor) {
    for (auto& node : nodes_.AllNodes()) *reply->add_nodes() = std::move(node);
    reactor->Finish(grpc::Status::OK);
  });
}

namespace {

// A held poll. Its connection dropping (OnCancel) completes the poll and hints the health checker.
class PollReactor final : public grpc::ServerUnaryReactor {
 public:
  PollReactor(Executor& executor, NodeEventPublisher& publisher, NodeManager& nodes, health::HealthCheckManager& health,
              std::string subscriber_id)
      : executor_(executor), publisher_(publisher), nodes_(nodes), health_(health),
        subscriber_id_(std::move(subscriber_id)) {}
  void OnCancel() override {
    executor_.Post([&publisher = publisher_, &nodes = nodes_, &health = health_, id = subscriber_id_] {
      publisher.OnSubscriberGone(id);
      if (nodes.Find(id) != nullptr) health.OnConnectionLost(id);
    });
  }
  void OnDone() override { delete this; }

 private:
  Executor& executor_;
  NodeEventPublisher& publisher_;
  NodeManager& nodes_;
  health::HealthCheckManager& health_;
  std::string subscriber_id_;
};

}  // namespace

grpc::ServerUnaryReactor* NodeEventServiceImpl::PollNodeEvents(grpc::CallbackServerContext* context,
                                                               const rpc::PollNodeEventsRequest* request,
                                                               rpc::PollNodeEventsReply* reply) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = new PollReactor(executor_, publisher_, nodes_, health_, request->subscriber_id());
  executor_.Post([this, reactor, request, reply] {
    publisher_.HandlePoll(*request, [reactor, reply](StatusOr<rpc::PollNodeEventsReply> result) {
      if (result.ok()) *reply = std::move(*result);
      reactor->Finish(ToGrpcStatus(result.status()));
    });
  });
  return reactor;
}

}  // namespace halo::gcs
