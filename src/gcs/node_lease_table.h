// The GCS's record of node leases, and the rule for when an unreachable node may be declared dead.
//
// The protocol (node side: node/node_lease_keeper.h):
// - A node agent renews its lease every renew interval. A grant for a request it sent at t (its clock) lets
//   it, and through it its workers, serve until t + 0.9 * lease_ms (10 % margin for clock rates).
// - An agent that has heard no grant for vouch_after_ms asks the members of the membership it last heard
//   (the version in its last grant) to vouch; a member vouches only if it too has heard no grant for
//   vouch_after_ms. A strict majority of that membership (itself included) extends its lease by
//   0.9 * lease_ms from when it asked: the GCS is down for most of the cluster, which then keeps serving.
//   Vouching extends a lease for at most vouch_limit_ms (gcs_reconnect_timeout_ms) after the node sent the
//   request of its last grant: no GCS outage is survived longer than that.
// - Without a grant or a majority it stops every worker at its deadline and exits.
// The GCS may declare node X dead without proof its processes are gone only when (a) X's own lease has
// lapsed (lease_ms after the last grant this GCS made it, or after this GCS started), and (b) for every
// membership version X may hold, at most half of that membership could have vouched during the last
// lease_ms: a member counts as quiet only while acknowledged grants cover it (a member that received a grant
// at g does not vouch before g + vouch_after_ms) or once it is dead. X counts as a voucher. So no majority
// can have extended X when the GCS declares it dead, and a GCS that reaches only a minority declares no one
// dead. Whatever vouched, X is dead once vouch_limit_ms * 10 / 9 + lease_ms passed since its last grant
// (this bounds the wait when a majority went silent at once, say a lone node powered off). This class keeps the per-node facts (grants, acknowledgements, coverage); NodeManager applies (b)
// with the membership it owns. Pure bookkeeping: time is handed in.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace halo::gcs {

struct NodeLeaseSettings {
  int64_t lease_ms = 2500;
  int64_t renew_interval_ms = 250;
  int64_t vouch_after_ms = 1000;
  int64_t worker_lease_ms = 500;  // a dead agent's workers stop within this (proof path)
  // Vouching extends a node's lease at most this long after it sent the request of its last grant (the node
  // agent's gcs_reconnect_timeout_ms): a node silent for longer has certainly stopped, vouched for or not.
  int64_t vouch_limit_ms = 60000;
  int64_t grants_remembered_max = 64;  // unacknowledged grants kept per node; older ones count as unacked
};

class NodeLeaseTable {
 public:
  explicit NodeLeaseTable(NodeLeaseSettings settings) : settings_(settings) {}

  // A node this GCS did not grant may hold a lease from an earlier GCS: counted as granted at now_ms.
  // lowest_version: the lowest membership version it may hold (its join version).
  void Track(const std::string& node_id, int64_t now_ms, uint64_t lowest_version);
  // The node was declared dead at now_ms: from then on it vouches for no one (its agent stops or has
  // stopped), but vouches it gave before still count. Entries of nodes dead for over twice the lease are
  // dropped.
  void MarkDead(const std::string& node_id, int64_t now_ms);
  // Declared dead less than ms before now_ms.
  bool DiedWithinMs(const std::string& node_id, int64_t ms, int64_t now_ms) const;

  // A renewal arrived at now_ms acknowledging acked_seq; the GCS grants seq with membership version.
  void OnRenew(const std::string& node_id, uint64_t seq, uint64_t acked_seq, uint64_t version, int64_t now_ms);

  // When the node's own lease has certainly lapsed (GCS monotonic ms); never, for a node not tracked (nothing
  // is known of its grants).
  int64_t LeaseLapsesAtMs(const std::string& node_id) const;
  // When the node has certainly stopped serving even if peers vouched for it all along (vouch_limit_ms);
  // INT64_MAX for a node not tracked.
  int64_t CertainlyFencedAtMs(const std::string& node_id) const;
  // Whether the node certainly did not vouch at any moment of [from_ms, to_ms]: acknowledged grants cover the
  // whole span, or the part of it before the node was declared dead. A dead node no longer tracked died more
  // than twice the lease ago (dead_if_untracked): silent.
  bool QuietThroughout(const std::string& node_id, int64_t from_ms, int64_t to_ms,
                       bool dead_if_untracked = false) const;
  // The membership versions the node may hold now: [low, high].
  std::pair<uint64_t, uint64_t> VersionsHeld(const std::string& node_id, uint64_t current_version) const;

  const NodeLeaseSettings& settings() const { return settings_; }

 private:
  struct Grant {
    int64_t granted_ms;
    uint64_t version;
  };
  struct Node {
    int64_t last_grant_ms = 0;
    std::map<uint64_t, Grant> unacked;  // by seq
    uint64_t low_version = 0;
    uint64_t high_version = 0;
    bool granted_here = false;          // this GCS granted it at least once (else high is "current")
    int64_t covered_since_ms = -1;      // -1: no coverage
    int64_t covered_until_ms = -1;
    int64_t dead_since_ms = -1;         // -1: not dead
  };
  NodeLeaseSettings settings_;
  std::map<std::string, Node> nodes_;
};

}  // namespace halo::gcs
