#include "serve/route_table.h"

#include "common/check.h"

namespace halo::serve {

bool RouteTable::Matches(const std::string& prefix, const std::string& path) {
  if (prefix == "/" || prefix.empty()) return true;
  if (path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/' || prefix.back() == '/';
}

void RouteTable::Replace(std::vector<DeploymentRoute> routes) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, Replica> replicas;
  routes_.clear();
  for (auto& route : routes) {
    Route entry;
    for (const auto& replica : route.replicas) {
      Replica& kept = replicas[replica.replica_id];
      auto old = replicas_.find(replica.replica_id);
      kept.ongoing = old == replicas_.end() ? 0 : old->second.ongoing;
      kept.info = replica;
      entry.replica_ids.push_back(replica.replica_id);
    }
    entry.route = std::move(route);
    entry.route.replicas.clear();
    routes_.push_back(std::move(entry));
  }
  // Requests still running on replicas that left finish with Done on an unknown id: a no-op.
  replicas_ = std::move(replicas);
}

void RouteTable::MarkUnhealthy(const std::string& replica_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = replicas_.find(replica_id);
  if (it != replicas_.end()) it->second.info.healthy = false;
}

RouteTable::Pick RouteTable::Choose(const std::string& path, const std::set<std::string>& exclude) {
  std::lock_guard<std::mutex> lock(mutex_);
  Pick pick;
  const Route* best = nullptr;
  for (const auto& route : routes_) {
    if (!Matches(route.route.route_prefix, path)) continue;
    if (best == nullptr || route.route.route_prefix.size() > best->route.route_prefix.size()) best = &route;
  }
  if (best == nullptr) return pick;  // kNoRoute
  pick.route_prefix = best->route.route_prefix;
  pick.deployment = best->route.deployment;
  std::vector<Replica*> healthy;
  std::vector<Replica*> free;
  for (const auto& id : best->replica_ids) {
    Replica& replica = replicas_.at(id);
    if (!replica.info.healthy || exclude.count(id) > 0) continue;
    healthy.push_back(&replica);
    if (replica.ongoing < best->route.max_ongoing_requests) free.push_back(&replica);
  }
  if (healthy.empty()) {
    pick.outcome = Outcome::kNoHealthyReplica;
    return pick;
  }
  if (free.empty()) {
    pick.outcome = Outcome::kAllBusy;
    return pick;
  }
  Replica* chosen = free[random_.Next64() % free.size()];
  if (free.size() > 1) {
    Replica* other = free[random_.Next64() % free.size()];
    if (other->ongoing < chosen->ongoing) chosen = other;
  }
  chosen->ongoing += 1;
  HALO_DCHECK(chosen->ongoing <= best->route.max_ongoing_requests);
  pick.outcome = Outcome::kPicked;
  pick.replica = chosen->info;
  return pick;
}

void RouteTable::Done(const std::string& replica_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = replicas_.find(replica_id);
  if (it != replicas_.end() && it->second.ongoing > 0) it->second.ongoing -= 1;
}

int64_t RouteTable::ongoing(const std::string& replica_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = replicas_.find(replica_id);
  return it == replicas_.end() ? 0 : it->second.ongoing;
}

std::map<std::string, int64_t> RouteTable::AllOngoing() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, int64_t> all;
  for (const auto& [id, replica] : replicas_) all[id] = replica.ongoing;
  return all;
}

size_t RouteTable::routes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return routes_.size();
}

}  // namespace halo::serve
