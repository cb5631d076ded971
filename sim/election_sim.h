// Head election under the simulator: three GCS candidates (the real LeaderElection manager, each in a
// simulated process whose clock may run up to 5 % fast or slow) compete for a lease held by a simulated
// storage server with its own clock. The leader writes continuously, fenced with its epoch, as the GCS writes
// to Redis. Faults: candidates paused past their lease, crashed and restarted, cut off from storage;
// messages delayed and lost (a lost message surfaces as an error after a timeout, as a Redis connection's
// reply timeout does). Checked throughout and at the end:
// - a candidate that believes it leads holds the lease by storage's clock (so two never lead at once);
// - each epoch's applied writes all come from one candidate;
// - no write is applied from an epoch older than one already applied;
// - every acknowledged write is in storage at the end.
#pragma once

#include <cstdint>

#include "sim/simulation.h"

namespace halo::sim {

struct ElectionScenario {
  int64_t duration_ms = 30000;
  double loss_probability = 0.01;
};

struct ElectionStats {
  int64_t elections = 0;
  int64_t writes_applied = 0;
  int64_t stale_writes_refused = 0;
};

// Runs one seed's scenario in sim; violations go to sim.Violation.
ElectionStats RunElectionScenario(Simulation& sim, const ElectionScenario& scenario);

}  // namespace halo::sim
