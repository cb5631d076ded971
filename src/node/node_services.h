// The node agent's gRPC service NodeAgentService (what the agent knows of itself, its workers' leases).
// The standard health service is health/health_service.h.
#pragma once

#include <atomic>

#include "common/executor.h"
#include "node/lease_manager.h"
#include "node/node_agent.h"
#include "proto/node.grpc.pb.h"

namespace halo::node {

class NodeAgentServiceImpl final : public rpc::NodeAgentService::CallbackService {
 public:
  NodeAgentServiceImpl(Executor& executor, NodeAgent& agent, LeaseManager& leases)
      : executor_(executor), agent_(agent), leases_(leases) {}
  grpc::ServerUnaryReactor* GetNodeStatus(grpc::CallbackServerContext* context,
                                          const rpc::GetNodeStatusRequest* request,
                                          rpc::GetNodeStatusReply* reply) override;
  // Held until granted, redirected or refused; a caller that goes away withdraws its request.
  grpc::ServerUnaryReactor* RequestWorkerLease(grpc::CallbackServerContext* context,
                                               const rpc::RequestWorkerLeaseRequest* request,
                                               rpc::RequestWorkerLeaseReply* reply) override;
  grpc::ServerUnaryReactor* ReturnWorker(grpc::CallbackServerContext* context,
                                         const rpc::ReturnWorkerRequest* request,
                                         rpc::ReturnWorkerReply* reply) override;
  grpc::ServerUnaryReactor* RegisterWorker(grpc::CallbackServerContext* context,
                                           const rpc::RegisterWorkerRequest* request,
                                           rpc::RegisterWorkerReply* reply) override;
  grpc::ServerUnaryReactor* GetWorkerExit(grpc::CallbackServerContext* context,
                                          const rpc::GetWorkerExitRequest* request,
                                          rpc::GetWorkerExitReply* reply) override;
  grpc::ServerUnaryReactor* NotifyWorkerBlocked(grpc::CallbackServerContext* context,
                                                const rpc::NotifyWorkerBlockedRequest* request,
                                                rpc::NotifyWorkerBlockedReply* reply) override;
  // Answered on the executor by the handler (the node lease keeper); refused until one is set.
  grpc::ServerUnaryReactor* Vouch(grpc::CallbackServerContext* context, const rpc::VouchRequest* request,
                                  rpc::VouchReply* reply) override;
  void SetVouchHandler(std::function<rpc::VouchReply(const rpc::VouchRequest&)> handler) {
    vouch_ = std::move(handler);
  }

 private:
  Executor& executor_;
  NodeAgent& agent_;
  LeaseManager& leases_;
  std::function<rpc::VouchReply(const rpc::VouchRequest&)> vouch_;
};

// Parses "NAME=AMOUNT,NAME=AMOUNT" (amounts may use exponents: memory=8e9). InvalidArgument names the bad item.
StatusOr<std::map<std::string, double>> ParseResources(const std::string& text);
// Parses "KEY=VALUE,KEY=VALUE".
StatusOr<std::map<std::string, std::string>> ParseLabels(const std::string& text);

}  // namespace halo::node
