#include "gcs/leader_election.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace halo::gcs {
namespace {

// Part of the lease this candidate does not count on: covers a storage clock up to 10 % faster than ours.
int64_t SafetyMarginMs(int64_t lease_ms) { return std::max<int64_t>(1, lease_ms / 10); }

}  // namespace

LeaderElection::LeaderElection(Executor& executor, Clock& clock, LeaderLease& lease, std::string holder,
                               std::string address, LeaderElectionSettings settings)
    : executor_(executor),
      clock_(clock),
      lease_(lease),
      holder_(std::move(holder)),
      address_(std::move(address)),
      settings_(settings) {}

LeaderElection::~LeaderElection() {
  if (watchdog_) executor_.Cancel(*watchdog_);
  if (next_) executor_.Cancel(*next_);
}

void LeaderElection::SetListeners(std::function<void(int64_t)> on_elected,
                                  std::function<void(const std::string&)> on_deposed) {
  on_elected_ = std::move(on_elected);
  on_deposed_ = std::move(on_deposed);
}

void LeaderElection::Start() {
  if (started_) return;
  started_ = true;
  Compete();
}

void LeaderElection::Compete() {
  next_.reset();
  if (resigned_ || leader_) return;
  const uint64_t term = term_;
  const int64_t sent_ms = clock_.MonotonicMs();
  lease_.TryAcquire(holder_, address_, settings_.lease_ms,
                    [this, term, sent_ms](StatusOr<std::optional<int64_t>> reply) {
                      OnAcquired(term, sent_ms, std::move(reply));
                    });
}

void LeaderElection::OnAcquired(uint64_t term, int64_t sent_ms, StatusOr<std::optional<int64_t>> reply) {
  if (term != term_ || resigned_ || leader_) return;
  if (reply.ok() && reply->has_value()) {
    leader_ = true;
    epoch_ = **reply;
    term_ += 1;
    known_leader_ = LeaderRecord{holder_, address_, epoch_};
    HALO_LOG_INFO("elected leader with epoch {}", epoch_);
    Extend(sent_ms);
    next_ = executor_.RunAfter(settings_.renew_interval_ms, [this, term = term_] { Renew(term); });
    if (on_elected_) on_elected_(epoch_);
    return;
  }
  // Someone else leads (or storage did not answer): learn who, then try again later.
  lease_.Read([this, term](StatusOr<std::optional<LeaderRecord>> leader) {
    if (term != term_ || leader_) return;
    if (!leader.ok()) return;
    known_leader_ = *leader;
    if (on_leader_read_) on_leader_read_(known_leader_);
  });
  next_ = executor_.RunAfter(settings_.retry_interval_ms, [this] { Compete(); });
}

void LeaderElection::Extend(int64_t sent_ms) {
  valid_until_ms_ = std::max(valid_until_ms_, sent_ms + settings_.lease_ms - SafetyMarginMs(settings_.lease_ms));
  ArmWatchdog();
}

void LeaderElection::ArmWatchdog() {
  if (watchdog_) executor_.Cancel(*watchdog_);
  // At least 1 ms: a timer may fire a little before the clock says the deadline passed; it then re-arms.
  const int64_t wait_ms = std::max<int64_t>(1, valid_until_ms_ - clock_.MonotonicMs());
  watchdog_ = executor_.RunAfter(wait_ms, [this, term = term_] {
    watchdog_.reset();
    if (term != term_ || !leader_) return;
    if (clock_.MonotonicMs() < valid_until_ms_) return ArmWatchdog();
    StepDown(absl::StrCat("its lease (epoch ", epoch_, ") was not renewed in time"));
  });
}

void LeaderElection::Renew(uint64_t term) {
  next_.reset();
  if (term != term_ || !leader_) return;
  const int64_t sent_ms = clock_.MonotonicMs();
  lease_.Renew(holder_, settings_.lease_ms, [this, term, sent_ms](StatusOr<bool> reply) {
    OnRenewed(term, sent_ms, std::move(reply));
  });
  next_ = executor_.RunAfter(settings_.renew_interval_ms, [this, term] { Renew(term); });
}

void LeaderElection::OnRenewed(uint64_t term, int64_t sent_ms, StatusOr<bool> reply) {
  if (term != term_ || !leader_) return;
  if (!reply.ok()) {
    renewal_failures_ += 1;
    return;  // keep trying; the watchdog decides
  }
  if (!*reply) return StepDown(absl::StrCat("storage says another candidate holds the lease (epoch ", epoch_, ")"));
  if (clock_.MonotonicMs() >= valid_until_ms_) return;  // too late: the watchdog is stepping down
  renewals_ += 1;
  Extend(sent_ms);
}

void LeaderElection::StepDown(const std::string& why) {
  if (!leader_) return;
  leader_ = false;
  term_ += 1;
  if (watchdog_) executor_.Cancel(*watchdog_);
  watchdog_.reset();
  if (next_) executor_.Cancel(*next_);
  next_.reset();
  HALO_LOG_WARN("stepping down as leader: {}", why);
  if (on_deposed_) on_deposed_(why);
  if (!resigned_) next_ = executor_.RunAfter(settings_.retry_interval_ms, [this] { Compete(); });
}

void LeaderElection::Resign(std::function<void()> done) {
  const bool was_leader = leader_;
  resigned_ = true;
  if (was_leader) StepDown("resigned");
  if (next_) executor_.Cancel(*next_);
  next_.reset();
  if (!was_leader) return done();
  lease_.Release(holder_, [done = std::move(done)](Status) { done(); });
}

}  // namespace halo::gcs
