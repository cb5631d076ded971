// ReplicaCaller over Halo's actor calls: the request goes straight to the replica's worker as one call of the
// deployment's handler method (PushActorTasks; never through the GCS). The ingress is one caller of each
// replica instance: its calls carry that caller's next sequence number and the lowest one still unfinished,
// so the replica keeps no state per request (it runs calls one at a time anyway). What the worker says maps to the
// ingress's outcomes: refused (another instance lives there now) or unreachable -> not delivered; the call
// broke after it was sent, or the actor died during it -> lost; the handler threw -> its type and message.
// Batching: at most one push is out to a replica instance at a time. A call made while one is out waits here
// and leaves with the calls queued beside it in the next push (up to calls_per_push_max), as soon as the push
// out is answered; so a lone call goes at once, and under load one push carries many calls. A queued call
// that never left counts as not delivered if its instance is let go. The queue needs no bound of its own: the
// ingress's route table hands a replica at most max_ongoing_requests calls at once (and serve_connections_max
// bounds the requests of an ingress), and every queued call is one of those.
// Retain(routes) is told each new set of routes: calls still waiting on a replica instance the routes no longer
// list (its node died, it was replaced or stopped) are interrupted and end as lost at once, and queued ones
// as not delivered, instead of hanging until their deadline on a host that may never answer; what the caller
// kept for that instance is dropped.
// Thread-safe; callbacks run on gRPC's threads.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "proto/core.pb.h"
#include "rpc/async_call.h"
#include "rpc/peer_cache.h"
#include "serve/http_ingress.h"

namespace halo::serve {

class ActorReplicaCaller : public ReplicaCaller {
 public:
  // handler: the method HALO_DEPLOYMENT registered ("&Greeter::Handle"), for replicas that do not name theirs;
  // caller_prefix: unique per process; calls_per_push_max: the most calls one push carries (>= 1).
  ActorReplicaCaller(std::string handler, std::string caller_prefix, int64_t calls_per_push_max = 64);
  ~ActorReplicaCaller() override;

  void Call(const ReplicaInfo& replica, const Request& request, int64_t timeout_ms,
            std::function<void(Result)> done) override;
  // The replica instances the routes list now; every other one is let go (see above).
  void Retain(const std::vector<DeploymentRoute>& routes);

  // Replica instances this caller keeps an order for (tests).
  size_t known_replicas();
  // Pushes sent so far (tests, benchmarks: fewer than the calls when calls shared pushes).
  uint64_t pushes_sent() const { return pushes_sent_.load(); }

 private:
  struct Stubs;
  // A call made, not sent yet.
  struct Queued {
    rpc::TaskSpec call;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(Result)> done;
  };
  // This caller's order of calls to one replica instance, and those calls while they run.
  struct Order {
    uint64_t generation = 0;  // unique per Order made: a push's answer finds its own order, not a successor
    int32_t instance = 0;
    uint64_t next = 0;
    std::set<uint64_t> unfinished;
    std::shared_ptr<rpc_util::InFlight> calls;
    bool pushing = false;  // a push is out: new calls queue for the next one
    std::deque<Queued> queued;
  };
  // One push about to be sent.
  struct Push {
    ReplicaInfo replica;
    uint64_t generation = 0;
    uint64_t start = 0;
    std::vector<Queued> calls;
    std::shared_ptr<rpc_util::InFlight> in_flight;
  };

  // The order for the replica's instance (a new instance starts a new order: the old one's queued calls go to
  // *dropped, its calls out to *replaced). Requires mutex_.
  Order& OrderFor(const ReplicaInfo& replica, std::vector<Queued>* dropped,
                  std::shared_ptr<rpc_util::InFlight>* replaced);
  // Takes up to calls_per_push_max queued calls of the order into a push. Requires mutex_ and order.pushing.
  Push TakePush(const ReplicaInfo& replica, Order& order);
  void Send(Push push);
  // The push of that order generation was answered: its calls are finished; the next push leaves, if any.
  void Answered(const ReplicaInfo& replica, uint64_t generation, const std::vector<uint64_t>& sequences);
  std::shared_ptr<rpc_util::InFlight> NewCalls();
  static void FailUndelivered(std::vector<Queued> calls, const std::string& why);

  std::string handler_;
  std::string caller_prefix_;
  size_t calls_per_push_max_;
  std::atomic<uint64_t> next_call_{1};
  std::atomic<uint64_t> pushes_sent_{0};
  std::atomic<int> starting_{0};  // pushes handed an order's InFlight that have not registered in it yet
  std::unique_ptr<rpc_util::PeerCache<Stubs>> peers_;
  class DirectExecutor;
  std::unique_ptr<DirectExecutor> direct_;
  std::mutex mutex_;
  uint64_t next_generation_ = 1;
  std::unordered_map<std::string, Order> orders_;  // by replica (actor) id
  std::vector<std::shared_ptr<rpc_util::InFlight>> retired_;  // calls of orders let go, until they end
};

}  // namespace halo::serve
