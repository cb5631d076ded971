#include <grpcpp/grpcpp.h>


#include "core/core_rpc_clients.h"
#include "proto/core.grpc.pb.h"
#include "proto/gcs.grpc.pb.h"
#include "proto/node.grpc.pb.h"
#include "rpc/async_call.h"
#include "rpc/peer_cache.h"

namespace halo::core {
namespace {


// Long enough for any queue a lease request waits in; the call still fails at once if its node goes away.
constexpr int64_t kLeaseRequestDeadlineMs = 24LL * 3600 * 1000;
// Returns and frees are not waited for; their calls still end.
constexpr int64_t kFireAndForgetDeadlineMs = 10000;

class GrpcCoreRpcClients : public CoreRpcClients {
 public:
  explicit GrpcCoreRpcClients(Executor& executor) : in_flight_(std::make_shared<rpc_util::InFlight>()) {
    in_flight_->executor = &executor;
  }
  ~GrpcCoreRpcClients() override { in_flight_->CancelAll(); }

  void RequestWorkerLease(const std::string& node_address, const rpc::RequestWorkerLeaseRequest& request,
                          std::function<void(StatusOr<rpc::RequestWorkerLeaseReply>)> done) override {
    Send<rpc::RequestWorkerLeaseReply>(
        node_address, request, kLeaseRequestDeadlineMs,
        [](PeerStubs& peer, auto... call) { peer.node->async()->RequestWorkerLease(std::move(call)...); },
        std::move(done));
  }

  void ReturnWorker(const std::string& node_address, const std::string& lease_id, bool worker_failed) override {
    rpc::ReturnWorkerRequest request;
    request.set_lease_id(lease_id);
    request.set_worker_failed(worker_failed);
    Send<rpc::ReturnWorkerReply>(
        node_address, std::move(request), kFireAndForgetDeadlineMs,
        [](PeerStubs& peer, auto... call) { peer.node->async()->ReturnWorker(std::move(call)...); },
        [](StatusOr<rpc::ReturnWorkerReply>) {});
  }

  void GetWorkerExit(const std::string& node_address, const std::string& worker_id, int64_t timeout_ms,
                     std::function<void(StatusOr<rpc::GetWorkerExitReply>)> done) override {
    rpc::GetWorkerExitRequest request;
    request.set_worker_id(worker_id);
    Send<rpc::GetWorkerExitReply>(
        node_address, std::move(request), timeout_ms,
        [](PeerStubs& peer, auto... call) { peer.node->async()->GetWorkerExit(std::move(call)...); },
        std::move(done));
  }

  void GetObject(const std::string& owner_address, const std::string& object_id, int64_t wait_ms,
                 int64_t timeout_ms, std::function<void(StatusOr<rpc::GetObjectReply>)> done) override {
    rpc::GetObjectRequest request;
    request.set_object_id(object_id);
    request.set_wait_ms(wait_ms);
    Send<rpc::GetObjectReply>(
        owner_address, std::move(request), wait_ms + timeout_ms,
        [](PeerStubs& peer, auto... call) { peer.worker->async()->GetObject(std::move(call)...); },
        std::move(done));
  }

  void FreeObjects(const std::string& node_address, const std::vector<std::string>& object_ids) override {
    rpc::FreeObjectsRequest request;
    for (const auto& id : object_ids) request.add_object_ids(id);
    Send<rpc::FreeObjectsReply>(
        node_address, std::move(request), kFireAndForgetDeadlineMs,
        [](PeerStubs& peer, auto... call) { peer.store->async()->FreeObjects(std::move(call)...); },
        [](StatusOr<rpc::FreeObjectsReply>) {});
  }

  void PushTasks(const std::string& worker_address, rpc::PushTasksRequest request,
                 std::function<void(StatusOr<rpc::PushTasksReply>)> done) override {
    // No deadline: tasks run as long as they run; a dead worker or node fails the call.
    Send<rpc::PushTasksReply>(
        worker_address, std::move(request), /*timeout_ms=*/0,
        [](PeerStubs& peer, auto... call) { peer.worker->async()->PushTasks(std::move(call)...); },
        std::move(done));
  }

  void PushActorTasks(const std::string& worker_address, rpc::PushActorTasksRequest request,
                      std::function<void(StatusOr<rpc::PushActorTasksReply>)> done) override {
    Send<rpc::PushActorTasksReply>(
        worker_address, std::move(request), /*timeout_ms=*/0,
        [](PeerStubs& peer, auto... call) { peer.worker->async()->PushActorTasks(std::move(call)...); },
        std::move(done));
  }

  void WaitActor(const std::string& gcs_address, const rpc::WaitActorRequest& request,
                 std::function<void(StatusOr<rpc::WaitActorReply>)> done) override {
    Send<rpc::WaitActorReply>(
        gcs_address, request, request.wait_ms() + kFireAndForgetDeadlineMs,
        [](PeerStubs& peer, auto... call) { peer.actors->async()->WaitActor(std::move(call)...); },
        std::move(done));
  }

