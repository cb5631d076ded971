#include "sim/election_sim.h"

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gcs/leader_election.h"
#include "storage/leader_lease.h"

namespace halo::sim {
namespace {

constexpr int kCandidates = 3;
constexpr int64_t kReplyTimeoutMs = 500;  // a message lost either way surfaces as an error after this
constexpr int64_t kWritePeriodMs = 20;

// A candidate's view of time: its process' virtual time at its own clock rate.
class SkewedProcess : public Executor, public Clock {
 public:
  SkewedProcess(SimProcess& process, double rate) : process_(process), rate_(rate) {}
  void Post(std::function<void()> fn) override { process_.Post(std::move(fn)); }
  TimerId RunAfter(int64_t delay_ms, std::function<void()> fn) override {
    // Rounded up: a timer never fires before its own clock says the delay passed.
    return process_.RunAfter(static_cast<int64_t>(std::ceil(static_cast<double>(delay_ms) / rate_)), std::move(fn));
  }
  void Cancel(TimerId id) override { process_.Cancel(id); }
  int64_t MonotonicMs() const override { return static_cast<int64_t>(static_cast<double>(process_.MonotonicMs()) * rate_); }
  int64_t WallMs() const override { return process_.WallMs(); }

 private:
  SimProcess& process_;
  double rate_;
};

// The storage server: the lease, the epoch counter, and the fenced key-value table the leader writes.
struct Storage {
  std::optional<LeaderRecord> lease;
  int64_t expires_ms = 0;
  int64_t epoch = 0;
  std::map<std::string, std::string> table;
  std::map<int64_t, std::string> writer_of_epoch;
  int64_t newest_applied_epoch = 0;
};

struct World;

// One candidate: its process, clock, election and the writes it has had acknowledged.
struct Candidate {
  int index = 0;
  std::unique_ptr<SimProcess> process;
  std::unique_ptr<SkewedProcess> clock;
  std::unique_ptr<LeaderLease> lease;
  std::unique_ptr<gcs::LeaderElection> election;
  std::string holder;  // per incarnation
  int incarnation = 0;
  bool cut_off = false;  // no message passes between it and storage
  int64_t resumed_at_ms = -1000000;
  int64_t next_write = 0;
};

struct World {
  Simulation& sim;
  ElectionScenario scenario;
  Storage storage;
  std::vector<Candidate> candidates;
  std::set<std::string> acknowledged;  // keys whose write was acknowledged
  ElectionStats stats;

  bool Delivered(Candidate& candidate) {
    return !candidate.cut_off && !sim.Chance(scenario.loss_probability);
  }
  int64_t Latency() { return sim.Chance(0.02) ? sim.Uniform(100, 400) : sim.Uniform(1, 30); }

  // Sends op to storage and its answer back, as a Redis round trip would go; a lost message either way
  // makes the call fail after kReplyTimeoutMs (the caller's process may be paused or crashed by then).
  template <typename T>
  void RoundTrip(Candidate& candidate, std::function<T()> op, std::function<void(T)> done,
                 std::function<T()> failure) {
    SimProcess& process = *candidate.process;
    const uint64_t incarnation = process.epoch();
    if (!Delivered(candidate)) {
      process.RunAfter(kReplyTimeoutMs, [done, failure] { done(failure()); });
      return;
    }
    sim.At(sim.now_ms() + Latency(), [this, &candidate, &process, incarnation, op, done, failure] {
      T result = op();
      if (!Delivered(candidate)) {
        if (process.epoch() == incarnation) {
          process.RunAfter(kReplyTimeoutMs, [done, failure] { done(failure()); });
        }
        return;
      }
      sim.At(sim.now_ms() + Latency(), [&process, incarnation, done, result] {
        if (process.epoch() != incarnation) return;
        process.Post([done, result] { done(result); });
      });
    });
  }

  void ExpireLease() {
    if (storage.lease && sim.now_ms() >= storage.expires_ms) storage.lease.reset();
  }
};

// LeaderLease through the simulated network to the simulated storage.
// Requests already on their way reach storage even if their sender crashed (and its SimLease is gone), so the
// storage side captures only the world.
class SimLease : public LeaderLease {
 public:
  SimLease(World& world, Candidate& candidate) : world_(world), candidate_(candidate) {}

