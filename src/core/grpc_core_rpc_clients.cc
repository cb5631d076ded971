#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "core/core_rpc_clients.h"
#include "proto/core.grpc.pb.h"
#include "proto/node.grpc.pb.h"
#include "rpc/async_call.h"

namespace halo::core {
namespace {

using rpc_util::Call;
using rpc_util::SetDeadline;
using rpc_util::StartCall;

// Long enough for any queue a lease request waits in; the call still fails at once if its node goes away.
constexpr int64_t kLeaseRequestDeadlineMs = 24LL * 3600 * 1000;

class GrpcCoreRpcClients : public CoreRpcClients {
 public:
  explicit GrpcCoreRpcClients(Executor& executor) : in_flight_(std::make_shared<rpc_util::InFlight>()) {
    in_flight_->executor = &executor;
  }
  ~GrpcCoreRpcClients() override { in_flight_->CancelAll(); }

  void RequestWorkerLease(const std::string& node_address, const rpc::RequestWorkerLeaseRequest& request,
                          std::function<void(StatusOr<rpc::RequestWorkerLeaseReply>)> done) override {
    auto* call = new Call<rpc::RequestWorkerLeaseRequest, rpc::RequestWorkerLeaseReply>;
    call->request = request;
    SetDeadline(call->context, kLeaseRequestDeadlineMs);
    auto peer = Peer(node_address);
    StartCall<rpc::RequestWorkerLeaseRequest, rpc::RequestWorkerLeaseReply>(
        in_flight_, call,
        [peer](auto* context, auto* req, auto* reply, auto callback) {
          peer->node->async()->RequestWorkerLease(context, req, reply, std::move(callback));
        },
        std::move(done));
  }

  void ReturnWorker(const std::string& node_address, const std::string& lease_id, bool worker_failed) override {
    auto* call = new Call<rpc::ReturnWorkerRequest, rpc::ReturnWorkerReply>;
    call->request.set_lease_id(lease_id);
    call->request.set_worker_failed(worker_failed);
    SetDeadline(call->context, 10000);
    auto peer = Peer(node_address);
    StartCall<rpc::ReturnWorkerRequest, rpc::ReturnWorkerReply>(
        in_flight_, call,
        [peer](auto* context, auto* req, auto* reply, auto callback) {
          peer->node->async()->ReturnWorker(context, req, reply, std::move(callback));
        },
        [](StatusOr<rpc::ReturnWorkerReply>) {});
  }

  void GetWorkerExit(const std::string& node_address, const std::string& worker_id, int64_t timeout_ms,
                     std::function<void(StatusOr<rpc::GetWorkerExitReply>)> done) override {
    auto* call = new Call<rpc::GetWorkerExitRequest, rpc::GetWorkerExitReply>;
    call->request.set_worker_id(worker_id);
    SetDeadline(call->context, timeout_ms);
    auto peer = Peer(node_address);
    StartCall<rpc::GetWorkerExitRequest, rpc::GetWorkerExitReply>(
        in_flight_, call,
        [peer](auto* context, auto* req, auto* reply, auto callback) {
          peer->node->async()->GetWorkerExit(context, req, reply, std::move(callback));
        },
        std::move(done));
  }

  void GetObject(const std::string& owner_address, const std::string& object_id, int64_t wait_ms,
                 int64_t timeout_ms, std::function<void(StatusOr<rpc::GetObjectReply>)> done) override {
    auto* call = new Call<rpc::GetObjectRequest, rpc::GetObjectReply>;
    call->request.set_object_id(object_id);
    call->request.set_wait_ms(wait_ms);
    SetDeadline(call->context, wait_ms + timeout_ms);
    auto peer = Peer(owner_address);
    StartCall<rpc::GetObjectRequest, rpc::GetObjectReply>(
        in_flight_, call,
        [peer](auto* context, auto* req, auto* reply, auto callback) {
          peer->worker->async()->GetObject(context, req, reply, std::move(callback));
        },
        std::move(done));
  }

  void FreeObjects(const std::string& node_address, const std::vector<std::string>& object_ids) override {
    auto* call = new Call<rpc::FreeObjectsRequest, rpc::FreeObjectsReply>;
    for (const auto& id : object_ids) call->request.add_object_ids(id);
    SetDeadline(call->context, 10000);
    auto peer = Peer(node_address);
    StartCall<rpc::FreeObjectsRequest, rpc::FreeObjectsReply>(
        in_flight_, call,
        [peer](auto* context, auto* req, auto* reply, auto callback) {
          peer->store->async()->FreeObjects(context, req, reply, std::move(callback));
        },
        [](StatusOr<rpc::FreeObjectsReply>) {});
  }

  void PushTasks(const std::string& worker_address, rpc::PushTasksRequest request,
                 std::function<void(StatusOr<rpc::PushTasksReply>)> done) override {
    auto* call = new Call<rpc::PushTasksRequest, rpc::PushTasksReply>;
    call->request = std::move(request);
    auto peer = Peer(worker_address);
    StartCall<rpc::PushTasksRequest, rpc::PushTasksReply>(
        in_flight_, call,
        [peer](auto* context, auto* req, auto* reply, auto callback) {
          peer->worker->async()->PushTasks(context, req, reply, std::move(callback));
        },
        std::move(done));
  }

 private:
  struct PeerStubs {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<rpc::NodeAgentService::Stub> node;
    std::unique_ptr<rpc::CoreWorkerService::Stub> worker;
    std::unique_ptr<rpc::ObjectStoreService::Stub> store;
  };

  // The stubs for an address, made on first use. Calls in flight hold their peer, so evicting the least
  // recently used one past kPeersMax (addresses of workers long gone, mostly) is safe.
  std::shared_ptr<PeerStubs> Peer(const std::string& address) {
    constexpr size_t kPeersMax = 512;
    std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t now = ++use_clock_;
    auto it = peers_.find(address);
    if (it != peers_.end()) {
      it->second.last_use = now;
      return it->second.stubs;
    }
    if (peers_.size() >= kPeersMax) {
      auto oldest = std::min_element(peers_.begin(), peers_.end(), [](const auto& a, const auto& b) {
        return a.second.last_use < b.second.last_use;
      });
      peers_.erase(oldest);
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    // A peer that vanishes without a reset (machine gone) fails held calls within about 15 s.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
    auto stubs = std::make_shared<PeerStubs>();
    stubs->channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    stubs->node = rpc::NodeAgentService::NewStub(stubs->channel);
    stubs->worker = rpc::CoreWorkerService::NewStub(stubs->channel);
    stubs->store = rpc::ObjectStoreService::NewStub(stubs->channel);
    peers_[address] = Cached{stubs, now};
    return stubs;
  }

  std::shared_ptr<rpc_util::InFlight> in_flight_;
  std::mutex mutex_;
  struct Cached {
    std::shared_ptr<PeerStubs> stubs;
    uint64_t last_use = 0;
  };
  std::unordered_map<std::string, Cached> peers_;
  uint64_t use_clock_ = 0;
};

}  // namespace

std::unique_ptr<CoreRpcClients> MakeGrpcCoreRpcClients(Executor& executor) {
  return std::make_unique<GrpcCoreRpcClients>(executor);
}

}  // namespace halo::core