  void RegisterActor(const std::string& gcs_address, const rpc::RegisterActorRequest& request, int64_t timeout_ms,
                     std::function<void(StatusOr<rpc::RegisterActorReply>)> done) override {
    Send<rpc::RegisterActorReply>(
        gcs_address, request, timeout_ms,
        [](PeerStubs& peer, auto... call) { peer.actors->async()->RegisterActor(std::move(call)...); },
        std::move(done));
  }

  void ResolveActor(const std::string& gcs_address, const rpc::ResolveActorRequest& request, int64_t timeout_ms,
                    std::function<void(StatusOr<rpc::ResolveActorReply>)> done) override {
    Send<rpc::ResolveActorReply>(
        gcs_address, request, timeout_ms,
        [](PeerStubs& peer, auto... call) { peer.actors->async()->ResolveActor(std::move(call)...); },
        std::move(done));
  }

  void GetNamedActor(const std::string& gcs_address, const rpc::GetNamedActorRequest& request, int64_t timeout_ms,
                     std::function<void(StatusOr<rpc::GetNamedActorReply>)> done) override {
    Send<rpc::GetNamedActorReply>(
        gcs_address, request, timeout_ms,
        [](PeerStubs& peer, auto... call) { peer.actors->async()->GetNamedActor(std::move(call)...); },
        std::move(done));
  }

  void KillActor(const std::string& gcs_address, const rpc::KillActorRequest& request, int64_t timeout_ms,
                 std::function<void(StatusOr<rpc::KillActorReply>)> done) override {
    Send<rpc::KillActorReply>(
        gcs_address, request, timeout_ms,
        [](PeerStubs& peer, auto... call) { peer.actors->async()->KillActor(std::move(call)...); },
        std::move(done));
  }

  void ReportActorExit(const std::string& gcs_address, const rpc::ReportActorExitRequest& request,
                       int64_t timeout_ms, std::function<void(StatusOr<rpc::ReportActorExitReply>)> done) override {
    Send<rpc::ReportActorExitReply>(
        gcs_address, request, timeout_ms,
        [](PeerStubs& peer, auto... call) { peer.actors->async()->ReportActorExit(std::move(call)...); },
        std::move(done));
  }

  void RecordEvent(const std::string& gcs_address, const rpc::RecordEventRequest& request, int64_t timeout_ms,
                   std::function<void(StatusOr<rpc::RecordEventReply>)> done) override {
    Send<rpc::RecordEventReply>(
        gcs_address, request, timeout_ms,
        [](PeerStubs& peer, auto... call) { peer.events->async()->RecordEvent(std::move(call)...); },
        std::move(done));
  }

  void ReportRuntimeCounters(const std::string& gcs_address, const rpc::ReportRuntimeCountersRequest& request,
                             int64_t timeout_ms,
                             std::function<void(StatusOr<rpc::ReportRuntimeCountersReply>)> done) override {
    Send<rpc::ReportRuntimeCountersReply>(
        gcs_address, request, timeout_ms,
        [](PeerStubs& peer, auto... call) { peer.jobs->async()->ReportRuntimeCounters(std::move(call)...); },
        std::move(done));
  }

 private:
  struct PeerStubs {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<rpc::NodeAgentService::Stub> node;
    std::unique_ptr<rpc::CoreWorkerService::Stub> worker;
    std::unique_ptr<rpc::ObjectStoreService::Stub> store;
    std::unique_ptr<rpc::ActorService::Stub> actors;
    std::unique_ptr<rpc::EventLogService::Stub> events;
    std::unique_ptr<rpc::JobService::Stub> jobs;
  };

  template <typename Reply, typename Request, typename Issue>
  void Send(const std::string& address, Request request, int64_t timeout_ms, Issue issue,
            std::function<void(StatusOr<Reply>)> done) {
    rpc_util::SendTo<Reply>(in_flight_, peers_.Get(address), std::move(request), timeout_ms, issue,
                            std::move(done));
  }

  std::shared_ptr<rpc_util::InFlight> in_flight_;
  rpc_util::PeerCache<PeerStubs> peers_{512, [](PeerStubs& stubs) {
                                          stubs.node = rpc::NodeAgentService::NewStub(stubs.channel);
                                          stubs.worker = rpc::CoreWorkerService::NewStub(stubs.channel);
                                          stubs.store = rpc::ObjectStoreService::NewStub(stubs.channel);
                                          stubs.actors = rpc::ActorService::NewStub(stubs.channel);
                                          stubs.events = rpc::EventLogService::NewStub(stubs.channel);
                                          stubs.jobs = rpc::JobService::NewStub(stubs.channel);
                                        }};
};

}  // namespace

std::unique_ptr<CoreRpcClients> MakeGrpcCoreRpcClients(Executor& executor) {
  return std::make_unique<GrpcCoreRpcClients>(executor);
}

}  // namespace halo::core
