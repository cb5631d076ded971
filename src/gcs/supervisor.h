// Self-healing for a single head: halo-gcs with gcs_restarts_max != 0 becomes a small supervisor that runs
// the real GCS as its child (the same executable and arguments) and starts it again when it dies unexpectedly,
// after a pause that doubles with each quick death (up to gcs_restart_delay_max_ms) and resets once a child
// has served for a while. A restarted GCS serves on the port the first one chose and recovers everything from
// storage, as after any GCS restart. The supervisor owns <session>/gcs.pid (so `halo stop` and systemd stop it);
// a stop signal is passed to the child and the supervisor exits with it. A child that dies before it ever
// served (bad settings, storage refused) ends the supervisor with its exit code, so `halo start` reports the
// error. The child dies with the supervisor.
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "common/settings.h"

namespace halo::gcs {

// Set in the child's environment: it runs the GCS itself instead of supervising.
inline constexpr char kSupervisedChildEnv[] = "HALO_GCS_SUPERVISED_CHILD";

// Runs until a stop signal, or the child fails to start, or gcs_restarts_max is used up. argv: the
// supervisor's own command line; stop_signals: the blocked set of BlockStopSignals(). Returns the exit code.
int SuperviseGcs(const Settings& settings, const std::vector<std::string>& argv, const sigset_t& stop_signals);

}  // namespace halo::gcs
