// Keeps an ingress's RouteTable in step with the GCS: a held GetRoutes poll answered when the routes change
// (a new version, or another GCS incarnation after a restart or failover) replaces the table; while the GCS is
// down or failing over, polls are retried with backoff (retry_initial_ms doubling to retry_max_ms) and the
// table is kept as it is, so the ingress keeps serving the replicas it knows (it skips dead ones by itself,
// from broken calls). An answer that changes nothing is followed by the next poll after retry_initial_ms.
// After each replacement the listener (if set) sees the new routes.
// Event-driven on one executor; the GCS is reached through RoutesSource.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/backoff.h"
#include "common/executor.h"
#include "common/status.h"
#include "proto/serve.pb.h"
#include "serve/route_table.h"

namespace halo::serve {

class RoutesSource {
 public:
  virtual ~RoutesSource() = default;
  // done runs once, on the executor.
  virtual void Poll(const rpc::GetRoutesRequest& request, std::function<void(StatusOr<rpc::GetRoutesReply>)> done) = 0;
};

struct RouteFollowerSettings {
  int64_t wait_ms = 10000;
  int64_t retry_initial_ms = 100;
  int64_t retry_max_ms = 2000;
};

class RouteFollower {
 public:
  RouteFollower(Executor& executor, RoutesSource& source, RouteTable& table, RouteFollowerSettings settings);

  // Set before Start; runs on the executor after each table replacement.
  void SetReplacedListener(std::function<void(const std::vector<DeploymentRoute>&)> listener) {
    on_replaced_ = std::move(listener);
  }
  void Start();
  void Stop();

  uint64_t version() const { return version_; }
  const std::string& incarnation() const { return incarnation_; }
  int64_t failed_polls() const { return failed_polls_; }

  // The table's form of the GCS's routes.
  static std::vector<DeploymentRoute> ToRoutes(const rpc::GetRoutesReply& reply);

 private:
  void Poll();

  Executor& executor_;
  RoutesSource& source_;
  RouteTable& table_;
  RouteFollowerSettings settings_;
  std::function<void(const std::vector<DeploymentRoute>&)> on_replaced_;
  ExponentialBackoff backoff_;
  std::string incarnation_;
  uint64_t version_ = 0;
  int64_t failed_polls_ = 0;
  bool running_ = false;
};

}  // namespace halo::serve
