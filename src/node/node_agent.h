// The node agent's link to the GCS: registers its node (retrying with bounded backoff), follows node events
// by long poll, and decides when the agent must exit rather than linger as a zombie:
// - the GCS declared this node dead (or refuses its registration because it was declared dead);
// - the GCS serves another cluster (storage wiped or a different cluster answers);
// - the GCS stayed unreachable longer than reconnect_timeout_ms.
// When the GCS restarts (a new incarnation answers), it registers again under the same id.
// While its node is DRAINING it leaves as soon as it is idle, as DRAINED.
// Event-driven on one executor; time and the GCS are handed in.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/backoff.h"
#include "common/executor.h"
#include "rpc/gcs_node_client.h"

namespace halo::node {

struct NodeAgentSettings {
  int64_t reconnect_timeout_ms = 60000;
  int64_t retry_initial_ms = 100;
  int64_t retry_max_ms = 2000;
  int64_t poll_wait_ms = 10000;
  int64_t rpc_timeout_ms = 10000;
};

class NodeAgent {
 public:
  // exit(code, why) is called once when the agent must end; the process is expected to stop serving.
  NodeAgent(Executor& executor, Clock& clock, GcsNodeClient& gcs, rpc::NodeInfo self, NodeAgentSettings settings,
            std::function<void(int code, const std::string& why)> exit);

  // The address the node serves on; call before Start.
  void SetAddress(const std::string& address) { self_.set_address(address); }
  // Begins registering; registered runs once, after the first successful registration.
  void Start(std::function<void()> registered);
  // Graceful stop: tells the GCS (EXPECTED_TERMINATION, bounded by rpc_timeout_ms), then calls exit(0).
  void Stop();

  const rpc::NodeInfo& self() const { return self_; }
  const std::string& cluster_id() const { return cluster_id_; }
  bool gcs_connected() const { return !down_since_ms_.has_value() && registered_once_; }
  rpc::NodeState last_known_state() const { return state_; }
  // How many times it registered again with a restarted GCS.
  int reregistrations() const { return reregistrations_; }
  // The GCS incarnation it last heard from (empty before its first poll answer).
  const std::string& incarnation() const { return incarnation_; }
  // Sees every poll answer (snapshots and events of all nodes), for the cluster view spillback uses.
  void SetClusterListener(std::function<void(const rpc::PollNodeEventsReply&)> listener) {
    cluster_listener_ = std::move(listener);
  }
  // Whether work runs on this node (a draining node leaves once idle); idle without a check.
  void SetIdleCheck(std::function<bool()> is_idle) { is_idle_ = std::move(is_idle); }
  bool IsIdle() const { return !is_idle_ || is_idle_(); }
  // Runs once before the agent tells the GCS it leaves (a graceful stop, or a drained node leaving when
  // idle): the GCS restarts the node's actors as soon as it hears, so its workers must be gone by then.
  void SetBeforeLeaving(std::function<void()> before_leaving) { before_leaving_ = std::move(before_leaving); }
  // The node's last work ended: a draining node leaves now.
  void OnIdle();

 private:
  void Register();
  void OnRegistered(StatusOr<std::string> cluster_id);
  void Poll();
  void OnPoll(StatusOr<rpc::PollNodeEventsReply> reply);
  void ApplyOwnRecord(const rpc::NodeInfo& node);
  // Records a failed contact; exits if the GCS has been unreachable too long, else retries `retry` later.
  void OnGcsUnreachable(const Status& status, void (NodeAgent::*retry)());
  void Exit(int code, const std::string& why);
  void LeaveDrained();

  Executor& executor_;
  Clock& clock_;
  GcsNodeClient& gcs_;
  rpc::NodeInfo self_;
  NodeAgentSettings settings_;
  std::function<void(int, const std::string&)> exit_;
  std::function<void()> registered_;
  std::function<void(const rpc::PollNodeEventsReply&)> cluster_listener_;
  std::function<bool()> is_idle_;
  std::function<void()> before_leaving_;
  ExponentialBackoff backoff_;
  std::string cluster_id_;
  std::string incarnation_;
  uint64_t after_sequence_ = 0;
  std::optional<int64_t> down_since_ms_;
  bool registered_once_ = false;
  int reregistrations_ = 0;
  bool exiting_ = false;
  bool leaving_ = false;
  rpc::NodeState state_ = rpc::NODE_STATE_UNSPECIFIED;
};

}  // namespace halo::node
