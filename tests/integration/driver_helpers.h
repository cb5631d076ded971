// Helpers for tests whose process is itself a Halo driver: joining a cluster, reading a node's object
// store counters, and waiting for the GCS to see a node in some state.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>

#include "halo/halo.h"
#include "proto/node.grpc.pb.h"
#include "rpc/gcs_client.h"
#include "rpc/object_transfer.h"
#include "support/test_env.h"

namespace halo::testing {

// halo::Init(argc, argv) with `--address address`, as a user's program would be started.
inline void InitDriver(const std::string& address) {
  std::string flag = "--address", copy = address;
  char program[] = "halo_test_driver";
  char* argv[] = {program, flag.data(), copy.data(), nullptr};
  halo::Init(3, argv);
}

inline rpc::GetStoreStatsReply StoreStats(const std::string& node_address) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  rpc::GetStoreStatsReply reply;
  auto status = ObjectStoreStub(node_address).GetStoreStats(&context, {}, &reply);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return reply;
}

// Polls the GCS until it reports node_id in state (true) or timeout passes (false).
inline bool WaitForNodeState(const std::string& gcs_address, const std::string& node_id, rpc::NodeState state,
                             std::chrono::milliseconds timeout) {
  GcsClient gcs(gcs_address, 2000);
  return WaitUntil(
      [&] {
        auto nodes = gcs.GetAllNodes();
        if (!nodes.ok()) return false;
        for (const auto& node : *nodes) {
          if (node.node_id() == node_id) return node.state() == state;
        }
        return false;
      },
      timeout);
}

}  // namespace halo::testing
