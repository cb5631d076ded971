#include "node/node_lease_chain.h"

namespace halo::node {

NodeLeaseChain::NodeLeaseChain(Executor& executor, Clock& clock, GcsNodeClient& gcs, VouchPeers& peers,
                               std::string node_id, NodeLeaseChainSettings settings,
                               WorkerLeaseRenewer::Sink workers_deadline, ExitFn on_exit)
    : workers_(executor, clock, settings.worker_lease_ms, std::move(workers_deadline)),
      keeper_(executor, clock, gcs, peers, std::move(node_id), settings.node, *this),
      on_exit_(std::move(on_exit)) {}

void NodeLeaseChain::Start() {
  workers_.LimitTo(0);
  workers_.Start();
}

void NodeLeaseChain::StartRenewing() { keeper_.Start(); }

void NodeLeaseChain::Leave() {
  keeper_.Fence();
  workers_.Revoke();
}

void NodeLeaseChain::OnLapsed(const std::string& why) {
  workers_.Revoke();
  on_exit_(1, why);
}

void NodeLeaseChain::OnRefused(const std::string& why) {
  workers_.Revoke();
  on_exit_(1, why);
}

}  // namespace halo::node
