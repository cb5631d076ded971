// Cluster membership: the node table. Registers nodes, records every state change (ALIVE, SUSPECTED,
// DRAINING, DEAD with a reason and time) in storage before publishing it or acknowledging a call, starts and
// stops health checks, and keeps at most dead_nodes_max dead nodes (the oldest are forgotten).
// A node declared dead never comes back under its id: its registration is refused.
// Decisions are applied to the in-memory table at once (so later decisions see them); events go out, and
// calls are answered, only once the change is durable, in decision order.
// Event-driven on the GCS executor; no gRPC types.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/executor.h"
#include "health/health_check_manager.h"
#include "gcs/event_log.h"
#include "gcs/node_event_publisher.h"
#include "gcs/node_lease_table.h"
#include "proto/node.pb.h"
#include "rpc/state_names.h"
#include "storage/store_client.h"

namespace halo::gcs {

// Tells whether a node agent's process is certainly gone: its host answers but its port refuses.
class GoneProver {
 public:
  virtual ~GoneProver() = default;
  // done(true) only on that proof; false on a timeout, an unreachable host or an answer. On the executor.
  virtual void ProveGone(const std::string& address, std::function<void(bool gone)> done) = 0;
};

class NodeManager : public health::HealthCheckListener {
 public:
  NodeManager(StoreClient& store, Executor& executor, Clock& clock, std::string cluster_id, int64_t dead_nodes_max)
      : store_(store), executor_(executor), clock_(clock), cluster_id_(std::move(cluster_id)),
        dead_nodes_max_(dead_nodes_max) {}
  ~NodeManager() override;

  // Wiring, once, before Initialize.
  void SetCollaborators(health::HealthCheckManager* health, NodeEventPublisher* publisher) {
    health_ = health;
    publisher_ = publisher;
  }
  // Node leases (gcs/node_lease_table.h), once, before Initialize. Without them a node is declared dead as
  // soon as its health checks fail. prover (may be null) tells whether a node agent's process is certainly
  // gone (its port refuses connections), which lets it be declared dead before its lease lapses.
  void SetLeasePolicy(NodeLeaseSettings settings, GoneProver* prover) {
    leases_ = std::make_unique<NodeLeaseTable>(settings);
    gone_prover_ = prover;
  }
  // Grants only while allowed() holds (head candidates: while this GCS certainly leads). Default: always.
  void SetGrantGuard(std::function<bool()> allowed) { may_grant_ = std::move(allowed); }
  // Called when a node record cannot be written: the table in memory is then ahead of storage and of
  // every subscriber, so the owner must stop serving (a restart reloads what is durable).
  void SetStorageFailureHandler(std::function<void(Status)> handler) { on_storage_failure_ = std::move(handler); }
  // Every durable change of a node's state (added, suspected, recovered, draining, dead) is recorded here.
  void SetEventLog(EventLog* events) { events_ = events; }
  // Hears of every node record once it is durable (after the event is published).
  void SetChangeListener(std::function<void(const rpc::NodeInfo&)> listener) { on_change_ = std::move(listener); }
  // rows: the loaded NODES table.
  Status Initialize(const KeyValueMap& rows);
  // After recovery: health-check every node not dead, and re-arm drain deadlines.
  void Start();

  void HandleRegister(const rpc::NodeInfo& node, const std::string& cluster_id, std::function<void(Status)> done);
  void HandleUnregister(const std::string& node_id, rpc::DeathReason reason, const std::string& message,
                        std::function<void(Status)> done);
  // deadline_ms relative; 0 means none. InvalidArgument if negative, NotFound if unknown, FailedPrecondition
  // if dead.
  void HandleDrain(const std::string& node_id, const std::string& reason, int64_t deadline_ms,
                   std::function<void(Status)> done);
  // A node agent renews its lease: granted with the current membership, or refused (dead, unknown).
  void HandleRenewLease(const rpc::RenewNodeLeaseRequest& request,
                        std::function<void(StatusOr<rpc::RenewNodeLeaseReply>)> done);
  std::vector<rpc::NodeInfo> AllNodes() const;
  // The membership at version v: nodes that had joined and were not dead.
  std::vector<const rpc::NodeInfo*> MembersAt(uint64_t version) const;
  uint64_t membership_version() const { return version_; }
  const rpc::NodeInfo* Find(const std::string& node_id) const;

  void OnNodeSuspected(const std::string& node_id) override;
  void OnNodeRecovered(const std::string& node_id) override;
  void OnNodeFailed(const std::string& node_id) override;

 private:
  // Applies node's new record now, persists it, then publishes the event and calls done.
  void Commit(const rpc::NodeInfo& node, rpc::NodeEvent::Kind kind, std::function<void(Status)> done);
  // The cluster event of a durable change (none for REMOVED: forgetting an old dead node is no news).
  void RecordEvent(rpc::NodeEvent::Kind kind, const rpc::NodeInfo& node);
  void SetState(const std::string& node_id, rpc::NodeState state, std::function<void(Status)> done);
  void MarkDead(const std::string& node_id, rpc::DeathReason reason, const std::string& message,
                std::function<void(Status)> done);
  void ArmDrainDeadline(const std::string& node_id, int64_t deadline_wall_ms);
  // A node whose health checks failed (or whose drain deadline passed): dead once its lease certainly lapsed
  // and no majority could have vouched for it, or once its agent is proven gone; re-examined each renewal
  // interval until then.
  void ConsiderDeath(const std::string& node_id, rpc::DeathReason reason, const std::string& message);
  bool NoMajorityCouldVouch(const std::string& node_id, int64_t now_ms) const;
  void OnProvenGone(const std::string& node_id);
  void EvictOldDeadNodes();

  StoreClient& store_;
  Executor& executor_;
  Clock& clock_;
  std::string cluster_id_;
  int64_t dead_nodes_max_;
  health::HealthCheckManager* health_ = nullptr;
  NodeEventPublisher* publisher_ = nullptr;
  std::map<std::string, rpc::NodeInfo> nodes_;
  std::deque<std::string> dead_order_;  // oldest death first
  std::map<std::string, TimerId> drain_timers_;
  // Nodes whose first registration is not yet durable -> the calls waiting for it.
  std::map<std::string, std::vector<std::function<void(Status)>>> registering_;
  std::function<void(Status)> on_storage_failure_;
  EventLog* events_ = nullptr;
  std::function<void(const rpc::NodeInfo&)> on_change_;
  uint64_t version_ = 0;  // membership version: bumped by every join and death
  std::set<uint64_t> undurable_versions_;  // assigned, their rows not stored yet: not granted until they are
  std::unique_ptr<NodeLeaseTable> leases_;
  GoneProver* gone_prover_ = nullptr;
  std::function<bool()> may_grant_;
  std::map<std::string, TimerId> death_checks_;  // nodes waiting for their lease to lapse
  std::set<std::string> ending_;                  // past their drain deadline: renewals refused
  std::set<std::string> proving_;                 // a GoneProver probe is in flight
  std::set<std::string> proven_gone_;             // its death is scheduled: proof its agent is gone
};

// The names (rpc/state_names.h), as gcs:: callers know them.
using halo::NodeStateName;
using halo::DeathReasonName;

}  // namespace halo::gcs
