#include "gcs/node_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "gcs/table_names.h"

namespace halo::gcs {

NodeManager::~NodeManager() {
  for (auto& [id, timer] : drain_timers_) executor_.Cancel(timer);
  for (auto& [id, timer] : death_checks_) executor_.Cancel(timer);
}

Status NodeManager::Initialize(const KeyValueMap& rows) {
  std::vector<std::pair<int64_t, std::string>> dead;
  for (const auto& [key, bytes] : rows) {
    rpc::NodeInfo node;
    if (!node.ParseFromString(bytes)) return FailedPreconditionError(absl::StrCat("corrupt node row ", key));
    if (node.state() == rpc::DEAD) dead.emplace_back(node.death_time_ms(), node.node_id());
    version_ = std::max({version_, node.join_seq(), node.death_seq()});
    nodes_[node.node_id()] = std::move(node);
  }
  std::sort(dead.begin(), dead.end());
  for (auto& [time, id] : dead) dead_order_.push_back(id);
  publisher_->SetInitialView(AllNodes());
  return OkStatus();
}

void NodeManager::Start() {
  for (const auto& [id, node] : nodes_) {
    // It may hold a lease an earlier GCS granted: counted as granted now; a node an earlier GCS declared dead
    // may have vouched just before, so it counts as dead since now.
    if (leases_) {
      leases_->Track(id, clock_.MonotonicMs(), node.join_seq());
      if (node.state() == rpc::DEAD) leases_->MarkDead(id, clock_.MonotonicMs());
    }
    if (node.state() == rpc::DEAD) continue;
    health_->AddNode(id, node.address());
    if (node.state() == rpc::DRAINING && node.drain_deadline_ms() > 0) ArmDrainDeadline(id, node.drain_deadline_ms());
  }
}

const rpc::NodeInfo* NodeManager::Find(const std::string& node_id) const {
  auto it = nodes_.find(node_id);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<rpc::NodeInfo> NodeManager::AllNodes() const {
  std::vector<rpc::NodeInfo> out;
  out.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) out.push_back(node);
  return out;
}

void NodeManager::Commit(const rpc::NodeInfo& node, rpc::NodeEvent::Kind kind, std::function<void(Status)> done) {
  nodes_[node.node_id()] = node;
  store_.AsyncPut(kNodeTable, node.node_id(), node.SerializeAsString(), true,
                  [this, node, kind, done = std::move(done)](StatusOr<bool> written) {
                    if (!written.ok()) {
                      HALO_LOG_ERROR("cannot persist node {}: {}", node.node_id(),
                                     std::string(written.status().message()));
                      if (done) done(written.status());
                      if (on_storage_failure_) on_storage_failure_(written.status());
                      return;
                    }
                    undurable_versions_.erase(node.join_seq());
                    undurable_versions_.erase(node.death_seq());
                    publisher_->Publish(kind, node);
                    RecordEvent(kind, node);
                    if (on_change_) on_change_(node);
                    if (done) done(OkStatus());
                  });
}

void NodeManager::RecordEvent(rpc::NodeEvent::Kind kind, const rpc::NodeInfo& node) {
  if (events_ == nullptr || kind == rpc::NodeEvent::REMOVED) return;
  rpc::ClusterEvent event;
  switch (node.state()) {
    case rpc::ALIVE:
      event = kind == rpc::NodeEvent::ADDED
                  ? MakeEvent(rpc::EVENT_NODE_ADDED, absl::StrCat("node ", node.node_id(), " joined from ", node.address()))
                  : MakeEvent(rpc::EVENT_NODE_RECOVERED,
                              absl::StrCat("node ", node.node_id(), " at ", node.address(), " answers health checks again"));
      break;
    case rpc::SUSPECTED:
      event = MakeEvent(rpc::EVENT_NODE_SUSPECTED,
                        absl::StrCat("node ", node.node_id(), " at ", node.address(), " missed a health check"));
      break;
    case rpc::DRAINING:
      event = MakeEvent(rpc::EVENT_NODE_DRAINING, absl::StrCat("node ", node.node_id(), " at ", node.address(),
                                                               " is draining (", node.drain_reason(), ")"));
      break;
    case rpc::DEAD:
      event = MakeEvent(rpc::EVENT_NODE_DEAD,
                        absl::StrCat("node ", node.node_id(), " at ", node.address(), " is dead (",
                                     DeathReasonName(node.death_reason()), "): ", node.death_message()));
      break;
    default:
      return;
  }
  event.set_node_id(node.node_id());
  events_->Record(std::move(event));
}

void NodeManager::HandleRegister(const rpc::NodeInfo& request, const std::string& cluster_id,
                                 std::function<void(Status)> done) {
  if (!cluster_id.empty() && cluster_id != cluster_id_) {
    return done(FailedPreconditionError(absl::StrCat("node joined cluster ", cluster_id, " but this GCS serves cluster ",
                                                     cluster_id_, " (storage was wiped or replaced)")));
  }
  if (request.node_id().empty() || request.address().empty()) {
    return done(InvalidArgumentError("a node registers with a node_id and an address"));
  }
  auto it = nodes_.find(request.node_id());
  if (it != nodes_.end()) {
    if (it->second.state() == rpc::DEAD) {
      return done(FailedPreconditionError(absl::StrCat("node ", request.node_id(), " was declared dead (",
                                                       DeathReasonName(it->second.death_reason()),
                                                       ") and cannot rejoin under its old id")));
    }
    // Re-registration (after a GCS restart, or a retry): it keeps its id and state. If the first
    // registration is not durable yet, answer only once it is.
    if (auto pending = registering_.find(request.node_id()); pending != registering_.end()) {
      pending->second.push_back(std::move(done));
      return;
    }
    return done(OkStatus());
  }
  rpc::NodeInfo node = request;
  node.set_state(rpc::ALIVE);
  node.clear_death_reason();
  node.set_registered_time_ms(clock_.WallMs());
  node.set_state_time_ms(node.registered_time_ms());
  node.set_join_seq(++version_);
  undurable_versions_.insert(version_);
  node.clear_death_seq();
  if (leases_) leases_->Track(node.node_id(), clock_.MonotonicMs(), node.join_seq());
  HALO_LOG_INFO("node {} registered from {}", node.node_id(), node.address());
  health_->AddNode(node.node_id(), node.address());
  registering_[node.node_id()].push_back(std::move(done));
  Commit(node, rpc::NodeEvent::ADDED, [this, id = node.node_id()](Status status) {
    auto waiting = std::move(registering_[id]);
    registering_.erase(id);
    for (auto& callback : waiting) callback(status);
  });
}

void NodeManager::SetState(const std::string& node_id, rpc::NodeState state, std::function<void(Status)> done) {
  rpc::NodeInfo node = nodes_.at(node_id);
  node.set_state(state);
  node.set_state_time_ms(clock_.WallMs());
  Commit(node, rpc::NodeEvent::STATE_CHANGED, std::move(done));
}

void NodeManager::MarkDead(const std::string& node_id, rpc::DeathReason reason, const std::string& message,
                           std::function<void(Status)> done) {
  rpc::NodeInfo node = nodes_.at(node_id);
  node.set_state(rpc::DEAD);
  node.set_death_reason(reason);
  node.set_death_message(message);
  node.set_death_time_ms(clock_.WallMs());
  node.set_state_time_ms(node.death_time_ms());
  node.set_death_seq(++version_);
  undurable_versions_.insert(version_);
  health_->RemoveNode(node_id);
  if (leases_) leases_->MarkDead(node_id, clock_.MonotonicMs());
  ending_.erase(node_id);
  proven_gone_.erase(node_id);
  if (auto check = death_checks_.find(node_id); check != death_checks_.end()) {
    executor_.Cancel(check->second);
    death_checks_.erase(check);
  }
  if (auto timer = drain_timers_.find(node_id); timer != drain_timers_.end()) {
    executor_.Cancel(timer->second);
    drain_timers_.erase(timer);
  }
  HALO_LOG_INFO("node {} is DEAD ({}): {}", node_id, DeathReasonName(reason), message);
  dead_order_.push_back(node_id);
  Commit(node, rpc::NodeEvent::STATE_CHANGED, std::move(done));
  EvictOldDeadNodes();
}

void NodeManager::EvictOldDeadNodes() {
  while (static_cast<int64_t>(dead_order_.size()) > dead_nodes_max_) {
    std::string oldest = dead_order_.front();
    // A node dead for less than two leases may have vouched within the window a death decision looks at: it
    // stays in the memberships until then (checked again at the next death).
    if (leases_ && leases_->DiedWithinMs(oldest, 2 * leases_->settings().lease_ms, clock_.MonotonicMs())) break;
    // Nor the row that holds the newest version: a restarted GCS finds the counter from the rows, and must
    // never hand out a version an earlier GCS granted for another membership.
    if (auto newest = nodes_.find(oldest); newest != nodes_.end() && newest->second.death_seq() == version_) break;
    dead_order_.pop_front();
    auto it = nodes_.find(oldest);
    if (it == nodes_.end()) continue;
    rpc::NodeInfo node = it->second;
    nodes_.erase(it);
    store_.AsyncDelete(kNodeTable, oldest, [this, node](StatusOr<bool> deleted) {
      if (deleted.ok()) publisher_->Publish(rpc::NodeEvent::REMOVED, node);
    });
  }
}

void NodeManager::HandleUnregister(const std::string& node_id, rpc::DeathReason reason, const std::string& message,
                                   std::function<void(Status)> done) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return done(NotFoundError(absl::StrCat("no node ", node_id)));
  if (it->second.state() == rpc::DEAD) return done(OkStatus());
  if (reason != rpc::EXPECTED_TERMINATION && reason != rpc::DRAINED) reason = rpc::EXPECTED_TERMINATION;
  MarkDead(node_id, reason, message.empty() ? "the node agent stopped" : message, std::move(done));
}