  void TryAcquire(const std::string& holder, const std::string& address, int64_t lease_ms,
                  std::function<void(StatusOr<std::optional<int64_t>>)> done) override {
    using R = StatusOr<std::optional<int64_t>>;
    world_.RoundTrip<R>(
        candidate_,
        [world = &world_, holder, address, lease_ms]() -> R {
          Storage& s = world->storage;
          world->ExpireLease();
          if (s.lease && s.lease->holder != holder) return std::optional<int64_t>();
          if (!s.lease) s.lease = LeaderRecord{holder, address, ++s.epoch};
          s.expires_ms = world->sim.now_ms() + lease_ms;
          return std::optional<int64_t>(s.lease->epoch);
        },
        std::move(done), [] { return R(UnavailableError("reply timeout")); });
  }
  void Renew(const std::string& holder, int64_t lease_ms, std::function<void(StatusOr<bool>)> done) override {
    world_.RoundTrip<StatusOr<bool>>(
        candidate_,
        [world = &world_, holder, lease_ms]() -> StatusOr<bool> {
          Storage& s = world->storage;
          world->ExpireLease();
          if (!s.lease || s.lease->holder != holder) return false;
          s.expires_ms = world->sim.now_ms() + lease_ms;
          return true;
        },
        std::move(done), [] { return StatusOr<bool>(UnavailableError("reply timeout")); });
  }
  void Release(const std::string& holder, std::function<void(Status)> done) override {
    world_.RoundTrip<Status>(
        candidate_,
        [world = &world_, holder]() -> Status {
          Storage& s = world->storage;
          if (s.lease && s.lease->holder == holder) s.lease.reset();
          return OkStatus();
        },
        std::move(done), [] { return UnavailableError("reply timeout"); });
  }
  void Read(std::function<void(StatusOr<std::optional<LeaderRecord>>)> done) override {
    using R = StatusOr<std::optional<LeaderRecord>>;
    world_.RoundTrip<R>(
        candidate_,
        [world = &world_]() -> R {
          world->ExpireLease();
          return world->storage.lease;
        },
        std::move(done), [] { return R(UnavailableError("reply timeout")); });
  }

