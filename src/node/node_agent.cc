#include "node/node_agent.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace halo::node {

NodeAgent::NodeAgent(Executor& executor, Clock& clock, GcsNodeClient& gcs, rpc::NodeInfo self,
                     NodeAgentSettings settings, std::function<void(int, const std::string&)> exit)
    : executor_(executor),
      clock_(clock),
      gcs_(gcs),
      self_(std::move(self)),
      settings_(settings),
      exit_(std::move(exit)),
      backoff_(settings.retry_initial_ms, settings.retry_max_ms) {}

void NodeAgent::Start(std::function<void()> registered) {
  registered_ = std::move(registered);
  down_since_ms_ = clock_.MonotonicMs();  // not yet connected: the reconnect bound starts now
  Register();
}

void NodeAgent::Register() {
  if (exiting_) return;
  gcs_.AsyncRegister(self_, cluster_id_, settings_.rpc_timeout_ms,
                     [this](StatusOr<std::string> cluster_id) { OnRegistered(std::move(cluster_id)); });
}

void NodeAgent::OnRegistered(StatusOr<std::string> cluster_id) {
  if (exiting_) return;
  if (!cluster_id.ok()) {
    if (cluster_id.status().code() == absl::StatusCode::kFailedPrecondition) {
      return Exit(1, std::string(cluster_id.status().message()));
    }
    return OnGcsUnreachable(cluster_id.status(), &NodeAgent::Register);
  }
  if (!cluster_id_.empty() && *cluster_id != cluster_id_) {
    return Exit(1, absl::StrCat("the GCS now serves cluster ", *cluster_id, ", not cluster ", cluster_id_,
                                " that this node joined"));
  }
  cluster_id_ = *cluster_id;
  down_since_ms_.reset();
  backoff_.Reset();
  if (!registered_once_) {
    registered_once_ = true;
    HALO_LOG_INFO("node {} registered with cluster {}", self_.node_id(), cluster_id_);
    if (registered_) registered_();
  } else {
    ++reregistrations_;
    HALO_LOG_INFO("node {} registered again with the restarted GCS", self_.node_id());
  }
  Poll();
}

void NodeAgent::Poll() {
  if (exiting_) return;
  rpc::PollNodeEventsRequest request;
  request.set_subscriber_id(self_.node_id());
  request.set_incarnation(incarnation_);
  request.set_after_sequence(after_sequence_);
  request.set_wait_ms(settings_.poll_wait_ms);
  // The GCS answers a poll by its wait at the latest; a little more covers the network. A poll lost to a
  // partition is thus retried soon, and a node cut off from the GCS learns its fate soon after the cut heals.
  gcs_.AsyncPoll(request, settings_.poll_wait_ms + std::min<int64_t>(settings_.rpc_timeout_ms, 2000),
                 [this](StatusOr<rpc::PollNodeEventsReply> reply) { OnPoll(std::move(reply)); });
}

void NodeAgent::OnPoll(StatusOr<rpc::PollNodeEventsReply> reply) {
  if (exiting_) return;
  if (!reply.ok()) return OnGcsUnreachable(reply.status(), &NodeAgent::Poll);
  down_since_ms_.reset();
  backoff_.Reset();
  if (reply->cluster_id() != cluster_id_) {
    return Exit(1, absl::StrCat("the GCS now serves cluster ", reply->cluster_id(), ", not cluster ", cluster_id_,
                                " that this node joined"));
  }
  const bool restarted = !incarnation_.empty() && reply->incarnation() != incarnation_;
  incarnation_ = reply->incarnation();
  after_sequence_ = reply->last_sequence();
  if (cluster_listener_) cluster_listener_(*reply);
  if (reply->snapshot()) {
    bool found = false;
    for (const auto& node : reply->nodes()) {
      if (node.node_id() == self_.node_id()) {
        found = true;
        ApplyOwnRecord(node);
      }
    }
    if (!found && !exiting_) {
      return Exit(1, "the GCS no longer knows this node (it was forgotten after its death)");
    }
  }
  for (const auto& event : reply->events()) {
    if (event.node().node_id() == self_.node_id()) ApplyOwnRecord(event.node());
  }
  if (exiting_) return;
  if (restarted) {
    HALO_LOG_INFO("the GCS restarted (incarnation {}); registering again", incarnation_);
    return Register();
  }
  Poll();
}

void NodeAgent::ApplyOwnRecord(const rpc::NodeInfo& node) {
  state_ = node.state();
  if (node.state() == rpc::DEAD) {
    if (leaving_) return Exit(0, "left the cluster");
    return Exit(1, absl::StrCat("the GCS declared this node dead: ", node.death_message()));
  }
  if (node.state() == rpc::DRAINING && IsIdle()) LeaveDrained();
}

void NodeAgent::OnIdle() {
  if (!exiting_ && state_ == rpc::DRAINING && IsIdle()) LeaveDrained();
}

void NodeAgent::LeaveDrained() {
  if (leaving_) return;
  leaving_ = true;
  HALO_LOG_INFO("node {} is drained and idle; leaving the cluster", self_.node_id());
  if (before_leaving_) std::exchange(before_leaving_, nullptr)();
  gcs_.AsyncUnregister(self_.node_id(), rpc::DRAINED, "drained", settings_.rpc_timeout_ms,
                       [this](Status) { Exit(0, "drained"); });
}

void NodeAgent::OnGcsUnreachable(const Status& status, void (NodeAgent::*retry)()) {
  const int64_t now = clock_.MonotonicMs();
  if (!down_since_ms_) {
    down_since_ms_ = now;
    HALO_LOG_WARN("lost the GCS: {}", std::string(status.message()));
  }
  if (now - *down_since_ms_ >= settings_.reconnect_timeout_ms) {
    return Exit(1, absl::StrCat("the GCS stayed unreachable for gcs_reconnect_timeout_ms (",
                                settings_.reconnect_timeout_ms, " ms): ", status.message()));
  }
  executor_.RunAfter(backoff_.NextDelayMs(), [this, retry] { (this->*retry)(); });
}

void NodeAgent::Stop() {
  if (exiting_ || leaving_) return;
  leaving_ = true;
  if (!registered_once_) return Exit(0, "stopped before registering");
  if (before_leaving_) std::exchange(before_leaving_, nullptr)();
  gcs_.AsyncUnregister(self_.node_id(), rpc::EXPECTED_TERMINATION, "the node agent was stopped",
                       std::min<int64_t>(settings_.rpc_timeout_ms, 2000), [this](Status status) {
                         if (!status.ok()) HALO_LOG_WARN("could not tell the GCS: {}", std::string(status.message()));
                         Exit(0, "stopped");
                       });
}

void NodeAgent::Exit(int code, const std::string& why) {
  if (exiting_) return;
  exiting_ = true;
  if (code == 0) {
    HALO_LOG_INFO("node agent exiting: {}", why);
  } else {
    HALO_LOG_ERROR("node agent exiting: {}", why);
  }
  exit_(code, why);
}

}  // namespace halo::node
