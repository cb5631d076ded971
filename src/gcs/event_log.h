// The cluster's event log: what happened to nodes, actors, jobs, the head, storage, objects and services, in
// order, for `halo events` and the dashboard. Promises:
// - Every event gets the next sequence number and the wall time when recorded; sequence numbers keep
//   increasing across GCS restarts and failovers (the next one follows the newest loaded from storage).
// - Events are persisted (table "events", one row per event) and at most events_max are kept: recording one
//   more drops the oldest, in memory and in storage. Initialize drops rows beyond the bound too.
// - Recording never fails for the caller: an event that cannot be written stays in memory and is logged
//   (an unwritable store stops the GCS through the tables that matter; a fenced-off ex-leader's events are
//   refused by design).
// - A listing may wait (wait_ms) for the next event; waiting calls are bounded (waiters_max) and all answered
//   by ReleaseWaiters.
// Runs on the GCS executor; time comes from the clock it is given.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/executor.h"
#include "common/status.h"
#include "proto/gcs.pb.h"
#include "rpc/state_names.h"
#include "storage/store_client.h"

namespace halo::gcs {

// Longer messages are cut (a reported event is one line for people, not a payload).
inline constexpr size_t kEventMessageMaxBytes = 4096;

struct EventLogSettings {
  int64_t events_max = 10000;   // cluster_events_max
  int64_t list_max = 1000;      // cluster_events_list_max
  int64_t waiters_max = 10000;  // pubsub_subscribers_max
  int64_t wait_max_ms = 10000;  // pubsub_poll_wait_ms
};

// info, warning or error: how much an operator should care.
std::string EventSeverity(rpc::ClusterEventKind kind);
// An event of this kind with this message (severity set); the log stamps sequence and time.
rpc::ClusterEvent MakeEvent(rpc::ClusterEventKind kind, std::string message);

class EventLog {
 public:
  // incarnation: a random id of this log (one per GCS recovery), told to every listing.
  EventLog(StoreClient& store, Executor& executor, Clock& clock, std::string reporter, EventLogSettings settings,
           std::string incarnation = "");
  ~EventLog();

  // Loads the persisted events (rows of the "events" table). Rows that do not parse are logged and dropped.
  Status Initialize(const KeyValueMap& rows);
  // Stamps sequence, time, severity (if empty) and reporter (if empty), keeps and persists the event, wakes
  // waiting listings. Returns the sequence given.
  int64_t Record(rpc::ClusterEvent event);
  // The epoch stamped on events from now on (head_mode ha).
  void SetEpoch(int64_t epoch) { epoch_ = epoch; }
  // Hears of every event recorded (metrics). Optional.
  void SetObserver(std::function<void(const rpc::ClusterEvent&)> observer) { observer_ = std::move(observer); }
  // Who records events from now on (the GCS's address, known once it serves).
  void SetReporter(std::string reporter) { reporter_ = std::move(reporter); }

  void HandleList(const rpc::ListEventsRequest& request, std::function<void(StatusOr<rpc::ListEventsReply>)> done);
  void ReleaseWaiters();

  const std::deque<rpc::ClusterEvent>& events() const { return events_; }
  int64_t last_sequence() const { return next_sequence_ - 1; }

 private:
  struct Waiter {
    rpc::ListEventsRequest request;
    std::function<void(StatusOr<rpc::ListEventsReply>)> done;
    TimerId timer = 0;
  };
  // The reply to request from what is held now.
  rpc::ListEventsReply Select(const rpc::ListEventsRequest& request) const;
  void AnswerWaiters();

  StoreClient& store_;
  Executor& executor_;
  Clock& clock_;
  std::string reporter_;
  const EventLogSettings settings_;
  const std::string incarnation_;
  int64_t loaded_sequence_ = 0;  // the newest sequence Initialize loaded
  std::deque<rpc::ClusterEvent> events_;  // oldest first; at most settings_.events_max
  int64_t next_sequence_ = 1;
  int64_t epoch_ = 0;
  uint64_t next_waiter_id_ = 1;
  std::map<uint64_t, Waiter> waiters_;
  bool released_ = false;
  std::function<void(const rpc::ClusterEvent&)> observer_;  // ReleaseWaiters ran: the GCS is stopping, listings answer at once
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The row key of an event: its sequence, zero-padded so rows sort in order.
std::string EventKey(int64_t sequence);

}  // namespace halo::gcs
