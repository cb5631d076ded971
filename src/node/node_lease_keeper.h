// The node agent's side of its lease (the protocol is described in gcs/node_lease_table.h). Renews with the
// GCS every renew_interval_ms; a grant for a request sent at t extends the deadline to t + 0.9 * lease_ms
// (the 0.1 is clock_margin_percent).
// Having heard no grant for vouch_after_ms, it asks the members of the membership in its last grant to
// vouch; a strict majority (itself included) extends the deadline by 0.9 * lease_ms from when it asked, for
// at most vouch_limit_ms after the request of its last grant was sent. The
// lease length is the GCS's (from its last grant), so the GCS's arithmetic and the node's always agree.
// It answers others' vouch requests by the same test. At the deadline it is fenced for good: it tells its
// listener (which stops every worker and ends the agent) and never serves, renews or vouches again, even
// if a late grant arrives. A refusal from the GCS (the node is dead or unknown) is passed on as such.
// Event-driven on the agent's executor; clock, the GCS and peers are handed in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/executor.h"
#include "common/status.h"
#include "rpc/gcs_node_client.h"
#include "proto/node.pb.h"

namespace halo::node {

struct NodeLeaseKeeperSettings {
  int64_t lease_ms = 2500;
  int64_t renew_interval_ms = 250;
  int64_t vouch_after_ms = 1000;
  // The part of every lease the node gives up for clock-rate differences: it serves until send time +
  // (100 - this) % of the lease on its own clock. The GCS's arithmetic (gcs/node_lease_table) assumes 10;
  // only the simulator's mutation test changes it.
  int64_t clock_margin_percent = 10;
  // Vouching extends the lease at most this long after the request of the last grant was sent (the GCS
  // relies on it: gcs/node_lease_table.h): the node agent's gcs_reconnect_timeout_ms.
  int64_t vouch_limit_ms = 60000;
};

class VouchPeers {
 public:
  virtual ~VouchPeers() = default;
  // done on the agent's executor, once; fails after timeout_ms.
  virtual void Vouch(const std::string& address, const rpc::VouchRequest& request, int64_t timeout_ms,
                     std::function<void(StatusOr<rpc::VouchReply>)> done) = 0;
};

class NodeLeaseListener {
 public:
  virtual ~NodeLeaseListener() = default;
  // The deadline (monotonic ms) until which this node's workers may serve moved.
  virtual void OnDeadline(int64_t deadline_ms) = 0;
  // The deadline passed without renewal: stop every worker now and end the agent.
  virtual void OnLapsed(const std::string& why) = 0;
  // The GCS refused the renewal: the node was declared dead (or is unknown).
  virtual void OnRefused(const std::string& why) = 0;
};

class NodeLeaseKeeper {
 public:
  NodeLeaseKeeper(Executor& executor, Clock& clock, GcsNodeClient& gcs, VouchPeers& peers, std::string node_id,
                  NodeLeaseKeeperSettings settings, NodeLeaseListener& listener);
  ~NodeLeaseKeeper();

  // Begins renewing (call once the node is registered).
  void Start();
  // Ends the lease for good without telling the listener it lapsed (the agent is leaving): no serving, no
  // renewing, no vouching from now on.
  void Fence();
  // Answers a peer's vouch request: yes only while its own lease holds and it has heard no grant for
  // vouch_after_ms.
  rpc::VouchReply HandleVouch(const rpc::VouchRequest& request) const;

  int64_t deadline_ms() const { return deadline_ms_; }
  bool fenced() const { return fenced_; }
  uint64_t membership_version() const { return version_; }
  size_t members() const { return member_ids_.size(); }

 private:
  void Renew();
  void OnRenewed(uint64_t seq, int64_t sent_ms, StatusOr<rpc::RenewNodeLeaseReply> reply);
  void AskPeers();
  void Extend(int64_t new_deadline_ms);
  void ArmLapse();
  void Lapse();
  bool HearsNoGrants() const;

  Executor& executor_;
  Clock& clock_;
  GcsNodeClient& gcs_;
  VouchPeers& peers_;
  const std::string node_id_;
  const NodeLeaseKeeperSettings settings_;
  NodeLeaseListener& listener_;
  bool started_ = false;
  bool fenced_ = false;
  bool refused_ = false;
  int64_t deadline_ms_ = 0;
  int64_t last_grant_ms_ = 0;   // when the latest grant arrived (starts as the start time)
  int64_t granted_sent_ms_ = 0;  // when the request of the latest grant was sent (starts as the start time)
  uint64_t next_seq_ = 1;
  uint64_t acked_seq_ = 0;      // the latest request whose grant arrived
  uint64_t version_ = 0;
  int64_t lease_ms_;            // as the GCS last granted it (settings_.lease_ms before the first grant)
  std::vector<std::string> member_ids_;
  std::vector<std::string> member_addresses_;
  bool round_in_flight_ = false;
  uint64_t round_ = 0;
  TimerId renew_timer_ = 0;
  TimerId lapse_timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // callbacks after destruction are dropped
};

}  // namespace halo::node
