#include <grpcpp/grpcpp.h>

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
    auto* stub = Peer(node_address).node.get();
    StartCall<rpc::RequestWorkerLeaseRequest, rpc::RequestWorkerLeaseReply>(
        in_flight_, call,
        [stub](auto* context, auto* req, auto* reply, auto callback) {
          stub->async()->RequestWorkerLease(context, req, reply, std::move(callback));
        },
        std::move(done));
  }

  void ReturnWorker(const std::string& node_address, const std::string& lease_id, bool worker_failed) override {
    auto* call = new Call<rpc::ReturnWorkerRequest, rpc::ReturnWorkerReply>;
    call->request.set_lease_id(lease_id);
    call->request.set_worker_failed(worker_failed);
    SetDeadline(call->context, 10000);
    auto* stub = Peer(node_address).node.get();
    StartCall<rpc::ReturnWorkerRequest, rpc::ReturnWorkerReply>(
        in_flight_, call,
        [stub](auto* context, auto* req, auto* reply, auto callback) {
          stub->async()->ReturnWorker(context, req, reply, std::move(callback));
        },
        [](StatusOr<rpc::ReturnWorkerReply>) {});
  }

  void GetWorkerExit(const std::string& node_address, const std::string& worker_id, int64_t timeout_ms,
                     std::function<void(StatusOr<rpc::GetWorkerExitReply>)> done) override {
    auto* call = new Call<rpc::GetWorkerExitRequest, rpc::GetWorkerExitReply>;
    call->request.set_worker_id(worker_id);
    SetDeadline(call->context, timeout_ms);
    auto* stub = Peer(node_address).node.get();
    StartCall<rpc::GetWorkerExitRequest, rpc::GetWorkerExitReply>(
        in_flight_, call,
        [stub](auto* context, auto* req, auto* reply, auto callback) {
          stub->async()->GetWorkerExit(context, req, reply, std::move(callback));
        },
        std::move(done));
  }

  void GetObject(const std::string& owner_address, const std::string& object_id, int64_t wait_ms,
                 int64_t timeout_ms, std::function<void(StatusOr<rpc::GetObjectReply>)> done) override {
    auto* call = new Call<rpc::GetObjectRequest, rpc::GetObjectReply>;
    call->request.set_object_id(object_id);
    call->request.set_wait_ms(wait_ms);
    SetDeadline(call->context, wait_ms + timeout_ms);
    auto* stub = Peer(owner_address).worker.get();
    StartCall<rpc::GetObjectRequest, rpc::GetObjectReply>(
        in_flight_, call,
        [stub](auto* context, auto* req, auto* reply, auto callback) {
          stub->async()->GetObject(context, req, reply, std::move(callback));
        },
        std::move(done));
  }

  void FreeObjects(const std::string& node_address, const std::vector<std::string>& object_ids) override {
    auto* call = new Call<rpc::FreeObjectsRequest, rpc::FreeObjectsReply>;
    for (const auto& id : object_ids) call->request.add_object_ids(id);
    SetDeadline(call->context, 10000);
    auto* stub = Peer(node_address).store.get();
    StartCall<rpc::FreeObjectsRequest, rpc::FreeObjectsReply>(
        in_flight_, call,
        [stub](auto* context, auto* req, auto* reply, auto callback) {
          stub->async()->FreeObjects(context, req, reply, std::move(callback));
        },
        [](StatusOr<rpc::FreeObjectsReply>) {});
  }

  void PushTasks(const std::string& worker_address, rpc::PushTasksRequest request,
                 std::function<void(StatusOr<rpc::PushTasksReply>)> done) override {
    auto* call = new Call<rpc::PushTasksRequest, rpc::PushTasksReply>;
    call->request = std::move(request);
    auto* stub = Peer(worker_address).worker.get();
    StartCall<rpc::PushTasksRequest, rpc::PushTasksReply>(
        in_flight_, call,
        [stub](auto* context, auto* req, auto* reply, auto callback) {
          stub->async()->PushTasks(context, req, reply, std::move(callback));
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

  PeerStubs& Peer(const std::string& address) {
    std::lock_guard<std::mutex> lock(mutex_);
    PeerStubs& peer = peers_[address];
    if (!peer.channel) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
      args.SetMaxReceiveMessageSize(-1);
      args.SetMaxSendMessageSize(-1);
      // A peer that vanishes without a reset (machine gone) fails held calls within about 15 s.
      args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
      args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
      peer.channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
      peer.node = rpc::NodeAgentService::NewStub(peer.channel);
      peer.worker = rpc::CoreWorkerService::NewStub(peer.channel);
      peer.store = rpc::ObjectStoreService::NewStub(peer.channel);
    }
    return peer;
  }

  std::shared_ptr<rpc_util::InFlight> in_flight_;
  std::mutex mutex_;
  std::unordered_map<std::string, PeerStubs> peers_;
};

}  // namespace

std::unique_ptr<CoreRpcClients> MakeGrpcCoreRpcClients(Executor& executor) {
  return std::make_unique<GrpcCoreRpcClients>(executor);
}

}  // namespace halo::core
