// The faults a SimCluster scenario injects (see sim_cluster.h): node agent and host crashes and pauses, cuts
// and partitions, storage stalls, GCS crashes with a restart or a failover, drains, stops, worker kills, and
// new nodes.
#include "absl/strings/str_cat.h"
#include "sim/sim_cluster_parts.h"

namespace halo::sim {
namespace {

// With only GCS faults: how long the GCS serves at least between two crashes.
constexpr int64_t kCalmServingMs = 1000;

}  // namespace

void SimCluster::ScheduleNextFault() {
  const int64_t gap = sim_.Uniform(scenario_.mean_fault_gap_ms / 2, scenario_.mean_fault_gap_ms * 3 / 2);
  sim_.At(sim_.now_ms() + gap, [this] {
    if (!faults_on_) return;
    InjectFault();
    ScheduleNextFault();
  });
}

void SimCluster::InjectFault() {
  ++stats_.faults;
  int64_t kind = sim_.Uniform(0, 9);
  if (scenario_.gcs_outages_only) kind = sim_.Chance(0.5) ? 4 : 5;
  Node* node = PickNode(/*running_only=*/kind != 1);
  const std::string head_host = gcs_process().host();
  switch (kind) {
    case 0: {  // crash a node for good: its agent alone (its workers run on until their lease lapses), or the host
      if (!node) return;
      node->faulted = true;
      node->crashed_at_ms = sim_.now_ms();
      const std::string id = node->info.node_id();
      if (sim_.Chance(0.5)) {
        sim_.Trace("power off host " + node->process.host());
        CrashHost(*node);
      } else {
        sim_.Trace("crash " + node->process.name());
        node->process.Crash();
        ResetHeldCalls(*node);
        if (GcsServing()) {
          // The kernel closes its sockets: the GCS sees the connection drop.
          gcs_process().RunAfter(sim_.Uniform(1, 20), [this, id] {
            if (GcsServing()) gcs_->managers->health().OnConnectionLost(id);
          });
        }
      }
      if (GcsServing()) ScheduleDetectionCheck(id, sim_.now_ms());
      return;
    }
    case 1: {  // pause a node agent (SIGSTOP), or every process of its host, resume later
      if (!node || node->paused_at_ms >= 0) return;
      node->faulted = true;
      const int64_t length = sim_.Uniform(200, 6000);
      if (sim_.Chance(0.5)) {
        sim_.Trace("pause host " + node->process.host() + " for " + std::to_string(length) + "ms");
        PauseHost(*node, length);
      } else {
        sim_.Trace("pause " + node->process.name() + " for " + std::to_string(length) + "ms");
        node->paused_at_ms = sim_.now_ms();
        node->process.Pause();
        sim_.At(sim_.now_ms() + length, [this, node] {
          sim_.Trace("resume " + node->process.name());
          node->paused_at_ms = -1;
          node->process.Resume();
        });
      }
      if (length > DetectionBoundMs()) ScheduleDetectionCheck(node->info.node_id(), sim_.now_ms());
      return;
    }
    case 2:
    case 3: {  // cut one direction between the head and a node host for a while, sometimes both (a partition),
               // or two node hosts apart
      if (!node) return;
      node->faulted = true;
      Node* other = sim_.Chance(0.2) ? PickNode(false) : nullptr;
      const bool to_node = kind == 2;
      const bool both = other != nullptr || sim_.Chance(0.3);
      const std::string peer = other != nullptr ? other->process.host() : head_host;
      if (peer == node->process.host()) return;
      if (other != nullptr) other->faulted = true;
      const std::string from = to_node ? peer : node->process.host();
      const std::string to = to_node ? node->process.host() : peer;
      const int64_t length = sim_.Uniform(300, 5000);
      sim_.Trace((both ? "partition " : "cut ") + from + "->" + to + " for " + std::to_string(length) + "ms");
      network_.Cut(from, to);
      if (both) network_.Cut(to, from);
      sim_.At(sim_.now_ms() + length, [this, from, to, both] {
        network_.Heal(from, to);
        if (both) network_.Heal(to, from);
      });
      return;
    }
    case 4: {  // storage stalls (Redis restarting, a slow disk)
      if (storage_process_.paused()) return;
      const int64_t length = sim_.Uniform(100, 2000);
      sim_.Trace("storage stalls for " + std::to_string(length) + "ms");
      storage_process_.Pause();
      sim_.At(sim_.now_ms() + length, [this] { storage_process_.Resume(); });
      return;
    }
    case 5: {  // GCS crash, then a restart in place or a failover to the other head host
      if (!gcs_) return;
      // Outages, not a crash loop: with only GCS faults, it serves a while between crashes. (A GCS that
      // serves for less than a renewal interval splits the nodes into those that heard a grant, which then
      // refuse to vouch, and those that did not, whose leases may lapse: safe, but not available.)
      if (scenario_.gcs_outages_only &&
          (gcs_serving_since_ms_ < 0 || sim_.now_ms() - gcs_serving_since_ms_ < kCalmServingMs)) {
        return;
      }
      CrashGcs();
      const bool failover = sim_.Chance(0.5);
      // A standby takes over once the leader lease lapsed; a supervisor restarts in place sooner.
      const int64_t down = failover ? sim_.Uniform(settings_.leader_lease_ms / 2, settings_.leader_lease_ms)
                                    : sim_.Uniform(50, 3000);
      sim_.At(sim_.now_ms() + down, [this, failover] {
        if (gcs_) return;  // the settling brought it back already
        if (failover) {
          head_ = 1 - head_;
          ++stats_.failovers;
        }
        BootGcs();
      });
      return;
    }
    case 6: {  // drain
      if (!node || !GcsServing()) return;
      node->faulted = true;
      const int64_t deadline = sim_.Chance(0.5) ? 0 : sim_.Uniform(1, 3000);
      const std::string id = node->info.node_id();
      sim_.Trace("drain " + node->process.name());
      gcs_process().Post([this, id, deadline] {
        if (GcsServing()) gcs_->managers->nodes().HandleDrain(id, "sim", deadline, [](Status) {});
      });
      return;
    }
    case 7: {  // graceful stop (SIGTERM)
      if (!node) return;
      node->faulted = true;
      sim_.Trace("stop " + node->process.name());
      node->process.Post([node] { node->agent->Stop(); });
      return;
    }
    case 8:
      if (scenario_.actors) return KillRandomWorker();
      return AddNode();
    default:
      AddNode();
  }
}

void SimCluster::CrashHost(Node& node) {
  network_.SetHostDown(node.process.host(), true);
  node.process.Crash();
  for (auto& [address, worker] : workers_) {
    if (&worker->node == &node) worker->process.Crash();  // no reset reaches anyone: the host is gone
  }
}

void SimCluster::PauseHost(Node& node, int64_t length_ms) {
  node.paused_at_ms = sim_.now_ms();
  node.process.Pause();
  for (auto& [address, worker] : workers_) {
    if (&worker->node == &node) worker->process.Pause();
  }
  sim_.At(sim_.now_ms() + length_ms, [this, &node] {
    sim_.Trace("resume host " + node.process.host());
    node.paused_at_ms = -1;
    // Workers first or the agent first: either order may happen; the workers check their lease on waking.
    const bool agent_first = sim_.Chance(0.5);
    if (agent_first) node.process.Resume();
    for (auto& [address, worker] : workers_) {
      if (&worker->node == &node) worker->process.Resume();
    }
    if (!agent_first) node.process.Resume();
  });
}

}  // namespace halo::sim
