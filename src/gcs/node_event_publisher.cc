#include "gcs/node_event_publisher.h"

#include "absl/strings/str_cat.h"

namespace halo::gcs {

NodeEventPublisher::NodeEventPublisher(Executor& executor, std::string incarnation, std::string cluster_id,
                                       PublisherSettings settings)
    : executor_(executor),
      incarnation_(std::move(incarnation)),
      cluster_id_(std::move(cluster_id)),
      settings_(settings) {}

void NodeEventPublisher::SetInitialView(const std::vector<rpc::NodeInfo>& nodes) {
  view_.clear();
  for (const auto& node : nodes) view_[node.node_id()] = node;
}

NodeEventPublisher::~NodeEventPublisher() {
  for (auto& [id, waiting] : waiting_) executor_.Cancel(waiting.timer);
}

void NodeEventPublisher::Publish(rpc::NodeEvent::Kind kind, const rpc::NodeInfo& node) {
  if (kind == rpc::NodeEvent::REMOVED) {
    view_.erase(node.node_id());
  } else {
    view_[node.node_id()] = node;
  }
  rpc::NodeEvent event;
  event.set_sequence(next_sequence_++);
  event.set_kind(kind);
  *event.mutable_node() = node;
  buffer_.push_back(std::move(event));
  while (static_cast<int64_t>(buffer_.size()) > settings_.buffer_events_max) buffer_.pop_front();
  std::vector<std::string> ready;
  for (const auto& [id, waiting] : waiting_) ready.push_back(id);
  for (const auto& id : ready) Complete(id);
}

rpc::PollNodeEventsReply NodeEventPublisher::Snapshot() const {
  rpc::PollNodeEventsReply reply;
  reply.set_incarnation(incarnation_);
  reply.set_cluster_id(cluster_id_);
  reply.set_snapshot(true);
  for (const auto& [id, node] : view_) *reply.add_nodes() = node;
  reply.set_last_sequence(last_sequence());
  return reply;
}

rpc::PollNodeEventsReply NodeEventPublisher::EventsAfter(uint64_t after_sequence) const {
  rpc::PollNodeEventsReply reply;
  reply.set_incarnation(incarnation_);
  reply.set_cluster_id(cluster_id_);
  for (const auto& event : buffer_) {
    if (event.sequence() > after_sequence) *reply.add_events() = event;
  }
  reply.set_last_sequence(last_sequence());
  return reply;
}

void NodeEventPublisher::HandlePoll(const rpc::PollNodeEventsRequest& request, PollCallback done) {
  const std::string& id = request.subscriber_id();
  if (id.empty()) return done(InvalidArgumentError("PollNodeEvents needs a subscriber_id"));
  if (waiting_.count(id)) Complete(id);
  const uint64_t after = request.after_sequence();
  const bool stale = request.incarnation() != incarnation_ || after > last_sequence() ||
                     (after < last_sequence() && (buffer_.empty() || buffer_.front().sequence() > after + 1));
  if (stale) return done(Snapshot());
  if (after < last_sequence() || request.wait_ms() <= 0 || released_) return done(EventsAfter(after));
  if (static_cast<int64_t>(waiting_.size()) >= settings_.subscribers_max) {
    return done(ResourceExhaustedError(
        absl::StrCat("more than pubsub_subscribers_max (", settings_.subscribers_max, ") subscribers are waiting")));
  }
  const int64_t wait_ms = std::min(request.wait_ms(), settings_.poll_wait_max_ms);
  TimerId timer = executor_.RunAfter(wait_ms, [this, id] { Complete(id); });
  waiting_[id] = Waiting{after, timer, std::move(done)};
}

void NodeEventPublisher::ReleaseAll() {
  released_ = true;
  std::vector<std::string> ids;
  for (const auto& [id, waiting] : waiting_) ids.push_back(id);
  for (const auto& id : ids) Complete(id);
}

void NodeEventPublisher::OnSubscriberGone(const std::string& subscriber_id) {
  if (waiting_.count(subscriber_id)) Complete(subscriber_id);
}

void NodeEventPublisher::Complete(const std::string& subscriber_id) {
  auto it = waiting_.find(subscriber_id);
  if (it == waiting_.end()) return;
  Waiting waiting = std::move(it->second);
  waiting_.erase(it);
  executor_.Cancel(waiting.timer);
  waiting.done(EventsAfter(waiting.after_sequence));
}

}  // namespace halo::gcs