void NodeManager::HandleDrain(const std::string& node_id, const std::string& reason, int64_t deadline_ms,
                              std::function<void(Status)> done) {
  if (deadline_ms < 0) return done(InvalidArgumentError(absl::StrCat("drain deadline must not be negative, got ",
                                                                      deadline_ms, " ms")));
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return done(NotFoundError(absl::StrCat("no node ", node_id)));
  if (it->second.state() == rpc::DEAD) {
    return done(FailedPreconditionError(absl::StrCat("node ", node_id, " is already dead")));
  }
  rpc::NodeInfo node = it->second;
  node.set_state(rpc::DRAINING);
  node.set_state_time_ms(clock_.WallMs());
  node.set_drain_reason(reason);
  node.set_drain_deadline_ms(deadline_ms > 0 ? clock_.WallMs() + deadline_ms : 0);
  if (deadline_ms > 0) {
    ArmDrainDeadline(node_id, node.drain_deadline_ms());
  } else if (auto old = drain_timers_.find(node_id); old != drain_timers_.end()) {
    executor_.Cancel(old->second);  // drained again without a deadline: the earlier one no longer holds
    drain_timers_.erase(old);
  }
  Commit(node, rpc::NodeEvent::STATE_CHANGED, std::move(done));
}

void NodeManager::ArmDrainDeadline(const std::string& node_id, int64_t deadline_wall_ms) {
  if (auto old = drain_timers_.find(node_id); old != drain_timers_.end()) executor_.Cancel(old->second);
  const int64_t delay = std::max<int64_t>(0, deadline_wall_ms - clock_.WallMs());
  drain_timers_[node_id] = executor_.RunAfter(delay, [this, node_id] {
    drain_timers_.erase(node_id);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end() || it->second.state() != rpc::DRAINING) return;
    if (!leases_) return MarkDead(node_id, rpc::DRAINED, "drain deadline passed", nullptr);
    // Its workers may still run: renewals are refused from now on (the agent then stops them and exits), and
    // the node is dead once its lease has lapsed.
    ending_.insert(node_id);
    ConsiderDeath(node_id, rpc::DRAINED, "drain deadline passed");
  });
}

