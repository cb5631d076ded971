#include "gcs/event_log.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/logging.h"
#include "gcs/table_names.h"

namespace halo::gcs {
std::string EventSeverity(rpc::ClusterEventKind kind) {
  switch (kind) {
    case rpc::EVENT_NODE_DEAD:
    case rpc::EVENT_ACTOR_DIED:
    case rpc::EVENT_STORAGE_UNREACHABLE:
    case rpc::EVENT_HEAD_DEPOSED:
      return "error";
    case rpc::EVENT_NODE_SUSPECTED:
    case rpc::EVENT_ACTOR_RESTARTED:
    case rpc::EVENT_OBJECTS_REBUILT:
    case rpc::EVENT_REPLICA_REPLACED:
    case rpc::EVENT_NODE_DRAINING:
      return "warning";
    default:
      return "info";
  }
}

rpc::ClusterEvent MakeEvent(rpc::ClusterEventKind kind, std::string message) {
  rpc::ClusterEvent event;
  event.set_kind(kind);
  event.set_severity(EventSeverity(kind));
  event.set_message(std::move(message));
  return event;
}

std::string EventKey(int64_t sequence) {
  char key[32];
  std::snprintf(key, sizeof(key), "%020lld", static_cast<long long>(sequence));
  return key;
}

EventLog::EventLog(StoreClient& store, Executor& executor, Clock& clock, std::string reporter,
                   EventLogSettings settings, std::string incarnation)
    : store_(store),
      executor_(executor),
      clock_(clock),
      reporter_(std::move(reporter)),
      settings_(settings),
      incarnation_(std::move(incarnation)) {
  HALO_CHECK(settings_.events_max >= 1 && settings_.list_max >= 1) << "the event log keeps and lists at least one";
}

EventLog::~EventLog() { *alive_ = false; }

Status EventLog::Initialize(const KeyValueMap& rows) {
  std::vector<rpc::ClusterEvent> loaded;
  loaded.reserve(rows.size());
  std::vector<std::string> dropped;
  for (const auto& [key, bytes] : rows) {
    rpc::ClusterEvent event;
    if (!event.ParseFromString(bytes) || EventKey(event.sequence()) != key) {
      // A diagnostic record must not keep the cluster from recovering: it is dropped, and said so.
      HALO_LOG_WARN("dropping corrupt cluster event row {}", key);
      dropped.push_back(key);
      continue;
    }
    loaded.push_back(std::move(event));
  }
  std::sort(loaded.begin(), loaded.end(),
            [](const auto& a, const auto& b) { return a.sequence() < b.sequence(); });
  if (!loaded.empty()) next_sequence_ = loaded.back().sequence() + 1;
  loaded_sequence_ = next_sequence_ - 1;
  const size_t keep = std::min(loaded.size(), static_cast<size_t>(settings_.events_max));
  for (size_t i = 0; i + keep < loaded.size(); ++i) dropped.push_back(EventKey(loaded[i].sequence()));
  events_.assign(std::make_move_iterator(loaded.end() - static_cast<std::ptrdiff_t>(keep)),
                 std::make_move_iterator(loaded.end()));
  if (!dropped.empty()) {
    store_.AsyncBatchDelete(kEventTable, dropped, [count = dropped.size()](StatusOr<int64_t> deleted) {
      if (!deleted.ok()) {
        HALO_LOG_WARN("cannot drop {} old cluster events: {}", count, std::string(deleted.status().message()));
      }
    });
  }
  return OkStatus();
}

int64_t EventLog::Record(rpc::ClusterEvent event) {
  if (event.message().size() > kEventMessageMaxBytes) {
    event.mutable_message()->resize(kEventMessageMaxBytes);
    event.mutable_message()->append("...");
  }
  event.set_sequence(next_sequence_++);
  event.set_time_ms(clock_.WallMs());
  if (event.severity().empty()) event.set_severity(EventSeverity(event.kind()));
  if (event.reporter().empty()) event.set_reporter(reporter_);
  if (event.epoch() == 0) event.set_epoch(epoch_);
  const int64_t sequence = event.sequence();
  store_.AsyncPut(kEventTable, EventKey(sequence), event.SerializeAsString(), true,
                  [sequence](StatusOr<bool> written) {
                    if (!written.ok()) {
                      HALO_LOG_WARN("cannot persist cluster event {}: {}", sequence,
                                    std::string(written.status().message()));
                    }
                  });
  if (observer_) observer_(event);
  events_.push_back(std::move(event));
  while (static_cast<int64_t>(events_.size()) > settings_.events_max) {
    store_.AsyncDelete(kEventTable, EventKey(events_.front().sequence()), [](StatusOr<bool>) {});
    events_.pop_front();
  }
  AnswerWaiters();
  return sequence;
}

rpc::ListEventsReply EventLog::Select(const rpc::ListEventsRequest& request) const {
  rpc::ListEventsReply reply;
  reply.set_last_sequence(last_sequence());
  reply.set_first_sequence(events_.empty() ? next_sequence_ : events_.front().sequence());
  reply.set_incarnation(incarnation_);
  reply.set_loaded_sequence(loaded_sequence_);
  const int64_t limit = request.limit() > 0 ? std::min<int64_t>(request.limit(), settings_.list_max) : settings_.list_max;
  // Events are in sequence order: start at the first one after after_sequence.
  auto it = std::upper_bound(events_.begin(), events_.end(), request.after_sequence(),
                             [](int64_t after, const rpc::ClusterEvent& event) { return after < event.sequence(); });
  for (; it != events_.end() && reply.events_size() < limit; ++it) {
    const bool wanted = request.kinds().empty() ||
                        std::find(request.kinds().begin(), request.kinds().end(), it->kind()) != request.kinds().end();
    if (wanted) *reply.add_events() = *it;
  }
  return reply;
}

void EventLog::HandleList(const rpc::ListEventsRequest& request,
                          std::function<void(StatusOr<rpc::ListEventsReply>)> done) {
  if (request.after_sequence() < 0 || request.limit() < 0 || request.wait_ms() < 0) {
    return done(InvalidArgumentError("after_sequence, limit and wait_ms must not be negative"));
  }
  rpc::ListEventsReply reply = Select(request);
  if (reply.events_size() > 0 || request.wait_ms() == 0 || released_) return done(std::move(reply));
  if (static_cast<int64_t>(waiters_.size()) >= settings_.waiters_max) return done(std::move(reply));
  const uint64_t id = next_waiter_id_++;
  Waiter& waiter = waiters_[id];
  waiter.request = request;
  waiter.done = std::move(done);
  waiter.timer = executor_.RunAfter(std::min(request.wait_ms(), settings_.wait_max_ms), [this, alive = alive_, id] {
    if (!*alive) return;
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;
    Waiter waiter = std::move(it->second);
    waiters_.erase(it);
    waiter.done(Select(waiter.request));
  });
}

void EventLog::AnswerWaiters() {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    rpc::ListEventsReply reply = Select(it->second.request);
    if (reply.events_size() == 0) {
      ++it;
      continue;
    }
    Waiter waiter = std::move(it->second);
    it = waiters_.erase(it);
    executor_.Cancel(waiter.timer);
    waiter.done(std::move(reply));
  }
}

void EventLog::ReleaseWaiters() {
  released_ = true;
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& [id, waiter] : waiters) {
    executor_.Cancel(waiter.timer);
    waiter.done(Select(waiter.request));
  }
}

}  // namespace halo::gcs
