#include "serve/route_follower.h"

namespace halo::serve {

RouteFollower::RouteFollower(Executor& executor, RoutesSource& source, RouteTable& table,
                             RouteFollowerSettings settings)
    : executor_(executor),
      source_(source),
      table_(table),
      settings_(settings),
      backoff_(settings.retry_initial_ms, settings.retry_max_ms) {}

void RouteFollower::Start() {
  if (running_) return;
  running_ = true;
  Poll();
}

void RouteFollower::Stop() { running_ = false; }

std::vector<DeploymentRoute> RouteFollower::ToRoutes(const rpc::GetRoutesReply& reply) {
  std::vector<DeploymentRoute> routes;
  for (const auto& info : reply.routes()) {
    DeploymentRoute route;
    route.service = info.service();
    route.application = info.application();
    route.deployment = info.deployment();
    route.route_prefix = info.route_prefix();
    route.max_ongoing_requests = info.max_ongoing_requests();
    for (const auto& replica : info.replicas()) {
      route.replicas.push_back(
          ReplicaInfo{replica.actor_id(), replica.address(), replica.healthy(), replica.instance(), info.handler()});
    }
    routes.push_back(std::move(route));
  }
  return routes;
}

void RouteFollower::Poll() {
  if (!running_) return;
  rpc::GetRoutesRequest request;
  request.set_incarnation(incarnation_);
  request.set_known_version(version_);
  request.set_wait_ms(settings_.wait_ms);
  source_.Poll(request, [this](StatusOr<rpc::GetRoutesReply> reply) {
    if (!running_) return;
    if (!reply.ok()) {
      failed_polls_ += 1;  // the GCS is down or moving: the table stays as it is
      executor_.RunAfter(backoff_.NextDelayMs(), [this] { Poll(); });
      return;
    }
    backoff_.Reset();
    if (reply->incarnation() != incarnation_ || reply->version() != version_) {
      incarnation_ = reply->incarnation();
      version_ = reply->version();
      std::vector<DeploymentRoute> routes = ToRoutes(*reply);
      table_.Replace(routes);
      if (on_replaced_) on_replaced_(routes);
      Poll();
      return;
    }
    // Nothing changed (the GCS held the poll, or answered at once): a pause, so an answer that comes back at
    // once never becomes a busy loop.
    executor_.RunAfter(settings_.retry_initial_ms, [this] { Poll(); });
  });
}

}  // namespace halo::serve