void NodeManager::OnNodeSuspected(const std::string& node_id) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || it->second.state() == rpc::DEAD) return;
  if (gone_prover_ != nullptr && leases_ && proving_.insert(node_id).second) {
    gone_prover_->ProveGone(it->second.address(), [this, node_id](bool gone) {
      proving_.erase(node_id);
      if (gone) OnProvenGone(node_id);
    });
  }
  if (it->second.state() != rpc::ALIVE) return;
  SetState(node_id, rpc::SUSPECTED, nullptr);
}

void NodeManager::OnProvenGone(const std::string& node_id) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || it->second.state() == rpc::DEAD || !proven_gone_.insert(node_id).second) return;
  // The agent is gone; its workers stop within their lease from its last renewal (10 % for clock rates).
  const int64_t wait_ms = leases_->settings().worker_lease_ms + leases_->settings().worker_lease_ms / 10;
  HALO_LOG_INFO("node {}: its agent's port refuses connections; dead once its workers' lease ran out ({} ms)",
                node_id, wait_ms);
  const int64_t proven_at = clock_.MonotonicMs();
  executor_.RunAfter(wait_ms, [this, node_id, proven_at] {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end() || it->second.state() == rpc::DEAD) return;
    // A renewal granted or a probe answered since the proof says the agent lives (the refusal came from
    // something else, say a firewall): no death on that proof.
    if (it->second.state() == rpc::ALIVE || leases_->LeaseLapsesAtMs(node_id) - leases_->settings().lease_ms > proven_at) {
      proven_gone_.erase(node_id);
      return;
    }
    MarkDead(node_id, ending_.count(node_id) > 0 ? rpc::DRAINED : rpc::UNEXPECTED_TERMINATION,
             "its node agent is gone (its port refuses connections)", nullptr);
  });
}

