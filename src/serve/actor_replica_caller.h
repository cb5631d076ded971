// ReplicaCaller over Halo's actor calls: the request goes straight to the replica's worker as one call of the
// deployment's handler method (PushActorTasks; never through the GCS). The ingress is one caller of each
// replica instance: its calls carry that caller's next sequence number and the lowest one still unfinished,
// so the replica keeps no state per request (it runs calls one at a time anyway). What the worker says maps to the
// ingress's outcomes: refused (another instance lives there now) or unreachable -> not delivered; the call
// broke after it was sent, or the actor died during it -> lost; the handler threw -> its type and message.
// Retain(routes) is told each new set of routes: calls still waiting on a replica instance the routes no longer
// list (its node died, it was replaced or stopped) are interrupted and end as lost at once, instead of hanging
// until their deadline on a host that may never answer; what the caller kept for that instance is dropped.
// Thread-safe; callbacks run on gRPC's threads.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "rpc/async_call.h"
#include "rpc/peer_cache.h"
#include "serve/http_ingress.h"

namespace halo::serve {

class ActorReplicaCaller : public ReplicaCaller {
 public:
  // handler: the method HALO_DEPLOYMENT registered ("&Greeter::Handle"), for replicas that do not name theirs;
  // caller_prefix: unique per process.
  ActorReplicaCaller(std::string handler, std::string caller_prefix);
  ~ActorReplicaCaller() override;

  void Call(const ReplicaInfo& replica, const Request& request, int64_t timeout_ms,
            std::function<void(Result)> done) override;
  // The replica instances the routes list now; every other one is let go (see above).
  void Retain(const std::vector<DeploymentRoute>& routes);

  // Replica instances this caller keeps an order for (tests).
  size_t known_replicas();

 private:
  struct Stubs;
  // This caller's order of calls to one replica instance, and those calls while they run.
  struct Order {
    int32_t instance = 0;
    uint64_t next = 0;
    std::set<uint64_t> unfinished;
    std::shared_ptr<rpc_util::InFlight> calls;
  };
  // Takes the next sequence number for the replica; *start is the lowest unfinished one; *calls is where the
  // call registers.
  uint64_t TakeSequence(const ReplicaInfo& replica, uint64_t* start, std::shared_ptr<rpc_util::InFlight>* calls);
  void Finished(const ReplicaInfo& replica, uint64_t sequence);
  // Order.calls of a fresh order: delivers on direct_.
  std::shared_ptr<rpc_util::InFlight> NewCalls();

  std::string handler_;
  std::string caller_prefix_;
  std::atomic<uint64_t> next_call_{1};
  std::atomic<int> starting_{0};  // calls handed an order's InFlight that have not registered in it yet
  std::unique_ptr<rpc_util::PeerCache<Stubs>> peers_;
  class DirectExecutor;
  std::unique_ptr<DirectExecutor> direct_;
  std::mutex mutex_;
  std::unordered_map<std::string, Order> orders_;  // by replica (actor) id
  std::vector<std::shared_ptr<rpc_util::InFlight>> retired_;  // calls of orders let go, until they end
};

}  // namespace halo::serve
