// gRPC front ends of membership: NodeInfoService (register, unregister, drain, list) and NodeEventService
// (long-poll subscription). A held poll whose connection drops tells the publisher, and the health checker
// that the subscriber's node may be gone (a hint to probe it at once).
#pragma once

#include "common/executor.h"
#include "health/health_check_manager.h"
#include "gcs/node_event_publisher.h"
#include "gcs/node_manager.h"
#include "proto/node.grpc.pb.h"

namespace halo::gcs {

class NodeInfoServiceImpl final : public rpc::NodeInfoService::CallbackService {
 public:
  NodeInfoServiceImpl(Executor& executor, NodeManager& nodes) : executor_(executor), nodes_(nodes) {}
  grpc::ServerUnaryReactor* RegisterNode(grpc::CallbackServerContext* context, const rpc::RegisterNodeRequest* request,
                                         rpc::RegisterNodeReply* reply) override;
  grpc::ServerUnaryReactor* RenewNodeLease(grpc::CallbackServerContext* context,
                                           const rpc::RenewNodeLeaseRequest* request,
                                           rpc::RenewNodeLeaseReply* reply) override;
  grpc::ServerUnaryReactor* UnregisterNode(grpc::CallbackServerContext* context,
                                           const rpc::UnregisterNodeRequest* request,
                                           rpc::UnregisterNodeReply* reply) override;
  grpc::ServerUnaryReactor* DrainNode(grpc::CallbackServerContext* context, const rpc::DrainNodeRequest* request,
                                      rpc::DrainNodeReply* reply) override;
  grpc::ServerUnaryReactor* GetAllNodes(grpc::CallbackServerContext* context, const rpc::GetAllNodesRequest* request,
                                        rpc::GetAllNodesReply* reply) override;

  void set_cluster_id(std::string id) { cluster_id_ = std::move(id); }

 private:
  Executor& executor_;
  NodeManager& nodes_;
  std::string cluster_id_;
};

class NodeEventServiceImpl final : public rpc::NodeEventService::CallbackService {
 public:
  NodeEventServiceImpl(Executor& executor, NodeEventPublisher& publisher, NodeManager& nodes,
                       health::HealthCheckManager& health)
      : executor_(executor), publisher_(publisher), nodes_(nodes), health_(health) {}
  grpc::ServerUnaryReactor* PollNodeEvents(grpc::CallbackServerContext* context,
                                           const rpc::PollNodeEventsRequest* request,
                                           rpc::PollNodeEventsReply* reply) override;

 private:
  Executor& executor_;
  NodeEventPublisher& publisher_;
  NodeManager& nodes_;
  health::HealthCheckManager& health_;
};

}  // namespace halo::gcs