void NodeManager::OnNodeRecovered(const std::string& node_id) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  // It answers again: no death for its failed probes (a drain deadline that passed still ends it).
  if (auto check = death_checks_.find(node_id); check != death_checks_.end() && ending_.count(node_id) == 0) {
    executor_.Cancel(check->second);
    death_checks_.erase(check);
  }
  if (it->second.state() != rpc::SUSPECTED) return;
  SetState(node_id, rpc::ALIVE, nullptr);
}

void NodeManager::OnNodeFailed(const std::string& node_id) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || it->second.state() == rpc::DEAD) return;
  if (!leases_) {
    MarkDead(node_id, rpc::UNEXPECTED_TERMINATION, "stopped answering health checks", nullptr);
    return;
  }
  // A failure is a suspicion too (with a threshold of 1 none was reported before). Probed again meanwhile,
  // so a node that answers again is ALIVE again.
  if (it->second.state() == rpc::ALIVE) SetState(node_id, rpc::SUSPECTED, nullptr);
  health_->AddSuspectedNode(node_id, it->second.address());
  ConsiderDeath(node_id, rpc::UNEXPECTED_TERMINATION, "stopped answering health checks and its lease lapsed");
}

void NodeManager::ConsiderDeath(const std::string& node_id, rpc::DeathReason reason, const std::string& message) {
  if (auto check = death_checks_.find(node_id); check != death_checks_.end()) {
    executor_.Cancel(check->second);
    death_checks_.erase(check);
  }
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || it->second.state() == rpc::DEAD) return;
  // A failed node that answered again is ALIVE (OnNodeRecovered); a drained one past its deadline is not.
  if (it->second.state() == rpc::ALIVE && reason == rpc::UNEXPECTED_TERMINATION) return;
  const int64_t now = clock_.MonotonicMs();
  const bool lapsed = now >= leases_->LeaseLapsesAtMs(node_id);
  if ((lapsed && NoMajorityCouldVouch(node_id, now)) || now >= leases_->CertainlyFencedAtMs(node_id)) {
    MarkDead(node_id, reason, message, nullptr);
    return;
  }
  // Proof that its agent is gone ends the wait sooner; it is sought again each round (the node may have
  // been paused or cut off when it was first sought, and crashed since).
  if (gone_prover_ != nullptr && proving_.insert(node_id).second) {
    gone_prover_->ProveGone(it->second.address(), [this, node_id](bool gone) {
      proving_.erase(node_id);
      if (gone) OnProvenGone(node_id);
    });
  }
  death_checks_[node_id] =
      executor_.RunAfter(leases_->settings().renew_interval_ms, [this, node_id, reason, message] {
        death_checks_.erase(node_id);
        ConsiderDeath(node_id, reason, message);
      });
}

