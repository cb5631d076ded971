// A node agent's HTTP ingress for services, assembled: the routing table, kept in step with the GCS by a
// RouteFollower over GrpcServeClient; requests handed to replicas' workers by an ActorReplicaCaller; the
// Beast server (HttpIngress); and a report of requests in flight per replica to the GCS every
// report_interval_ms (the autoscaler's input). Routes and reports run on the node's executor; HTTP on the
// ingress's own threads. The table outlives GCS outages: requests keep flowing to the replicas it knows.
#pragma once

#include <memory>
#include <string>

#include "common/executor.h"
#include "common/random.h"
#include "common/status.h"
#include "serve/actor_replica_caller.h"
#include "serve/grpc_serve_client.h"
#include "serve/http_ingress.h"
#include "serve/route_follower.h"
#include "serve/route_table.h"

namespace halo::serve {

struct NodeIngressOptions {
  std::string node_id;
  std::string gcs_addresses;
  IngressSettings http;
  RouteFollowerSettings follower;
  int64_t report_interval_ms = 1000;
  int64_t rpc_timeout_ms = 10000;
  int64_t calls_per_push_max = 64;
};

class NodeIngress {
 public:
  NodeIngress(Executor& executor, NodeIngressOptions options);
  ~NodeIngress();

  // Binds the HTTP port (an error names it when it is taken), then starts following routes. Not on the executor.
  Status Start();
  // Stops serving HTTP and following. Idempotent; not on the executor.
  void Stop();
  int port() const { return ingress_->port(); }
  // Hears of every answer the ingress sends (HttpIngress::SetAnswerObserver). Before Start.
  void SetAnswerObserver(HttpIngress::AnswerObserver observer) { ingress_->SetAnswerObserver(std::move(observer)); }

 private:
  void Report();

  Executor& executor_;
  NodeIngressOptions options_;
  SystemRandom random_;
  RouteTable table_;
  std::unique_ptr<GrpcServeClient> gcs_;
  std::unique_ptr<RouteFollower> follower_;
  std::unique_ptr<ActorReplicaCaller> caller_;
  std::unique_ptr<HttpIngress> ingress_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // touched on the executor only
  TimerId report_timer_ = 0;
  bool stopped_ = false;  // Stop ran (the caller's thread)
};

}  // namespace halo::serve
