#include "gcs/node_lease_table.h"

#include <algorithm>
#include <cstdint>

#include "common/check.h"

namespace halo::gcs {

void NodeLeaseTable::Track(const std::string& node_id, int64_t now_ms, uint64_t lowest_version) {
  if (nodes_.count(node_id) > 0) return;
  Node& node = nodes_[node_id];
  node.last_grant_ms = now_ms;
  node.low_version = lowest_version;
}

void NodeLeaseTable::OnRenew(const std::string& node_id, uint64_t seq, uint64_t acked_seq, uint64_t version,
                             int64_t now_ms) {
  Node& node = nodes_[node_id];
  if (auto acked = node.unacked.find(acked_seq); acked != node.unacked.end()) {
    // It received that grant at some moment before now: from then until granted + 0.9 * vouch_after_ms it
    // does not vouch (its own clock may run up to 10 % off ours).
    const int64_t start = now_ms;
    const int64_t end = acked->second.granted_ms + settings_.vouch_after_ms - settings_.vouch_after_ms / 10;
    if (end > start) {
      if (node.covered_since_ms >= 0 && node.covered_until_ms >= start) {
        node.covered_until_ms = std::max(node.covered_until_ms, end);
      } else {
        node.covered_since_ms = start;
        node.covered_until_ms = end;
      }
    }
    node.low_version = acked->second.version;
    node.unacked.erase(node.unacked.begin(), std::next(acked));
  }
  node.unacked[seq] = Grant{now_ms, version};
  while (static_cast<int64_t>(node.unacked.size()) > settings_.grants_remembered_max) {
    node.unacked.erase(node.unacked.begin());
  }
  node.last_grant_ms = std::max(node.last_grant_ms, now_ms);
  node.high_version = std::max(node.high_version, version);
  node.granted_here = true;
  HALO_DCHECK(node.low_version <= node.high_version) << node_id;
}

void NodeLeaseTable::MarkDead(const std::string& node_id, int64_t now_ms) {
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    const bool stale = it->second.dead_since_ms >= 0 && it->second.dead_since_ms < now_ms - 2 * settings_.lease_ms;
    it = stale ? nodes_.erase(it) : std::next(it);
  }
  Node& node = nodes_[node_id];
  if (node.dead_since_ms < 0) node.dead_since_ms = now_ms;
}

int64_t NodeLeaseTable::LeaseLapsesAtMs(const std::string& node_id) const {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return INT64_MAX;
  // The node serves until (its send time) + 0.9 * lease_ms on its clock; the send preceded our grant, and
  // 0.9 * lease on a clock up to 10 % slow is at most lease_ms on ours.
  return it->second.last_grant_ms + settings_.lease_ms;
}

int64_t NodeLeaseTable::CertainlyFencedAtMs(const std::string& node_id) const {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return INT64_MAX;
  // Its last vouched extension was asked for within vouch_limit_ms of sending the request of its last grant
  // (before our grant) and reaches 0.9 * lease_ms further, on a clock up to 10 % slow: vouch_limit_ms * 10 / 9
  // + lease_ms on ours.
  return it->second.last_grant_ms + settings_.vouch_limit_ms + settings_.vouch_limit_ms / 9 + 1 + settings_.lease_ms;
}

bool NodeLeaseTable::DiedWithinMs(const std::string& node_id, int64_t ms, int64_t now_ms) const {
  auto it = nodes_.find(node_id);
  return it != nodes_.end() && it->second.dead_since_ms >= 0 && it->second.dead_since_ms > now_ms - ms;
}

bool NodeLeaseTable::QuietThroughout(const std::string& node_id, int64_t from_ms, int64_t to_ms,
                                     bool dead_if_untracked) const {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return dead_if_untracked;
  const Node& node = it->second;
  if (node.dead_since_ms >= 0) {
    if (node.dead_since_ms <= from_ms) return true;
    to_ms = std::min(to_ms, node.dead_since_ms);  // silent from its death on; before, only coverage tells
  }
  return node.covered_since_ms >= 0 && node.covered_since_ms <= from_ms && node.covered_until_ms >= to_ms;
}

std::pair<uint64_t, uint64_t> NodeLeaseTable::VersionsHeld(const std::string& node_id,
                                                           uint64_t current_version) const {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return {0, current_version};
  const Node& node = it->second;
  if (!node.granted_here) return {node.low_version, current_version};
  return {std::min(node.low_version, node.high_version), node.high_version};
}

}  // namespace halo::gcs