 private:
  World& world_;
  Candidate& candidate_;
};

void StartCandidate(World& world, Candidate& candidate) {
  candidate.incarnation += 1;
  candidate.holder = absl::StrCat("c", candidate.index, ".", candidate.incarnation);
  candidate.lease = std::make_unique<SimLease>(world, candidate);
  candidate.election = std::make_unique<gcs::LeaderElection>(
      *candidate.clock, *candidate.clock, *candidate.lease, candidate.holder, candidate.holder + ":7001",
      gcs::LeaderElectionSettings{1000, 250, 100});
  Candidate* self = &candidate;
  candidate.election->SetListeners([&world, self](int64_t epoch) {
    world.stats.elections += 1;
    world.sim.Trace(absl::StrCat(world.sim.now_ms(), " ", self->holder, " elected epoch ", epoch));
  },
                                   [&world, self](const std::string& why) {
                                     world.sim.Trace(absl::StrCat(world.sim.now_ms(), " ", self->holder,
                                                                  " deposed: ", why));
                                   });
  candidate.election->Start();
}

// The leader's stream of fenced writes; each is acknowledged only once storage applied it.
void WriteLoop(World& world, Candidate& candidate) {
  candidate.process->RunAfter(kWritePeriodMs, [&world, &candidate] {
    WriteLoop(world, candidate);
    if (!candidate.election->leader()) return;
    const int64_t epoch = candidate.election->epoch();
    const std::string key = absl::StrCat(candidate.holder, "#", candidate.next_write++);
    const std::string holder = candidate.holder;
    world.RoundTrip<Status>(
        candidate,
        [&world, epoch, key, holder]() -> Status {
          Storage& s = world.storage;
          if (epoch != s.epoch) {
            world.stats.stale_writes_refused += 1;
            return FailedPreconditionError("fenced");
          }
          auto [writer, added] = s.writer_of_epoch.emplace(epoch, holder);
          if (!added && writer->second != holder) {
            world.sim.Violation(absl::StrCat("epoch ", epoch, " has writes from ", writer->second, " and ", holder));
          }
          if (epoch < s.newest_applied_epoch) {
            world.sim.Violation(absl::StrCat("a write of epoch ", epoch, " applied after one of epoch ",
                                             s.newest_applied_epoch));
          }
          s.newest_applied_epoch = std::max(s.newest_applied_epoch, epoch);
          s.table[key] = holder;
          world.stats.writes_applied += 1;
          return OkStatus();
        },
        [&world, key](Status status) {
          if (status.ok()) world.acknowledged.insert(key);
        },
        [] { return UnavailableError("reply timeout"); });
  });
}

void CheckLeaders(World& world) {
  world.ExpireLease();
  for (auto& candidate : world.candidates) {
    if (!candidate.process->running() || !candidate.election || !candidate.election->leader()) continue;
    // Just resumed from a pause: it may believe it leads until its overdue timers run (its writes are
    // fenced meanwhile). Checked again once a lease period has passed.
    if (world.sim.now_ms() - candidate.resumed_at_ms < 1000) continue;
    const auto& lease = world.storage.lease;
    if (!lease || lease->holder != candidate.holder) {
      world.sim.Violation(absl::StrCat("at ", world.sim.now_ms(), " ms ", candidate.holder,
                                       " believes it leads but storage's lease is held by ",
                                       lease ? lease->holder : std::string("nobody")));
    }
  }
  if (world.sim.now_ms() < world.scenario.duration_ms + 5000) {
    world.sim.At(world.sim.now_ms() + 5, [&world] { CheckLeaders(world); });
  }
}

void InjectFault(World& world) {
  if (world.sim.now_ms() >= world.scenario.duration_ms) return;
  Candidate& victim = world.candidates[world.sim.Uniform(0, kCandidates - 1)];
  const int64_t fault = world.sim.Uniform(0, 2);
  const int64_t length_ms = world.sim.Uniform(200, 3000);
  if (fault == 0 && victim.process->running()) {
    world.sim.Trace(absl::StrCat(world.sim.now_ms(), " pause ", victim.holder, " for ", length_ms, " ms"));
    victim.process->Pause();
    world.sim.At(world.sim.now_ms() + length_ms, [&world, &victim] {
      victim.resumed_at_ms = world.sim.now_ms();
      victim.process->Resume();
    });
  } else if (fault == 1 && victim.process->running()) {
    world.sim.Trace(absl::StrCat(world.sim.now_ms(), " crash ", victim.holder));
    victim.process->Crash();
    world.sim.At(world.sim.now_ms() + length_ms, [&world, &victim] {
      victim.election.reset();
      victim.process->Restart();
      StartCandidate(world, victim);
      WriteLoop(world, victim);
    });
  } else if (fault == 2 && !victim.cut_off) {
    world.sim.Trace(absl::StrCat(world.sim.now_ms(), " cut ", victim.holder, " off for ", length_ms, " ms"));
    victim.cut_off = true;
    world.sim.At(world.sim.now_ms() + length_ms, [&victim] { victim.cut_off = false; });
  }
  world.sim.At(world.sim.now_ms() + world.sim.Uniform(300, 2500), [&world] { InjectFault(world); });
}

}  // namespace

ElectionStats RunElectionScenario(Simulation& sim, const ElectionScenario& scenario) {
  World world{sim, scenario, {}, {}, {}, {}};
  world.candidates.resize(kCandidates);
  for (int i = 0; i < kCandidates; ++i) {
    Candidate& candidate = world.candidates[i];
    candidate.index = i;
    candidate.process = std::make_unique<SimProcess>(sim, absl::StrCat("candidate", i));
    candidate.clock = std::make_unique<SkewedProcess>(*candidate.process, 1.0 + sim.Uniform(-50, 50) / 1000.0);
  }
  for (auto& candidate : world.candidates) {
    sim.At(sim.Uniform(0, 200), [&world, &candidate] {
      StartCandidate(world, candidate);
      WriteLoop(world, candidate);
    });
  }
  sim.At(1000, [&world] { InjectFault(world); });
  sim.At(0, [&world] { CheckLeaders(world); });
  sim.RunUntil(scenario.duration_ms + 5000);  // faults stop at duration_ms; then things settle
  for (const auto& key : world.acknowledged) {
    if (world.storage.table.count(key) == 0) sim.Violation("acknowledged write " + key + " is not in storage");
  }
  bool someone_leads = false;
  for (auto& candidate : world.candidates) someone_leads |= candidate.election && candidate.election->leader();
  if (!someone_leads) sim.Violation("nobody leads 5 s after the faults stopped");
  // The candidates' closures refer to the world: drop them before it goes.
  for (auto& candidate : world.candidates) candidate.process->Crash();
  sim.RunUntil(scenario.duration_ms + 10000);
  return world.stats;
}

}  // namespace halo::sim
