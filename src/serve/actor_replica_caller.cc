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

// Lock order: a push's answer arrives holding its InFlight's mutex and then takes mutex_ (Answered); the next
// push of the same order registers in that InFlight again from inside the answer (the mutex is recursive).
// Nothing here touches an InFlight's mutex while holding mutex_.

namespace {

ReplicaCaller::Result OutcomeOf(const rpc::TaskResult& answer) {
  ReplicaCaller::Result result;
  if (answer.failed()) {
    const rpc::TaskError& error = answer.error();
    if (error.kind() == rpc::TASK_EXCEPTION) {
      result.failure = ReplicaCaller::Failure::kHandlerThrew;
      result.error = absl::StrCat(error.type_name(), ": ", error.message());
    } else {
      result.failure = ReplicaCaller::Failure::kLost;  // the actor died or exited during the call
      result.error = error.message();
    }
    return result;
  }
  if (answer.stored()) {  // a worker that ignores return_inline (an executable built with an older Halo)
    result.failure = ReplicaCaller::Failure::kHandlerThrew;
    result.error = "the replica stored its response instead of returning it (is the service built with this Halo?)";
    return result;
  }
  try {
    result.response = ::halo::internal::Unpack<Response>(answer.value());
  } catch (const std::exception& error) {
    result.failure = ReplicaCaller::Failure::kHandlerThrew;
    result.error = absl::StrCat("the handler's reply is not a halo::serve::Response: ", error.what());
  }
  return result;
}

}  // namespace

ActorReplicaCaller::ActorReplicaCaller(std::string handler, std::string caller_prefix, int64_t calls_per_push_max)
    : handler_(std::move(handler)),
      caller_prefix_(std::move(caller_prefix)),
      calls_per_push_max_(static_cast<size_t>(std::max<int64_t>(1, calls_per_push_max))),
      peers_(std::make_unique<rpc_util::PeerCache<Stubs>>(
          512, [](Stubs& stubs) { stubs.worker = rpc::CoreWorkerService::NewStub(stubs.channel); })),
      direct_(std::make_unique<DirectExecutor>()) {}

ActorReplicaCaller::~ActorReplicaCaller() {
  std::vector<std::shared_ptr<rpc_util::InFlight>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, order] : orders_) all.push_back(order.calls);
    all.insert(all.end(), retired_.begin(), retired_.end());
    orders_.clear();  // queued calls are dropped unanswered, like the answers of the calls cancelled below
  }
  for (auto& calls : all) calls->CancelAll();
}

std::shared_ptr<rpc_util::InFlight> ActorReplicaCaller::NewCalls() {
  auto calls = std::make_shared<rpc_util::InFlight>();
  calls->executor = direct_.get();
  return calls;
}

void ActorReplicaCaller::FailUndelivered(std::vector<Queued> calls, const std::string& why) {
  for (auto& queued : calls) {
    Result result;
    result.failure = Failure::kNotDelivered;
    result.error = why;
    queued.done(std::move(result));
  }
}

ActorReplicaCaller::Order& ActorReplicaCaller::OrderFor(const ReplicaInfo& replica, std::vector<Queued>* dropped,
                                                        std::shared_ptr<rpc_util::InFlight>* replaced) {
  auto [it, added] = orders_.try_emplace(replica.replica_id);
  Order& order = it->second;
  if (added || order.instance != replica.instance) {  // a new instance starts over
    if (!added) {
      *replaced = order.calls;
      retired_.push_back(order.calls);
      for (auto& queued : order.queued) dropped->push_back(std::move(queued));
    }
    order = Order{};
    order.generation = next_generation_++;
    order.instance = replica.instance;
    order.calls = NewCalls();
  }
  return order;
}

ActorReplicaCaller::Push ActorReplicaCaller::TakePush(const ReplicaInfo& replica, Order& order) {
  HALO_CHECK(order.pushing && !order.queued.empty()) << "a push taken with nothing to send or none due";
  Push push;
  push.replica = replica;
  push.generation = order.generation;
  push.start = *order.unfinished.begin();
  push.in_flight = order.calls;
  const size_t count = std::min(order.queued.size(), calls_per_push_max_);
  push.calls.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    push.calls.push_back(std::move(order.queued.front()));
    order.queued.pop_front();
  }
  starting_ += 1;  // until the push has registered in push.in_flight (Send)
  return push;
}

void ActorReplicaCaller::Retain(const std::vector<DeploymentRoute>& routes) {
  std::unordered_map<std::string, int32_t> listed;
  for (const auto& route : routes) {
    for (const auto& replica : route.replicas) listed[replica.replica_id] = replica.instance;
  }
  std::vector<std::shared_ptr<rpc_util::InFlight>> let_go, retired;
  std::vector<Queued> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = orders_.begin(); it != orders_.end();) {
      auto found = listed.find(it->first);
      if (found != listed.end() && found->second == it->second.instance) {
        ++it;
        continue;
      }
      let_go.push_back(it->second.calls);
      for (auto& queued : it->second.queued) dropped.push_back(std::move(queued));
      it = orders_.erase(it);
    }
    retired.swap(retired_);
  }
  FailUndelivered(std::move(dropped), "the replica is no longer routed to");
  for (auto& calls : let_go) calls->Interrupt();
  retired.insert(retired.end(), let_go.begin(), let_go.end());
  // Orders let go cannot be handed out again; once no push handed one out is still registering, an idle set
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

