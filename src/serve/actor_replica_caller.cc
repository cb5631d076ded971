#include "serve/actor_replica_caller.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "halo/serve.h"
#include "proto/core.grpc.pb.h"

namespace halo::serve {

// Results are handled on the gRPC thread that completes the call: the ingress posts them to its own loop.
class ActorReplicaCaller::DirectExecutor : public Executor {
 public:
  void Post(std::function<void()> fn) override { fn(); }
  TimerId RunAfter(int64_t, std::function<void()>) override {
    HALO_CHECK(false) << "ActorReplicaCaller runs no timers";
    return 0;
  }
  void Cancel(TimerId) override {}
};

struct ActorReplicaCaller::Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<rpc::CoreWorkerService::Stub> worker;
};

// Lock order: a call's result arrives holding its InFlight's mutex and then takes mutex_ (Finished), so nothing
// here touches an InFlight's mutex while holding mutex_.

ActorReplicaCaller::ActorReplicaCaller(std::string handler, std::string caller_prefix)
    : handler_(std::move(handler)),
      caller_prefix_(std::move(caller_prefix)),
      peers_(std::make_unique<rpc_util::PeerCache<Stubs>>(
          512, [](Stubs& stubs) { stubs.worker = rpc::CoreWorkerService::NewStub(stubs.channel); })),
      direct_(std::make_unique<DirectExecutor>()) {}

ActorReplicaCaller::~ActorReplicaCaller() {
  std::vector<std::shared_ptr<rpc_util::InFlight>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, order] : orders_) all.push_back(order.calls);
    all.insert(all.end(), retired_.begin(), retired_.end());
  }
  for (auto& calls : all) calls->CancelAll();
}

std::shared_ptr<rpc_util::InFlight> ActorReplicaCaller::NewCalls() {
  auto calls = std::make_shared<rpc_util::InFlight>();
  calls->executor = direct_.get();
  return calls;
}

uint64_t ActorReplicaCaller::TakeSequence(const ReplicaInfo& replica, uint64_t* start,
                                          std::shared_ptr<rpc_util::InFlight>* calls) {
  std::shared_ptr<rpc_util::InFlight> replaced;
  uint64_t sequence = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto [it, added] = orders_.try_emplace(replica.replica_id);
    Order& order = it->second;
    if (added || order.instance != replica.instance) {  // a new instance starts over
      if (!added) {
        replaced = order.calls;
        retired_.push_back(order.calls);
      }
      order = Order{replica.instance, 0, {}, NewCalls()};
    }
    sequence = order.next++;
    order.unfinished.insert(sequence);
    starting_ += 1;  // until the call has registered in *calls (Call)
    *start = *order.unfinished.begin();
    *calls = order.calls;
  }
  if (replaced) replaced->Interrupt();  // calls to the instance before it cannot be answered
  return sequence;
}

void ActorReplicaCaller::Retain(const std::vector<DeploymentRoute>& routes) {
  std::unordered_map<std::string, int32_t> listed;
  for (const auto& route : routes) {
    for (const auto& replica : route.replicas) listed[replica.replica_id] = replica.instance;
  }
  std::vector<std::shared_ptr<rpc_util::InFlight>> let_go, retired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = orders_.begin(); it != orders_.end();) {
      auto found = listed.find(it->first);
      if (found != listed.end() && found->second == it->second.instance) {
        ++it;
        continue;
      }
      let_go.push_back(it->second.calls);
      it = orders_.erase(it);
    }
    retired.swap(retired_);
  }
  for (auto& calls : let_go) calls->Interrupt();
  retired.insert(retired.end(), let_go.begin(), let_go.end());
  // Orders let go cannot be handed out again; once no call handed one out is still registering, an idle set
  // of calls stays idle and can be dropped.
  if (starting_.load() == 0) {
    retired.erase(std::remove_if(retired.begin(), retired.end(),
                                 [](const std::shared_ptr<rpc_util::InFlight>& calls) { return calls->idle(); }),
                  retired.end());
  }
  std::lock_guard<std::mutex> lock(mutex_);
  retired_.insert(retired_.end(), retired.begin(), retired.end());
}

