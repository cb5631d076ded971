#include "serve/deployment_reconciler.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"
#include "common/logging.h"

namespace halo::serve {

DeploymentReconciler::DeploymentReconciler(Executor& executor, Clock& clock, ReplicaDirectory& replicas,
                                           ReconcilerSettings settings)
    : executor_(executor), clock_(clock), directory_(replicas), settings_(settings) {
  HALO_CHECK(settings_.interval_ms > 0 && settings_.max_starts_per_round > 0);
}

DeploymentReconciler::~DeploymentReconciler() { *alive_ = false; }

void DeploymentReconciler::Deploy(const rpc::ServiceConfig& config, int64_t version) {
  std::set<std::string> kept;
  for (const auto& application : config.applications()) {
    for (const auto& deployment : application.deployments()) {
      const std::string key = Key(config.name(), deployment.name());
      kept.insert(key);
      auto [it, added] = deployments_.try_emplace(key);
      Deployment& entry = it->second;
      if (added || version > entry.version) {
        entry.service = config.name();
        entry.config = deployment;
        entry.version = version;  // replicas of older versions are replaced one by one
      }
    }
  }
  for (auto it = deployments_.begin(); it != deployments_.end();) {
    if (it->second.service == config.name() && kept.count(it->first) == 0) {
      for (const auto& replica : it->second.replicas) directory_.Stop(replica.actor_id);
      it = deployments_.erase(it);
    } else {
      ++it;
    }
  }
  executor_.Post([this, alive = alive_] {
    if (*alive) ReconcileNow();
  });
}

void DeploymentReconciler::Adopt(const std::string& service, const std::string& deployment,
                                 const std::string& actor_id, int64_t version) {
  auto it = deployments_.find(Key(service, deployment));
  if (it == deployments_.end()) {
    directory_.Stop(actor_id);  // a replica of a deployment that no longer exists
    return;
  }
  it->second.replicas.push_back(Replica{actor_id, version, 0});
}

void DeploymentReconciler::Delete(const std::string& service) {
  for (auto it = deployments_.begin(); it != deployments_.end();) {
    if (it->second.service != service) {
      ++it;
      continue;
    }
    for (const auto& replica : it->second.replicas) directory_.Stop(replica.actor_id);
    it = deployments_.erase(it);
  }
}

void DeploymentReconciler::ReportOngoing(const std::string& actor_id, int64_t ongoing) {
  for (auto& [key, deployment] : deployments_) {
    for (auto& replica : deployment.replicas) {
      if (replica.actor_id == actor_id) replica.ongoing = std::max<int64_t>(0, ongoing);
    }
  }
}

void DeploymentReconciler::Start() {
  if (started_) return;
  started_ = true;
  ReconcileNow();
  Schedule();
}

void DeploymentReconciler::Schedule() {
  executor_.RunAfter(settings_.interval_ms, [this, alive = alive_] {
    if (!*alive) return;
    ReconcileNow();
    Schedule();
  });
}

void DeploymentReconciler::ReconcileNow() {
  for (auto& [key, deployment] : deployments_) Reconcile(deployment);
}

int64_t DeploymentReconciler::Target(Deployment& deployment, int64_t now_ms) {
  const rpc::DeploymentConfig& config = deployment.config;
  if (!config.has_autoscaling()) return config.num_replicas();
  const rpc::AutoscalingConfig& scaling = config.autoscaling();
  int64_t ongoing = 0;
  for (const auto& replica : deployment.replicas) ongoing += replica.ongoing;
  int64_t wanted = static_cast<int64_t>(std::ceil(static_cast<double>(ongoing) / scaling.target_ongoing_requests()));
  wanted = std::clamp<int64_t>(wanted, scaling.min_replicas(), scaling.max_replicas());
  if (deployment.autoscale_target < 0) deployment.autoscale_target = scaling.min_replicas();
  deployment.autoscale_target =
      std::clamp<int64_t>(deployment.autoscale_target, scaling.min_replicas(), scaling.max_replicas());
  if (wanted > deployment.autoscale_target) {
    deployment.autoscale_target = wanted;  // up at once
    deployment.wants_fewer_since_ms.reset();
  } else if (wanted < deployment.autoscale_target) {
    if (!deployment.wants_fewer_since_ms) deployment.wants_fewer_since_ms = now_ms;
    if (now_ms - *deployment.wants_fewer_since_ms >= settings_.downscale_delay_ms) {
      deployment.autoscale_target = wanted;  // down only once it has wanted less for a while
      deployment.wants_fewer_since_ms.reset();
    }
  } else {
    deployment.wants_fewer_since_ms.reset();
  }
  return deployment.autoscale_target;
}

void DeploymentReconciler::StopReplica(Deployment& deployment, size_t index) {
  directory_.Stop(deployment.replicas[index].actor_id);
  deployment.replicas.erase(deployment.replicas.begin() + static_cast<std::ptrdiff_t>(index));
}

void DeploymentReconciler::StartOne(const std::string& key, Deployment& deployment,
                                    const std::set<std::string>& avoid) {
  deployment.starting += 1;
  const int64_t version = deployment.version;
  directory_.Create(deployment.service, deployment.config, version, avoid,
                    [this, alive = alive_, key, version](StatusOr<std::string> actor_id) {
                      if (!*alive) return;
                      auto it = deployments_.find(key);
                      if (it == deployments_.end()) {
                        if (actor_id.ok()) directory_.Stop(*actor_id);  // deleted meanwhile
                        return;
                      }
                      it->second.starting -= 1;
                      HALO_CHECK(it->second.starting >= 0);
                      if (!actor_id.ok()) {
                        SPDLOG_WARN("could not start a replica of {}: {} (retried next round)", key,
                                    std::string(actor_id.status().message()));
                        return;
                      }
                      it->second.replicas.push_back(Replica{*actor_id, version, 0});
                    });
}

void DeploymentReconciler::Reconcile(Deployment& deployment) {
  const std::string key = Key(deployment.service, deployment.config.name());
  // Replicas gone for good are forgotten; those failing health checks are stopped. Both are replaced.
  std::map<std::string, ReplicaView> views;
  for (size_t i = deployment.replicas.size(); i-- > 0;) {
    const std::string& id = deployment.replicas[i].actor_id;
    std::optional<ReplicaView> view = directory_.Describe(id);
    if (!view || view->state == rpc::ACTOR_DEAD) {
      if (on_replaced_) on_replaced_(key, id, view ? "its actor died" : "its actor is gone");
      deployment.replicas.erase(deployment.replicas.begin() + static_cast<std::ptrdiff_t>(i));
      deployment.replaced += 1;
      continue;
    }
    if (!view->healthy) {
      SPDLOG_INFO("replica {} of {} fails its health checks: replaced", id, key);
      if (on_replaced_) on_replaced_(key, id, "it failed its health checks");
      StopReplica(deployment, i);
      deployment.replaced += 1;
      continue;
    }
    views[id] = *view;
  }
  const int64_t target = Target(deployment, clock_.MonotonicMs());
  deployment.last_target = target;
  // Replicas started during this round are not in views yet: they are being made.
  const ReplicaView being_made;
  auto view_of = [&](const Replica& replica) -> const ReplicaView& {
    auto it = views.find(replica.actor_id);
    return it == views.end() ? being_made : it->second;
  };
  auto leaving = [&](const Replica& replica) {
    return replica.version < deployment.version || view_of(replica).node_draining;
  };
  auto alive = [&](const Replica& replica) { return view_of(replica).state == rpc::ACTOR_ALIVE; };
  int64_t current_live = 0, current_alive = 0, old_live = 0, old_alive = 0;
  std::set<std::string> nodes;
  for (const auto& replica : deployment.replicas) {
    if (!view_of(replica).node_id.empty()) nodes.insert(view_of(replica).node_id);
    if (leaving(replica)) {
      old_live += 1;
      old_alive += alive(replica) ? 1 : 0;
    } else {
      current_live += 1;
      current_alive += alive(replica) ? 1 : 0;
    }
  }
  // Start what the target lacks; while old replicas remain, at most one more than the target at once.
  const int64_t ceiling = old_live > 0 ? target + 1 : target;
  const int64_t to_start =
      std::min({settings_.max_starts_per_round - deployment.starting, target - current_live - deployment.starting,
                ceiling - (current_live + old_live + deployment.starting)});
  for (int64_t i = 0; i < to_start; ++i) StartOne(key, deployment, nodes);
  // Old replicas leave while the rest still carries the target: draining ones first, then older versions.
  while (old_live > 0) {
    size_t victim = deployment.replicas.size();
    for (size_t i = 0; i < deployment.replicas.size(); ++i) {
      const Replica& replica = deployment.replicas[i];
      if (!leaving(replica)) continue;
      const bool better = victim == deployment.replicas.size() ||
                          (!alive(replica) && alive(deployment.replicas[victim])) ||
                          (view_of(replica).node_draining && !view_of(deployment.replicas[victim]).node_draining);
      if (better) victim = i;
    }
    HALO_CHECK(victim < deployment.replicas.size());
    const bool victim_alive = alive(deployment.replicas[victim]);
    if (current_alive + old_alive - (victim_alive ? 1 : 0) < target) break;
    StopReplica(deployment, victim);
    old_live -= 1;
    old_alive -= victim_alive ? 1 : 0;
  }
  // Too many of the current version (the target went down): the ones not serving yet go first, then the newest.
  if (old_live == 0) {
    for (int64_t extra = current_live - target; extra > 0; --extra) {
      size_t victim = deployment.replicas.size() - 1;
      for (size_t i = deployment.replicas.size(); i-- > 0;) {
        if (!alive(deployment.replicas[i])) {
          victim = i;
          break;
        }
      }
      StopReplica(deployment, victim);
    }
  }
}

std::vector<DeploymentStatus> DeploymentReconciler::Status() const {
  std::vector<DeploymentStatus> out;
  for (const auto& [key, deployment] : deployments_) {
    DeploymentStatus status;
    status.service = deployment.service;
    status.deployment = deployment.config.name();
    status.version = deployment.version;
    status.target = deployment.last_target;
    status.starting = deployment.starting;
    status.replaced = deployment.replaced;
    for (const auto& replica : deployment.replicas) {
      status.actor_ids.push_back(replica.actor_id);
      std::optional<ReplicaView> view = directory_.Describe(replica.actor_id);
      if (!view) continue;
      if (!view->node_id.empty()) status.nodes.insert(view->node_id);
      if (replica.version == deployment.version && view->state == rpc::ACTOR_ALIVE && view->healthy) {
        status.healthy += 1;
      }
    }
    out.push_back(std::move(status));
  }
  return out;
}

std::vector<std::string> DeploymentReconciler::Replicas(const std::string& service,
                                                        const std::string& deployment) const {
  std::vector<std::string> alive, others;
  auto it = deployments_.find(Key(service, deployment));
  if (it == deployments_.end()) return {};
  for (const auto& replica : it->second.replicas) {
    std::optional<ReplicaView> view = directory_.Describe(replica.actor_id);
    (view && view->state == rpc::ACTOR_ALIVE ? alive : others).push_back(replica.actor_id);
  }
  alive.insert(alive.end(), others.begin(), others.end());
  return alive;
}

std::vector<ReplicaMember> DeploymentReconciler::Members(const std::string& service) const {
  std::vector<ReplicaMember> members;
  for (const auto& [key, deployment] : deployments_) {
    if (deployment.service != service) continue;
    for (const auto& replica : deployment.replicas) {
      members.push_back(ReplicaMember{deployment.config.name(), replica.actor_id, replica.version});
    }
  }
  return members;
}

}  // namespace halo::serve