void ActorReplicaCaller::Call(const ReplicaInfo& replica, const Request& request, int64_t timeout_ms,
                              std::function<void(Result)> done) {
  Queued queued;
  queued.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  queued.done = std::move(done);
  rpc::TaskSpec& call = queued.call;
  call.set_task_id(absl::StrCat(caller_prefix_, "-req-", next_call_.fetch_add(1)));
  call.set_actor_id(replica.replica_id);
  call.set_function_name(replica.handler.empty() ? handler_ : replica.handler);
  call.set_return_inline(true);  // the response travels in the reply, whatever its size
  call.add_args()->set_value(::halo::internal::Pack(request));

  std::vector<Queued> dropped;
  std::shared_ptr<rpc_util::InFlight> replaced;
  std::optional<Push> push;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Order& order = OrderFor(replica, &dropped, &replaced);
    const uint64_t sequence = order.next++;
    call.set_sequence(sequence);
    order.unfinished.insert(sequence);
    order.queued.push_back(std::move(queued));
    if (!order.pushing) {  // nothing out: this call leaves at once
      order.pushing = true;
      push = TakePush(replica, order);
    }
  }
  FailUndelivered(std::move(dropped), "the replica was replaced by a new instance before the request was sent");
  if (replaced) replaced->Interrupt();  // calls to the instance before it cannot be answered
  if (push) Send(std::move(*push));
}

void ActorReplicaCaller::Send(Push push) {
  rpc::PushActorTasksRequest request;
  request.set_actor_id(push.replica.replica_id);
  request.set_instance(push.replica.instance);
  request.set_caller_id(caller_prefix_);
  request.set_start_sequence(push.start);
  const auto now = std::chrono::steady_clock::now();
  int64_t timeout_ms = 1;
  std::vector<uint64_t> sequences;
  std::vector<std::function<void(Result)>> dones;
  sequences.reserve(push.calls.size());
  dones.reserve(push.calls.size());
  for (auto& queued : push.calls) {
    // The push waits for its latest deadline; the ingress answers an earlier one's request with 504 itself.
    timeout_ms = std::max<int64_t>(
        timeout_ms, std::chrono::duration_cast<std::chrono::milliseconds>(queued.deadline - now).count());
    sequences.push_back(queued.call.sequence());
    dones.push_back(std::move(queued.done));
    *request.add_calls() = std::move(queued.call);
  }
  const size_t count = dones.size();
  pushes_sent_ += 1;
  rpc_util::SendTo<rpc::PushActorTasksReply>(
      push.in_flight, peers_->Get(push.replica.address), std::move(request), timeout_ms,
      [](Stubs& stubs, auto... call) { stubs.worker->async()->PushActorTasks(std::move(call)...); },
      [this, replica = push.replica, generation = push.generation, sequences = std::move(sequences),
       dones = std::move(dones), count](StatusOr<rpc::PushActorTasksReply> reply) {
        std::vector<Result> results(count);
        if (!reply.ok()) {
          const Failure failure = rpc_util::NotDelivered(reply.status()) ? Failure::kNotDelivered : Failure::kLost;
          for (auto& result : results) {
            result.failure = failure;
            result.error = std::string(reply.status().message());
          }
        } else if (!reply->refused().empty() || static_cast<size_t>(reply->results_size()) != count) {
          for (auto& result : results) {
            result.failure = Failure::kNotDelivered;  // not that instance: the requests never ran
            result.error = reply->refused().empty() ? "malformed reply" : reply->refused();
          }
        } else {
          for (size_t i = 0; i < count; ++i) results[i] = OutcomeOf(reply->results(static_cast<int>(i)));
        }
        // Answered or given up: later calls need not wait for these, and the next push may leave.
        Answered(replica, generation, sequences);
        for (size_t i = 0; i < count; ++i) dones[i](std::move(results[i]));
      });
  const int was_starting = starting_.fetch_sub(1);  // registered in push.in_flight (SendTo began it)
  HALO_CHECK(was_starting > 0) << "a push registered that TakePush did not hand out";
}

void ActorReplicaCaller::Answered(const ReplicaInfo& replica, uint64_t generation,
                                  const std::vector<uint64_t>& sequences) {
  std::optional<Push> next;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = orders_.find(replica.replica_id);
    if (it == orders_.end() || it->second.generation != generation) return;  // let go: its queue was answered
    Order& order = it->second;
    HALO_CHECK(order.pushing) << "a push answered while none was out";
    for (uint64_t sequence : sequences) order.unfinished.erase(sequence);
    if (order.queued.empty()) {
      order.pushing = false;
    } else {
      next = TakePush(replica, order);
    }
  }
  if (next) Send(std::move(*next));
}

}  // namespace halo::serve
