// Helpers for tests whose process is itself a Halo driver: joining a cluster, and reading a node's object
// store counters.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>

#include "halo/halo.h"
#include "proto/node.grpc.pb.h"
#include "rpc/object_transfer.h"

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

}  // namespace halo::testing
