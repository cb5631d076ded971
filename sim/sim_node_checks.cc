// The node invariants of a SimCluster scenario (see sim_cluster.h), and the observer that follows the node
// events: deaths are deserved, detection is bounded, the table survives GCS restarts, events come once and in
// order, a dead node cannot serve, and the cluster settles.
#include <algorithm>

#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"
#include "sim/sim_cluster_parts.h"

namespace halo::sim {

using gcs::NodeStateName;

void SimCluster::ObserverPoll() {
  rpc::PollNodeEventsRequest request;
  request.set_subscriber_id("observer");
  request.set_incarnation(observer_incarnation_);
  request.set_after_sequence(observer_after_);
  request.set_wait_ms(1000);
  SimCall<StatusOr<rpc::PollNodeEventsReply>>(
      network_, observer_process_, gcs_process(), 2000,
      [this, request](std::function<void(StatusOr<rpc::PollNodeEventsReply>)> reply) {
        if (!GcsServing()) return reply(UnavailableError("GCS recovering"));
        gcs_->managers->publisher().HandlePoll(request, reply);
      },
      [this](StatusOr<rpc::PollNodeEventsReply> reply) {
        if (reply.ok()) {
          if (reply->snapshot()) {
            // A snapshot may move nodes forward, never back: no node dropped, none dead brought back.
            std::map<std::string, rpc::NodeInfo> fresh;
            for (const auto& node : reply->nodes()) fresh[node.node_id()] = node;
            for (const auto& [id, old] : observed_) {
              auto now = fresh.find(id);
              if (now == fresh.end()) {
                sim_.Violation("node " + id + " missing from a snapshot");
              } else if (old.state() == rpc::DEAD && now->second.state() != rpc::DEAD) {
                sim_.Violation(absl::StrCat("snapshot brings dead node ", id, " back as ",
                                            NodeStateName(now->second.state())));
              }
            }
            observer_incarnation_ = reply->incarnation();
            observed_ = std::move(fresh);
            for (const auto& [id, node] : observed_) {
              sim_.Trace(absl::StrCat("snapshot ", id, " ", NodeStateName(node.state())));
            }
          }
          uint64_t previous = reply->snapshot() ? reply->last_sequence() : observer_after_;
          for (const auto& event : reply->events()) {
            if (event.sequence() != previous + 1) {
              sim_.Violation(absl::StrCat("event ", event.sequence(), " delivered after ", previous,
                                          " (a gap or a repeat)"));
            }
            previous = event.sequence();
            CheckEventOrder(event);
          }
          observer_after_ = reply->last_sequence();
        }
        const int64_t pause = reply.ok() ? 0 : 100;
        observer_process_.RunAfter(pause, [this] { ObserverPoll(); });
      });
}

void SimCluster::CheckEventOrder(const rpc::NodeEvent& event) {
  const std::string& id = event.node().node_id();
  auto known = observed_.find(id);
  if (event.kind() == rpc::NodeEvent::ADDED && known != observed_.end()) {
    sim_.Violation("node " + id + " added twice");
  }
  if (event.kind() != rpc::NodeEvent::ADDED && event.kind() != rpc::NodeEvent::REMOVED && known == observed_.end()) {
    sim_.Violation("state change of node " + id + " that was never added");
  }
  if (known != observed_.end() && known->second.state() == rpc::DEAD && event.kind() != rpc::NodeEvent::REMOVED) {
    sim_.Violation(absl::StrCat("node ", id, " changed to ", NodeStateName(event.node().state()), " after DEAD"));
  }
  sim_.Trace(absl::StrCat("event ", event.sequence(), " ", id, " ", NodeStateName(event.node().state())));
  observed_[id] = event.node();
}

void SimCluster::CheckTableAfterRecovery() {
  // Everything the observer saw was published, hence durable: the reloaded table must hold it (or a later
  // state of it).
  for (const auto& [id, seen] : observed_) {
    const rpc::NodeInfo* now = gcs_->managers->nodes().Find(id);
    if (now == nullptr) {
      sim_.Violation("acknowledged node " + id + " missing after GCS restart");
      continue;
    }
    if (seen.state() == rpc::DEAD && (now->state() != rpc::DEAD || now->death_reason() != seen.death_reason())) {
      sim_.Violation(absl::StrCat("node ", id, " was DEAD before the restart and is ", NodeStateName(now->state()),
                                  " after"));
    }
    // Where nothing changed after the last published record, the reloaded row is that record exactly.
    if (seen.state() == now->state() && seen.state_time_ms() == now->state_time_ms() &&
        !google::protobuf::util::MessageDifferencer::Equals(seen, *now)) {
      sim_.Violation("node " + id + " reloaded with a record that differs from the one published");
    }
    if (seen.state() == rpc::DRAINING && now->state() != rpc::DRAINING && now->state() != rpc::DEAD) {
      sim_.Violation("node " + id + " lost its DRAINING state in a restart");
    }
  }
  for (const auto& [name, node] : nodes_) {
    if (node->registered && gcs_->managers->nodes().Find(node->info.node_id()) == nullptr) {
      sim_.Violation("node " + node->info.node_id() + " was told it registered but is missing after restart");
    }
  }
}

void SimCluster::CheckDeathIsDeserved(const std::string& node_id) {
  const auto& outcomes = probes_[node_id];
  const size_t threshold = static_cast<size_t>(settings_.health_check_failure_threshold);
  if (outcomes.size() < threshold ||
      std::any_of(outcomes.end() - threshold, outcomes.end(), [](bool answered) { return answered; })) {
    sim_.Violation("node " + node_id + " declared dead although one of its last probes was answered");
  }
}

void SimCluster::CheckDeadNodeCannotServe(const rpc::NodeInfo& record) {
  if (record.state() != rpc::DEAD) return;
  for (auto& [name, node] : nodes_) {
    if (node->info.node_id() != record.node_id()) continue;
    // Gone, never so far as to hold a lease, or it left of its own accord having stopped its workers.
    if (node->process.crashed() || !node->chain || node->unregistering) return;
    const int64_t deadline = node->chain->keeper().deadline_ms();
    if (!node->chain->keeper().fenced() && deadline > node->process.MonotonicMs()) {
      sim_.Violation(absl::StrCat("node ", record.node_id(), " published DEAD (",
                                  gcs::DeathReasonName(record.death_reason()), ") while its lease lets it serve for ",
                                  deadline - node->process.MonotonicMs(), " ms more"));
    }
  }
}

void SimCluster::ScheduleDetectionCheck(const std::string& node_id, int64_t from_ms) {
  // With leases a death may wait for a majority to be heard (by design); liveness is judged at the end.
  if (scenario_.leases) return;
  const int64_t serving_since = gcs_serving_since_ms_;
  sim_.At(from_ms + DetectionBoundMs(), [this, node_id, serving_since, from_ms] {
    // Only meaningful if this same GCS incarnation has served throughout.
    if (!GcsServing() || gcs_serving_since_ms_ != serving_since || serving_since > from_ms) return;
    Node* node = nullptr;
    for (auto& [name, n] : nodes_) {
      if (n->info.node_id() == node_id) node = n.get();
    }
    // Only a node down without a break since from_ms must have been found.
    const bool down_throughout = (node != nullptr) && ((node->crashed_at_ms >= 0 && node->crashed_at_ms <= from_ms) ||
                                                       (node->paused_at_ms >= 0 && node->paused_at_ms <= from_ms));
    if (!down_throughout) return;
    const rpc::NodeInfo* record = gcs_->managers->nodes().Find(node_id);
    if (record == nullptr) return;  // never registered with this GCS
    if (record->state() != rpc::DEAD) {
      sim_.Violation(absl::StrCat("node ", node_id, " down since t=", from_ms, "ms is still ",
                                  NodeStateName(record->state()), " after the detection bound (",
                                  DetectionBoundMs(), "ms)"));
    }
  });
}

void SimCluster::CheckFinalState() {
  if (!GcsServing()) return sim_.Violation("GCS not serving at the end");
  for (const auto& [name, node] : nodes_) {
    const rpc::NodeInfo* record = gcs_->managers->nodes().Find(node->info.node_id());
    const bool dead = record != nullptr && record->state() == rpc::DEAD;
    // Lost messages are a fault too (their deaths are judged probe by probe in CheckDeathIsDeserved).
    // A node that stopped itself (no majority heard the GCS while it was down) is DEAD by its own doing.
    if (!node->faulted && !node->fenced && !network_.LostMessagesOf(node->process.name()) && dead) {
      sim_.Violation("node " + node->info.node_id() + " that never failed was declared " +
                     gcs::DeathReasonName(record->death_reason()));
    }
    if (node->crashed_at_ms >= 0 && record != nullptr && !dead) {
      sim_.Violation("crashed node " + node->info.node_id() + " is not DEAD at the end");
    }
    // An agent learns of its death from its next poll answer: within one poll round (wait plus margin),
    // plus a retry if that answer was lost.
    const int64_t learn_bound_ms = settings_.pubsub_poll_wait_ms + 2000 + settings_.gcs_retry_max_ms + 1000;
    const int64_t died_at_ms = dead ? record->death_time_ms() - (gcs_process().WallMs() - sim_.now_ms()) : 0;
    if (dead && !node->exited && node->crashed_at_ms < 0 && sim_.now_ms() - died_at_ms > learn_bound_ms) {
      sim_.Violation("node " + node->info.node_id() + " is DEAD but its agent still runs (zombie)");
    }
    if (!node->exited && node->crashed_at_ms < 0 && record == nullptr) {
      sim_.Violation("running node " + node->info.node_id() + " is not registered at the end");
    }
  }
}

}  // namespace halo::sim
