#include "node/node_lease_keeper.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/logging.h"

namespace halo::node {

NodeLeaseKeeper::NodeLeaseKeeper(Executor& executor, Clock& clock, GcsNodeClient& gcs, VouchPeers& peers,
                                 std::string node_id, NodeLeaseKeeperSettings settings, NodeLeaseListener& listener)
    : executor_(executor), clock_(clock), gcs_(gcs), peers_(peers), node_id_(std::move(node_id)),
      settings_(settings), listener_(listener), lease_ms_(settings.lease_ms) {
  HALO_CHECK(settings_.renew_interval_ms > 0 && settings_.lease_ms > settings_.vouch_after_ms);
}

NodeLeaseKeeper::~NodeLeaseKeeper() {
  *alive_ = false;
  if (renew_timer_ != 0) executor_.Cancel(renew_timer_);
  if (lapse_timer_ != 0) executor_.Cancel(lapse_timer_);
}

void NodeLeaseKeeper::Start() {
  if (started_) return;
  started_ = true;
  last_grant_ms_ = clock_.MonotonicMs();
  granted_sent_ms_ = last_grant_ms_;
  Renew();
}

bool NodeLeaseKeeper::HearsNoGrants() const {
  return clock_.MonotonicMs() - last_grant_ms_ >= settings_.vouch_after_ms;
}

rpc::VouchReply NodeLeaseKeeper::HandleVouch(const rpc::VouchRequest&) const {
  rpc::VouchReply reply;
  reply.set_node_id(node_id_);
  // Its own lease must hold too: a process woken after its deadline has not run its lapse timer yet.
  reply.set_vouch(started_ && !fenced_ && !refused_ && HearsNoGrants() && clock_.MonotonicMs() < deadline_ms_);
  return reply;
}

void NodeLeaseKeeper::Fence() {
  if (fenced_) return;
  fenced_ = true;
  deadline_ms_ = 0;
  listener_.OnDeadline(0);
}

void NodeLeaseKeeper::Renew() {
  renew_timer_ = 0;
  if (fenced_ || refused_) return;
  rpc::RenewNodeLeaseRequest request;
  request.set_node_id(node_id_);
  const uint64_t seq = next_seq_++;
  request.set_seq(seq);
  request.set_acked_seq(acked_seq_);
  request.set_known_membership_version(member_ids_.empty() ? 0 : version_);
  const int64_t sent_ms = clock_.MonotonicMs();
  gcs_.AsyncRenewLease(request, settings_.renew_interval_ms * 2,
                       [this, alive = alive_, seq, sent_ms](StatusOr<rpc::RenewNodeLeaseReply> reply) {
                         if (*alive) OnRenewed(seq, sent_ms, std::move(reply));
                       });
  if (HearsNoGrants()) AskPeers();
  renew_timer_ = executor_.RunAfter(settings_.renew_interval_ms, [this] { Renew(); });
}

void NodeLeaseKeeper::OnRenewed(uint64_t seq, int64_t sent_ms, StatusOr<rpc::RenewNodeLeaseReply> reply) {
  if (fenced_ || refused_ || !reply.ok()) return;
  if (!reply->granted()) {
    refused_ = true;
    Extend(0);
    listener_.OnRefused(reply->reason());
    return;
  }
  const int64_t now = clock_.MonotonicMs();
  // A grant that comes back after the deadline passed cannot revive the lease (Lapse ran or will at once).
  if (deadline_ms_ > 0 && now >= deadline_ms_) return;
  if (seq > acked_seq_) {
    acked_seq_ = seq;
    last_grant_ms_ = std::max(last_grant_ms_, now);
    granted_sent_ms_ = std::max(granted_sent_ms_, sent_ms);
    if (reply->members_included()) {
      version_ = reply->membership_version();
      member_ids_.assign(reply->member_ids().begin(), reply->member_ids().end());
      member_addresses_.assign(reply->member_addresses().begin(), reply->member_addresses().end());
    }
    if (reply->lease_ms() > 0) lease_ms_ = reply->lease_ms();
  }
  Extend(sent_ms + reply->lease_ms() - reply->lease_ms() * settings_.clock_margin_percent / 100);
}

void NodeLeaseKeeper::AskPeers() {
  if (round_in_flight_ || member_ids_.empty()) return;
  round_in_flight_ = true;
  const uint64_t round = ++round_;
  const int64_t asked_ms = clock_.MonotonicMs();
  struct Tally {
    std::set<std::string> vouched;
    size_t waiting = 0;
    size_t members = 0;
  };
  auto tally = std::make_shared<Tally>();
  tally->members = member_ids_.size();
  tally->vouched.insert(node_id_);  // it hears no grants itself
  rpc::VouchRequest request;
  request.set_node_id(node_id_);
  request.set_membership_version(version_);
  const std::set<std::string> members(member_ids_.begin(), member_ids_.end());
  auto finish = [this, tally, round, asked_ms] {
    if (round != round_) return;
    round_in_flight_ = false;
    if (fenced_ || refused_) return;
    if (2 * tally->vouched.size() > tally->members && asked_ms - granted_sent_ms_ < settings_.vouch_limit_ms) {
      Extend(asked_ms + lease_ms_ - lease_ms_ * settings_.clock_margin_percent / 100);
    }
  };
  for (size_t i = 0; i < member_ids_.size(); ++i) {
    if (member_ids_[i] == node_id_) continue;
    tally->waiting += 1;
    peers_.Vouch(member_addresses_[i], request, settings_.renew_interval_ms,
                 [alive = alive_, tally, members, finish](StatusOr<rpc::VouchReply> reply) {
                   if (!*alive) return;
                   if (reply.ok() && reply->vouch() && members.count(reply->node_id()) > 0) {
                     tally->vouched.insert(reply->node_id());
                   }
                   if (--tally->waiting == 0) finish();
                 });
  }
  if (tally->waiting == 0) finish();
}

void NodeLeaseKeeper::Extend(int64_t new_deadline_ms) {
  if (fenced_) return;
  if (refused_) {
    deadline_ms_ = 0;
    listener_.OnDeadline(0);
    return;
  }
  if (new_deadline_ms <= deadline_ms_) return;
  // Extensions only ever continue a lease that still holds (a first grant starts one).
  const int64_t now = clock_.MonotonicMs();
  if (deadline_ms_ > 0 && now >= deadline_ms_) return;
  deadline_ms_ = new_deadline_ms;
  listener_.OnDeadline(deadline_ms_);
  ArmLapse();
}

void NodeLeaseKeeper::ArmLapse() {
  if (lapse_timer_ != 0) executor_.Cancel(lapse_timer_);
  lapse_timer_ = executor_.RunAfter(std::max<int64_t>(0, deadline_ms_ - clock_.MonotonicMs()), [this] {
    lapse_timer_ = 0;
    if (clock_.MonotonicMs() >= deadline_ms_) {
      Lapse();
    } else {
      ArmLapse();
    }
  });
}

void NodeLeaseKeeper::Lapse() {
  if (fenced_) return;
  fenced_ = true;
  listener_.OnDeadline(0);
  const std::string why = absl::StrCat(
      "its lease lapsed: no grant from the GCS for ", clock_.MonotonicMs() - last_grant_ms_,
      " ms and no majority of its ", member_ids_.size(), " members vouched that the GCS is down for them too");
  HALO_LOG_WARN("node {}: {}", node_id_, why);
  listener_.OnLapsed(why);
}

}  // namespace halo::node