size_t ActorReplicaCaller::known_replicas() {
  std::lock_guard<std::mutex> lock(mutex_);
  return orders_.size();
}

void ActorReplicaCaller::Finished(const ReplicaInfo& replica, uint64_t sequence) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = orders_.find(replica.replica_id);
  if (it != orders_.end() && it->second.instance == replica.instance) it->second.unfinished.erase(sequence);
}

void ActorReplicaCaller::Call(const ReplicaInfo& replica, const Request& request, int64_t timeout_ms,
                              std::function<void(Result)> done) {
  const uint64_t number = next_call_.fetch_add(1);
  uint64_t start = 0;
  std::shared_ptr<rpc_util::InFlight> calls;
  const uint64_t sequence = TakeSequence(replica, &start, &calls);
  rpc::PushActorTasksRequest push;
  push.set_actor_id(replica.replica_id);
  push.set_instance(replica.instance);
  push.set_caller_id(caller_prefix_);
  push.set_start_sequence(start);
  rpc::TaskSpec* call = push.add_calls();
  call->set_task_id(absl::StrCat(caller_prefix_, "-req-", number));
  call->set_actor_id(replica.replica_id);
  call->set_function_name(replica.handler.empty() ? handler_ : replica.handler);
  call->set_sequence(sequence);
  call->set_return_inline(true);  // the response travels in the reply, whatever its size
  call->add_args()->set_value(::halo::internal::Pack(request));
  rpc_util::SendTo<rpc::PushActorTasksReply>(
      calls, peers_->Get(replica.address), std::move(push), timeout_ms,
      [](Stubs& stubs, auto... call) { stubs.worker->async()->PushActorTasks(std::move(call)...); },
      [this, done = std::move(done), replica, sequence](StatusOr<rpc::PushActorTasksReply> reply) {
        Finished(replica, sequence);  // answered or given up: later calls need not wait for it
        Result result;
        if (!reply.ok()) {
          result.failure = rpc_util::NotDelivered(reply.status()) ? Failure::kNotDelivered : Failure::kLost;
          result.error = std::string(reply.status().message());
          return done(std::move(result));
        }
        if (!reply->refused().empty() || reply->results_size() != 1) {
          result.failure = Failure::kNotDelivered;  // not that instance: the request never ran
          result.error = reply->refused().empty() ? "malformed reply" : reply->refused();
          return done(std::move(result));
        }
        const rpc::TaskResult& answer = reply->results(0);
        if (answer.failed()) {
          const rpc::TaskError& error = answer.error();
          if (error.kind() == rpc::TASK_EXCEPTION) {
            result.failure = Failure::kHandlerThrew;
            result.error = absl::StrCat(error.type_name(), ": ", error.message());
          } else {
            result.failure = Failure::kLost;  // the actor died or exited during the call
            result.error = error.message();
          }
          return done(std::move(result));
        }
        if (answer.stored()) {  // a worker that ignores return_inline (an executable built with an older Halo)
          result.failure = Failure::kHandlerThrew;
          result.error = "the replica stored its response instead of returning it (is the service built with this Halo?)";
          return done(std::move(result));
        }
        try {
          result.response = ::halo::internal::Unpack<Response>(answer.value());
        } catch (const std::exception& error) {
          result.failure = Failure::kHandlerThrew;
          result.error = absl::StrCat("the handler's reply is not a halo::serve::Response: ", error.what());
        }
        done(std::move(result));
      });
  const int was_starting = starting_.fetch_sub(1);  // registered in calls (SendTo began it)
  HALO_CHECK(was_starting > 0) << "a call registered that TakeSequence did not hand out";
}

}  // namespace halo::serve
