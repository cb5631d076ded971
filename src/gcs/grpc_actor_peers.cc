#include <grpcpp/grpcpp.h>


#include "gcs/actor_peers.h"
#include "proto/core.grpc.pb.h"
#include "proto/node.grpc.pb.h"
#include "rpc/async_call.h"
#include "rpc/peer_cache.h"

namespace halo::gcs {
namespace {

// A lease request waits in its node's queue as long as it must; the call still fails at once if the node goes.
constexpr int64_t kLeaseRequestDeadlineMs = 24LL * 3600 * 1000;

class GrpcActorPeers : public ActorPeers {
 public:
  GrpcActorPeers(Executor& executor, int64_t rpc_timeout_ms)
      : in_flight_(std::make_shared<rpc_util::InFlight>()), rpc_timeout_ms_(rpc_timeout_ms) {
    in_flight_->executor = &executor;
  }
  ~GrpcActorPeers() override { in_flight_->CancelAll(); }

  void RequestWorkerLease(const std::string& node_address, const rpc::RequestWorkerLeaseRequest& request,
                          std::function<void(StatusOr<rpc::RequestWorkerLeaseReply>)> done) override {
    Send<rpc::RequestWorkerLeaseReply>(
        node_address, request, kLeaseRequestDeadlineMs,
        [](Stubs& peer, auto... call) { peer.node->async()->RequestWorkerLease(std::move(call)...); },
        std::move(done));
  }

  void KillWorker(const std::string& node_address, const std::string& lease_id) override {
    rpc::ReturnWorkerRequest request;
    request.set_lease_id(lease_id);
    request.set_worker_failed(true);
    Send<rpc::ReturnWorkerReply>(
        node_address, std::move(request), rpc_timeout_ms_,
        [](Stubs& peer, auto... call) { peer.node->async()->ReturnWorker(std::move(call)...); },
        [](StatusOr<rpc::ReturnWorkerReply>) {});
  }

  void GetWorkerExit(const std::string& node_address, const std::string& worker_id,
                     std::function<void(StatusOr<rpc::GetWorkerExitReply>)> done) override {
    rpc::GetWorkerExitRequest request;
    request.set_worker_id(worker_id);
    Send<rpc::GetWorkerExitReply>(
        node_address, std::move(request), rpc_timeout_ms_,
        [](Stubs& peer, auto... call) { peer.node->async()->GetWorkerExit(std::move(call)...); },
        std::move(done));
  }

  void CreateActor(const std::string& worker_address, const rpc::CreateActorRequest& request,
                   std::function<void(StatusOr<rpc::CreateActorReply>)> done) override {
    // No deadline: a constructor runs as long as it runs; a dead worker fails the call.
    Send<rpc::CreateActorReply>(
        worker_address, request, 0,
        [](Stubs& peer, auto... call) { peer.worker->async()->CreateActor(std::move(call)...); },
        std::move(done));
  }

  void WatchActor(const std::string& worker_address, const rpc::WatchActorRequest& request,
                  std::function<void(StatusOr<rpc::WatchActorReply>)> done) override {
    Send<rpc::WatchActorReply>(
        worker_address, request, request.wait_ms() + rpc_timeout_ms_,
        [](Stubs& peer, auto... call) { peer.worker->async()->WatchActor(std::move(call)...); },
        std::move(done));
  }

 private:
  struct Stubs {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<rpc::NodeAgentService::Stub> node;
    std::unique_ptr<rpc::CoreWorkerService::Stub> worker;
  };

  template <typename Reply, typename Request, typename Issue>
  void Send(const std::string& address, Request request, int64_t timeout_ms, Issue issue,
            std::function<void(StatusOr<Reply>)> done) {
    rpc_util::SendTo<Reply>(in_flight_, peers_.Get(address), std::move(request), timeout_ms, issue,
                            std::move(done));
  }

  std::shared_ptr<rpc_util::InFlight> in_flight_;
  int64_t rpc_timeout_ms_;
  rpc_util::PeerCache<Stubs> peers_{4096, [](Stubs& stubs) {
                                      stubs.node = rpc::NodeAgentService::NewStub(stubs.channel);
                                      stubs.worker = rpc::CoreWorkerService::NewStub(stubs.channel);
                                    }};
};

}  // namespace

std::unique_ptr<ActorPeers> MakeGrpcActorPeers(Executor& executor, int64_t rpc_timeout_ms) {
  return std::make_unique<GrpcActorPeers>(executor, rpc_timeout_ms);
}

}  // namespace halo::gcs
