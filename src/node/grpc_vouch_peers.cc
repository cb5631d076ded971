#include "node/grpc_vouch_peers.h"

#include <grpcpp/grpcpp.h>

#include "proto/node.grpc.pb.h"
#include "rpc/async_call.h"
#include "rpc/peer_cache.h"

namespace halo::node {
namespace {

class GrpcVouchPeers : public VouchPeers {
 public:
  explicit GrpcVouchPeers(Executor& executor) : in_flight_(std::make_shared<rpc_util::InFlight>()) {
    in_flight_->executor = &executor;
  }
  ~GrpcVouchPeers() override { in_flight_->CancelAll(); }

  void Vouch(const std::string& address, const rpc::VouchRequest& request, int64_t timeout_ms,
             std::function<void(StatusOr<rpc::VouchReply>)> done) override {
    rpc_util::SendTo<rpc::VouchReply>(
        in_flight_, peers_.Get(address), request, timeout_ms,
        [](Stubs& peer, auto... call) { peer.node->async()->Vouch(std::move(call)...); }, std::move(done));
  }

 private:
  struct Stubs {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<rpc::NodeAgentService::Stub> node;
  };
  std::shared_ptr<rpc_util::InFlight> in_flight_;
  rpc_util::PeerCache<Stubs> peers_{1024, [](Stubs& stubs) { stubs.node = rpc::NodeAgentService::NewStub(stubs.channel); }};
};

}  // namespace

std::unique_ptr<VouchPeers> MakeGrpcVouchPeers(Executor& executor) {
  return std::make_unique<GrpcVouchPeers>(executor);
}

}  // namespace halo::node
