// Decides that a node is dead. Pull-based: probes each node through a Prober, one probe in flight per node,
// the next `period` after the last one finished. The first failed probe reports the node suspected; a success
// clears that; `failure_threshold` consecutive failures report it failed, after which the node is forgotten.
// A dropped connection is a hint to probe at once rather than wait for the period.
//
// Bounds this implies (used by the simulator's invariants): a node that stops answering is reported failed
// within timeout_ms + failure_threshold * (period_ms + timeout_ms) plus network delays (an answer it sent
// just before stopping may arrive up to timeout_ms later and still count), + initial_delay_ms if it was
// just added; one whose probes fail fast (connection refused) within about failure_threshold * period_ms.
// Event-driven on the GCS executor; knows nothing of gRPC.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "common/executor.h"

namespace halo::health {

struct HealthCheckSettings {
  int64_t initial_delay_ms = 200;
  int64_t period_ms = 300;
  int64_t timeout_ms = 700;
  int64_t failure_threshold = 3;
};

// Sends one health probe. done(true) iff the node answered SERVING within timeout_ms. done runs exactly
// once, on the executor. Implementations must enforce the timeout themselves.
class HealthProber {
 public:
  virtual ~HealthProber() = default;
  virtual void Probe(const std::string& node_id, const std::string& address, int64_t timeout_ms,
                     std::function<void(bool healthy)> done) = 0;
  // The node is no longer probed; its connection may be released.
  virtual void Forget(const std::string& node_id) { (void)node_id; }
};

class HealthCheckListener {
 public:
  virtual ~HealthCheckListener() = default;
  virtual void OnNodeSuspected(const std::string& node_id) = 0;
  virtual void OnNodeRecovered(const std::string& node_id) = 0;
  virtual void OnNodeFailed(const std::string& node_id) = 0;
};

class HealthCheckManager {
 public:
  HealthCheckManager(Executor& executor, HealthProber& prober, HealthCheckListener& listener,
                     HealthCheckSettings settings)
      : executor_(executor), prober_(prober), listener_(listener), settings_(settings) {}
  ~HealthCheckManager();

  // Starts probing node_id (after initial_delay_ms). Adding a node already checked is a no-op.
  void AddNode(const std::string& node_id, const std::string& address);
  // As AddNode for a node already suspected (reported failed, but not declared dead): probed after period_ms;
  // one answered probe reports it recovered, failure_threshold - 1 more failures report it failed again.
  void AddSuspectedNode(const std::string& node_id, const std::string& address);
  // Stops probing; a probe in flight is ignored when it returns.
  void RemoveNode(const std::string& node_id);
  // The connection to the node dropped: probe now unless a probe is already in flight.
  void OnConnectionLost(const std::string& node_id);

  bool IsChecked(const std::string& node_id) const { return nodes_.count(node_id) > 0; }
  int ConsecutiveFailures(const std::string& node_id) const;
  size_t size() const { return nodes_.size(); }

 private:
  struct NodeCheck {
    std::string address;
    int failures = 0;
    bool probe_in_flight = false;
    TimerId timer = 0;
    uint64_t generation = 0;  // distinguishes a re-added node from the removed one
  };
  void StartProbe(const std::string& node_id);
  void OnProbeResult(const std::string& node_id, uint64_t generation, bool healthy);
  void Schedule(const std::string& node_id, NodeCheck& check, int64_t delay_ms);

  Executor& executor_;
  HealthProber& prober_;
  HealthCheckListener& listener_;
  HealthCheckSettings settings_;
  std::map<std::string, NodeCheck> nodes_;
  uint64_t next_generation_ = 1;
};

}  // namespace halo::health