std::vector<const rpc::NodeInfo*> NodeManager::MembersAt(uint64_t version) const {
  std::vector<const rpc::NodeInfo*> members;
  for (const auto& [id, node] : nodes_) {
    if (node.join_seq() <= version && (node.death_seq() == 0 || node.death_seq() > version)) {
      members.push_back(&node);
    }
  }
  return members;
}

bool NodeManager::NoMajorityCouldVouch(const std::string& node_id, int64_t now_ms) const {
  const int64_t window_start = now_ms - leases_->settings().lease_ms;
  auto [low, high] = leases_->VersionsHeld(node_id, version_);
  for (uint64_t version = low; version <= high; ++version) {
    const std::vector<const rpc::NodeInfo*> members = MembersAt(version);
    size_t could_vouch = 0;
    for (const rpc::NodeInfo* member : members) {
      if (member->node_id() == node_id ||
          !leases_->QuietThroughout(member->node_id(), window_start, now_ms, member->state() == rpc::DEAD)) {
        could_vouch += 1;
      }
    }
    if (2 * could_vouch > members.size()) return false;
  }
  return true;
}

void NodeManager::HandleRenewLease(const rpc::RenewNodeLeaseRequest& request,
                                   std::function<void(StatusOr<rpc::RenewNodeLeaseReply>)> done) {
  rpc::RenewNodeLeaseReply reply;
  if (may_grant_ && !may_grant_()) {
    // A deposed leader that has not noticed yet: no grant, no refusal (the node is not dead), an error.
    return done(StatusOr<rpc::RenewNodeLeaseReply>(UnavailableError("this GCS does not lead now")));
  }
  auto it = nodes_.find(request.node_id());
  if (it == nodes_.end() || !leases_) {
    reply.set_granted(false);
    reply.set_reason(!leases_ ? "this GCS grants no node leases"
                              : absl::StrCat("node ", request.node_id(), " is not a member of this cluster"));
    return done(reply);
  }
  if (ending_.count(request.node_id()) > 0) {
    reply.set_granted(false);
    reply.set_reason(absl::StrCat("node ", request.node_id(), " passed its drain deadline"));
    return done(reply);
  }
  if (it->second.state() == rpc::DEAD) {
    reply.set_granted(false);
    reply.set_reason(absl::StrCat("node ", request.node_id(), " was declared dead (",
                                  DeathReasonName(it->second.death_reason()), ": ", it->second.death_message(), ")"));
    return done(reply);
  }
  // Only durable memberships go out: a GCS restarted on storage rebuilds every version it granted.
  const uint64_t version = undurable_versions_.empty() ? version_ : *undurable_versions_.begin() - 1;
  leases_->OnRenew(request.node_id(), request.seq(), request.acked_seq(), version, clock_.MonotonicMs());
  reply.set_granted(true);
  reply.set_lease_ms(leases_->settings().lease_ms);
  reply.set_membership_version(version);
  if (request.known_membership_version() != version) {  // unchanged memberships are not sent again
    reply.set_members_included(true);
    for (const rpc::NodeInfo* member : MembersAt(version)) {
      reply.add_member_ids(member->node_id());
      reply.add_member_addresses(member->address());
    }
  }
  done(reply);
}

}  // namespace halo::gcs
