// A cluster on loopback with this test process as its driver: a head (with its own node agent) and some
// more node agents, each started with `halo start` in a session of its own, then halo::Init against the head.
// Shared by the integration suites that run tasks and actors; per test (SetUp) or per suite (SetUpTestSuite).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "halo/halo.h"
#include "integration/driver_helpers.h"
#include "integration/head_fixture.h"
#include "integration/node_fixture.h"

namespace halo::testing {

class DriverCluster {
 public:
  DriverCluster(std::vector<std::string> head_args, size_t nodes, std::vector<std::string> node_args)
      : head_(std::move(head_args)), node_args_(std::move(node_args)) {
    for (size_t i = 0; i < nodes; ++i) nodes_.push_back(std::make_unique<Node>());
  }
  ~DriverCluster() {
    if (joined_) halo::Shutdown();
  }
  // Starts the head and the nodes and joins as the driver. Fails the test (fatally) naming what did not start.
  void Start() {
    auto started = head_.Start();
    ASSERT_EQ(started.exit_code, 0) << "the head did not start: " << started.output;
    for (auto& node : nodes_) {
      auto joined = node->Start(head_.address(), node_args_);
      ASSERT_EQ(joined.exit_code, 0) << "a node agent did not start: " << joined.output;
    }
    InitDriver(head_.address());
    joined_ = true;
  }
  Head& head() { return head_; }
  Node& node(size_t i) { return *nodes_.at(i); }
  size_t size() const { return nodes_.size(); }

 private:
  Head head_;
  std::vector<std::string> node_args_;
  std::vector<std::unique_ptr<Node>> nodes_;
  bool joined_ = false;
};

}  // namespace halo::testing
