// Node events to subscribers by long poll. Every event gets the next sequence number of this GCS
// incarnation and is kept in a bounded buffer. A poll returns at once with the events after the subscriber's
// last sequence, or is held until one is published or its wait ends. A subscriber that is new, comes from
// another incarnation (the GCS restarted), or fell behind the buffer gets a snapshot instead.
// The snapshot is the publisher's own view: the loaded table plus every event published since, so it holds
// exactly what events up to its last_sequence say (never a change not yet durable), and the events after
// it continue it without gaps or repeats. Each subscriber thus sees each node's events once and in order.
// Event-driven on the GCS executor; no gRPC types.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/executor.h"
#include "common/status.h"
#include "proto/node.pb.h"

namespace halo::gcs {

struct PublisherSettings {
  int64_t buffer_events_max = 10000;
  int64_t subscribers_max = 10000;
  int64_t poll_wait_max_ms = 10000;  // a poll asking to wait longer is held this long at most
};

class NodeEventPublisher {
 public:
  using PollCallback = std::function<void(StatusOr<rpc::PollNodeEventsReply>)>;

  NodeEventPublisher(Executor& executor, std::string incarnation, std::string cluster_id,
                     PublisherSettings settings);

  // The nodes as loaded from storage at start-up, before any event.
  void SetInitialView(const std::vector<rpc::NodeInfo>& nodes);
  ~NodeEventPublisher();

  void Publish(rpc::NodeEvent::Kind kind, const rpc::NodeInfo& node);

  // done runs once: at once if there is news, else when an event is published or wait_ms passes (then with
  // no events). A new poll from the same subscriber completes the one it holds first.
  void HandlePoll(const rpc::PollNodeEventsRequest& request, PollCallback done);
  // The subscriber's connection went away while its poll was held: complete it and drop it.
  void OnSubscriberGone(const std::string& subscriber_id);
  // Completes every held poll, and answers later ones at once (the server is stopping).
  void ReleaseAll();

  const std::string& incarnation() const { return incarnation_; }
  uint64_t last_sequence() const { return next_sequence_ - 1; }
  size_t waiting_subscribers() const { return waiting_.size(); }

 private:
  struct Waiting {
    uint64_t after_sequence;
    TimerId timer;
    PollCallback done;
  };
  rpc::PollNodeEventsReply EventsAfter(uint64_t after_sequence) const;
  rpc::PollNodeEventsReply Snapshot() const;
  void Complete(const std::string& subscriber_id);

  Executor& executor_;
  std::string incarnation_;
  std::string cluster_id_;
  std::map<std::string, rpc::NodeInfo> view_;  // node id -> record, as of last_sequence()
  PublisherSettings settings_;
  uint64_t next_sequence_ = 1;
  std::deque<rpc::NodeEvent> buffer_;  // the newest buffer_events_max events, in sequence order
  std::map<std::string, Waiting> waiting_;
  bool released_ = false;  // the server is stopping: polls are answered at once
};

}  // namespace halo::gcs
