// One head candidate's side of leader election. A standby tries to take the lease every retry_interval_ms
// (and learns who leads meanwhile); once it holds the lease it renews it every renew_interval_ms. Its own
// deadline runs on the monotonic clock from when each successful request was *sent*, minus a safety margin
// for clock-rate differences, so it always ends before storage lets the lease lapse: when that deadline
// passes without a renewal (storage unreachable, the process was paused) it steps down at once, before
// anybody else can be elected. A renewal that storage refuses (someone else holds the lease) also deposes it.
// After stepping down it competes again as a standby. Every election yields a new, larger epoch, which the
// caller uses to fence its writes.
// Event-driven on one executor; time and the lease store are handed in.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/executor.h"
#include "storage/leader_lease.h"

namespace halo::gcs {

struct LeaderElectionSettings {
  int64_t lease_ms = 1000;
  int64_t renew_interval_ms = 250;
  int64_t retry_interval_ms = 100;
};

class LeaderElection {
 public:
  // holder: unique per process incarnation; address: where this candidate serves when it leads.
  LeaderElection(Executor& executor, Clock& clock, LeaderLease& lease, std::string holder, std::string address,
                 LeaderElectionSettings settings);
  ~LeaderElection();

  // on_elected(epoch) when this candidate becomes leader; on_deposed(why) when it stops being one.
  void SetListeners(std::function<void(int64_t epoch)> on_elected, std::function<void(const std::string&)> on_deposed);
  // on_read(leader) each time a standby has read who leads (nullopt: nobody holds the lease).
  void SetLeaderObserver(std::function<void(const std::optional<LeaderRecord>&)> on_read) {
    on_leader_read_ = std::move(on_read);
  }
  void Start();
  // A graceful stop: gives the lease up (a standby takes over without waiting for it to lapse) and stops
  // competing. done runs once the release was answered (or failed).
  void Resign(std::function<void()> done);

  bool leader() const { return leader_; }
  // Leads now by its own clock: its lease holds (a candidate woken from a pause may still think it leads
  // until its watchdog runs; this is false for it already).
  bool LeadsNow() const { return leader_ && clock_.MonotonicMs() < valid_until_ms_; }
  int64_t epoch() const { return epoch_; }
  // Renewals storage confirmed, and renewal attempts that got no answer (storage unreachable), so far.
  int64_t renewals() const { return renewals_; }
  int64_t renewal_failures() const { return renewal_failures_; }
  // Who leads, as last read by this candidate (standbys redirect callers there).
  const std::optional<LeaderRecord>& known_leader() const { return known_leader_; }

 private:
  void Compete();
  void OnAcquired(uint64_t term, int64_t sent_ms, StatusOr<std::optional<int64_t>> reply);
  void Renew(uint64_t term);
  void OnRenewed(uint64_t term, int64_t sent_ms, StatusOr<bool> reply);
  void Extend(int64_t sent_ms);
  // Steps down once valid_until_ms_ passes by this candidate's clock.
  void ArmWatchdog();
  void StepDown(const std::string& why);

  Executor& executor_;
  Clock& clock_;
  LeaderLease& lease_;
  std::string holder_;
  std::string address_;
  LeaderElectionSettings settings_;
  std::function<void(int64_t)> on_elected_;
  std::function<void(const std::string&)> on_deposed_;
  std::function<void(const std::optional<LeaderRecord>&)> on_leader_read_;
  bool started_ = false;
  bool resigned_ = false;
  bool leader_ = false;
  int64_t epoch_ = 0;
  uint64_t term_ = 0;              // bumped on every step up or down: stale replies are ignored
  int64_t valid_until_ms_ = 0;     // monotonic: this candidate leads until then unless renewed
  int64_t renewals_ = 0;
  int64_t renewal_failures_ = 0;
  std::optional<TimerId> watchdog_;
  std::optional<TimerId> next_;    // the next acquire attempt or renewal
  std::optional<LeaderRecord> known_leader_;
};

}  // namespace halo::gcs
