// A node's lease chain, from the GCS down to its workers: the node's own lease (node/node_lease_keeper,
// renewed with the GCS or vouched for by peers) bounds its workers' lease (node/worker_lease_renewer), so a
// worker never serves past the moment its node may serve. Losing the node lease (lapsed, or refused because
// the GCS declared the node dead) revokes the workers' lease at once and ends the agent through on_exit.
// Leaving of its own accord (a stop, a drained node going idle) fences both before the GCS hears of it.
// One unit for halo-node and the simulator. Event-driven on the agent's executor; the clock, the GCS, the
// peers and where the workers' deadline is written are handed in.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/executor.h"
#include "rpc/gcs_node_client.h"
#include "node/node_lease_keeper.h"
#include "node/worker_lease_renewer.h"

namespace halo::node {

struct NodeLeaseChainSettings {
  NodeLeaseKeeperSettings node;
  int64_t worker_lease_ms = 500;
};

class NodeLeaseChain : private NodeLeaseListener {
 public:
  using ExitFn = std::function<void(int code, const std::string& why)>;
  NodeLeaseChain(Executor& executor, Clock& clock, GcsNodeClient& gcs, VouchPeers& peers, std::string node_id,
                 NodeLeaseChainSettings settings, WorkerLeaseRenewer::Sink workers_deadline, ExitFn on_exit);

  // At once, before any worker starts: workers' deadline 0 until the node holds its own lease.
  void Start();
  // Once the node is registered: begins renewing the node lease.
  void StartRenewing();
  // The agent leaves of its own accord: no worker serves, and no renewal or vouch happens, from now on.
  void Leave();
  // The agent is ending for any reason: no worker serves from now on.
  void RevokeWorkers() { workers_.Revoke(); }
  rpc::VouchReply HandleVouch(const rpc::VouchRequest& request) const { return keeper_.HandleVouch(request); }

  const NodeLeaseKeeper& keeper() const { return keeper_; }
  int64_t workers_deadline_ms() const { return workers_.deadline_ms(); }

 private:
  void OnDeadline(int64_t deadline_ms) override { workers_.LimitTo(deadline_ms); }
  void OnLapsed(const std::string& why) override;
  void OnRefused(const std::string& why) override;

  WorkerLeaseRenewer workers_;
  NodeLeaseKeeper keeper_;
  ExitFn on_exit_;
};

}  // namespace halo::node
