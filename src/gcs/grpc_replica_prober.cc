#include <grpcpp/grpcpp.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "gcs/replica_prober.h"
#include "proto/core.grpc.pb.h"
#include "rpc/async_call.h"
#include "rpc/peer_cache.h"

namespace halo::gcs {
namespace {

// msgpack's encoding of the bool true: what a health method that returned true answers with.
constexpr char kPackedTrue = static_cast<char>(0xc3);

// The GCS is one caller of each replica instance; one probe at a time per replica (the service manager's
// rule), so each probe's sequence number is also the lowest unfinished one.
class GrpcReplicaProber : public ReplicaProber {
 public:
  GrpcReplicaProber(Executor& executor, std::string caller_id)
      : in_flight_(std::make_shared<rpc_util::InFlight>()),
        caller_id_(std::move(caller_id)),
        peers_(256, [](Stubs& stubs) { stubs.worker = rpc::CoreWorkerService::NewStub(stubs.channel); }) {
    in_flight_->executor = &executor;
  }
  ~GrpcReplicaProber() override { in_flight_->CancelAll(); }

  void Forget(const std::string& actor_id) override { orders_.erase(actor_id); }

  void Probe(const std::string& worker_address, const std::string& actor_id, int32_t instance,
             const std::string& method, int64_t timeout_ms, std::function<void(StatusOr<bool>)> done) override {
    Order& order = orders_[actor_id];
    if (order.instance != instance) order = Order{instance, 0};
    const uint64_t sequence = order.next++;
    rpc::PushActorTasksRequest push;
    push.set_actor_id(actor_id);
    push.set_instance(instance);
    push.set_caller_id(caller_id_);
    push.set_start_sequence(sequence);
    rpc::TaskSpec* call = push.add_calls();
    call->set_task_id(absl::StrCat(caller_id_, "-health-", actor_id, "-", instance, "-", sequence));
    call->set_actor_id(actor_id);
    call->set_function_name(method);
    call->set_sequence(sequence);
    rpc_util::SendTo<rpc::PushActorTasksReply>(
        in_flight_, peers_.Get(worker_address), std::move(push), timeout_ms,
        [](Stubs& stubs, auto... rest) { stubs.worker->async()->PushActorTasks(std::move(rest)...); },
        [done = std::move(done)](StatusOr<rpc::PushActorTasksReply> reply) {
          if (!reply.ok()) {
            if (reply.status().code() == absl::StatusCode::kDeadlineExceeded) return done(false);
            return done(reply.status());  // unreachable: the actor directory hears of a death by itself
          }
          if (!reply->refused().empty() || reply->results_size() != 1) {
            return done(UnavailableError(reply->refused().empty() ? "malformed reply" : reply->refused()));
          }
          const rpc::TaskResult& result = reply->results(0);
          if (result.failed()) {
            if (result.error().kind() == rpc::TASK_EXCEPTION) return done(false);
            return done(UnavailableError(result.error().message()));  // the instance died during the call
          }
          done(result.value().size() == 1 && result.value()[0] == kPackedTrue);
        });
  }

 private:
  struct Stubs {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<rpc::CoreWorkerService::Stub> worker;
  };
  struct Order {
    int32_t instance = -1;
    uint64_t next = 0;
  };

  std::shared_ptr<rpc_util::InFlight> in_flight_;
  std::string caller_id_;
  rpc_util::PeerCache<Stubs> peers_;
  std::map<std::string, Order> orders_;  // by actor id, until Forget; touched on the executor only
};

}  // namespace

std::unique_ptr<ReplicaProber> MakeGrpcReplicaProber(Executor& executor, std::string caller_id) {
  return std::make_unique<GrpcReplicaProber>(executor, std::move(caller_id));
}

}  // namespace halo::gcs
