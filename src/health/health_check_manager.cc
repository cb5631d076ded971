#include "health/health_check_manager.h"

namespace halo::health {

HealthCheckManager::~HealthCheckManager() {
  for (auto& [id, check] : nodes_) {
    if (check.timer != 0) executor_.Cancel(check.timer);
  }
}

void HealthCheckManager::AddNode(const std::string& node_id, const std::string& address) {
  if (nodes_.count(node_id)) return;
  NodeCheck& check = nodes_[node_id];
  check.address = address;
  check.generation = next_generation_++;
  Schedule(node_id, check, settings_.initial_delay_ms);
}

void HealthCheckManager::AddSuspectedNode(const std::string& node_id, const std::string& address) {
  if (nodes_.count(node_id)) return;
  AddNode(node_id, address);
  NodeCheck& check = nodes_.at(node_id);
  executor_.Cancel(check.timer);
  check.failures = 1;
  Schedule(node_id, check, settings_.period_ms);
}

void HealthCheckManager::RemoveNode(const std::string& node_id) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  if (it->second.timer != 0) executor_.Cancel(it->second.timer);
  nodes_.erase(it);
  prober_.Forget(node_id);
}

void HealthCheckManager::OnConnectionLost(const std::string& node_id) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || it->second.probe_in_flight) return;
  if (it->second.timer != 0) {
    executor_.Cancel(it->second.timer);
    it->second.timer = 0;
  }
  StartProbe(node_id);
}

int HealthCheckManager::ConsecutiveFailures(const std::string& node_id) const {
  auto it = nodes_.find(node_id);
  return it == nodes_.end() ? 0 : it->second.failures;
}

void HealthCheckManager::Schedule(const std::string& node_id, NodeCheck& check, int64_t delay_ms) {
  check.timer = executor_.RunAfter(delay_ms, [this, node_id, generation = check.generation] {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end() || it->second.generation != generation) return;
    it->second.timer = 0;
    StartProbe(node_id);
  });
}

void HealthCheckManager::StartProbe(const std::string& node_id) {
  NodeCheck& check = nodes_.at(node_id);
  check.probe_in_flight = true;
  prober_.Probe(node_id, check.address, settings_.timeout_ms,
                [this, node_id, generation = check.generation](bool healthy) {
                  OnProbeResult(node_id, generation, healthy);
                });
}

void HealthCheckManager::OnProbeResult(const std::string& node_id, uint64_t generation, bool healthy) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || it->second.generation != generation) return;  // removed meanwhile
  NodeCheck& check = it->second;
  check.probe_in_flight = false;
  if (healthy) {
    const bool was_suspected = check.failures > 0;
    check.failures = 0;
    Schedule(node_id, check, settings_.period_ms);
    if (was_suspected) listener_.OnNodeRecovered(node_id);
    return;
  }
  ++check.failures;
  if (check.failures >= settings_.failure_threshold) {
    nodes_.erase(it);
    prober_.Forget(node_id);
    listener_.OnNodeFailed(node_id);
    return;
  }
  Schedule(node_id, check, settings_.period_ms);
  if (check.failures == 1) listener_.OnNodeSuspected(node_id);
}

}  // namespace halo::health
