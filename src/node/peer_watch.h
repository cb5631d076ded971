// The processes a node's work depends on (every job's driver and every lessee, as the lease manager lists
// them), health-checked like nodes are by the GCS. The watched set follows wanted() every sync_interval_ms;
// a peer that fails failure_threshold checks in a row is reported once to gone(address) and forgotten (if it
// is wanted again, it is watched anew). Ending a job cannot be undone, so the threshold is higher than a
// node's (a busy driver may miss a few checks).
// Event-driven on one executor; the prober is handed in.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "common/executor.h"
#include "health/health_check_manager.h"

namespace halo::node {

struct PeerWatchSettings {
  health::HealthCheckSettings checks;
  int64_t sync_interval_ms = 1000;
};

class PeerWatch : public health::HealthCheckListener {
 public:
  PeerWatch(Executor& executor, health::HealthProber& prober, PeerWatchSettings settings,
            std::function<std::set<std::string>()> wanted, std::function<void(const std::string& address)> gone);

  // Starts following wanted(): now, then every sync_interval_ms.
  void Start();
  bool Watching(const std::string& address) const { return watched_.count(address) > 0; }

  void OnNodeSuspected(const std::string&) override {}
  void OnNodeRecovered(const std::string&) override {}
  void OnNodeFailed(const std::string& address) override;

 private:
  void Sync();

  Executor& executor_;
  PeerWatchSettings settings_;
  std::function<std::set<std::string>()> wanted_;
  std::function<void(const std::string&)> gone_;
  health::HealthCheckManager checks_;
  std::set<std::string> watched_;
};

}  // namespace halo::node
