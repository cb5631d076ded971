// VouchPeers over gRPC: one channel per peer node agent (rpc_util::PeerCache); answers reach the executor
// only while this object exists.
#pragma once

#include <memory>

#include "common/executor.h"
#include "node/node_lease_keeper.h"

namespace halo::node {

std::unique_ptr<VouchPeers> MakeGrpcVouchPeers(Executor& executor);

}  // namespace halo::node
