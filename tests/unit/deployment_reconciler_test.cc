// DeploymentReconciler on a fake executor and a fake actor directory: reaching the target, replacing dead and
// unhealthy replicas, rolling updates and drains that never drop below the target, spreading, autoscaling,
// and deletes.
#include <gtest/gtest.h>

#include <algorithm>

#include "serve/deployment_reconciler.h"
#include "support/fake_executor.h"

namespace halo::serve {
namespace {

class FakeDirectory : public ReplicaDirectory {
 public:
  void Create(const std::string& service, const rpc::DeploymentConfig& deployment, int64_t version,
              const std::set<std::string>& avoid, std::function<void(StatusOr<std::string>)> done) override {
    const std::string id = "a" + std::to_string(next_++);
    ReplicaView view;
    view.state = rpc::PENDING_CREATION;
    view.node_id = "n" + std::to_string(next_ % 3);
    replicas[id] = view;
    versions[id] = version;
    avoided.push_back(avoid);
    done(id);
  }
  void Stop(const std::string& actor_id) override {
    stopped.push_back(actor_id);
    replicas.erase(actor_id);
  }
  std::optional<ReplicaView> Describe(const std::string& actor_id) const override {
    auto it = replicas.find(actor_id);
    if (it == replicas.end()) return std::nullopt;
    return it->second;
  }
  void AllAlive() {
    for (auto& [id, view] : replicas) view.state = rpc::ACTOR_ALIVE;
  }
  int64_t Count(rpc::ActorState state, int64_t version = -1) const {
    int64_t n = 0;
    for (const auto& [id, view] : replicas) n += view.state == state && (version < 0 || versions.at(id) == version);
    return n;
  }

  std::map<std::string, ReplicaView> replicas;
  std::map<std::string, int64_t> versions;
  std::vector<std::string> stopped;
  std::vector<std::set<std::string>> avoided;
  int next_ = 1;
};

rpc::ServiceConfig Service(int32_t replicas, bool autoscale = false) {
  rpc::ServiceConfig config;
  config.set_name("greeter");
  rpc::ApplicationConfig* application = config.add_applications();
  application->set_name("hello");
  application->set_route_prefix("/hello");
  rpc::DeploymentConfig* deployment = application->add_deployments();
  deployment->set_name("Greeter");
  deployment->set_factory("MakeGreeter");
  deployment->set_num_replicas(replicas);
  if (autoscale) {
    deployment->mutable_autoscaling()->set_min_replicas(1);
    deployment->mutable_autoscaling()->set_max_replicas(5);
    deployment->mutable_autoscaling()->set_target_ongoing_requests(2);
  }
  return config;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcilerTest() : reconciler_(executor_, executor_, directory_, ReconcilerSettings{100, 1000, 4}) {}
  void Round() { executor_.AdvanceMs(100); }
  DeploymentStatus Status() { return reconciler_.Status().at(0); }

  testing::FakeExecutor executor_;
  FakeDirectory directory_;
  DeploymentReconciler reconciler_;
};

TEST_F(ReconcilerTest, ReachesTheTargetAndReplacesDeadAndUnhealthyReplicas) {
  reconciler_.Deploy(Service(3), 1);
  reconciler_.Start();
  EXPECT_EQ(directory_.replicas.size(), 3u);
  directory_.AllAlive();
  Round();
  EXPECT_EQ(Status().healthy, 3);
  EXPECT_EQ(directory_.replicas.size(), 3u) << "started more than the target";
  const std::string dead = directory_.replicas.begin()->first;
  directory_.replicas[dead].state = rpc::ACTOR_DEAD;
  const std::string sick = std::next(directory_.replicas.begin())->first;
  directory_.replicas[sick].healthy = false;
  Round();
  EXPECT_NE(std::find(directory_.stopped.begin(), directory_.stopped.end(), sick), directory_.stopped.end());
  EXPECT_EQ(directory_.Count(rpc::PENDING_CREATION), 2) << "the dead and the unhealthy one are replaced";
  EXPECT_EQ(Status().replaced, 2);
}

TEST_F(ReconcilerTest, RollingUpdateNeverDropsBelowTheTargetNorSurgesPastOneMore) {
  reconciler_.Deploy(Service(3), 1);
  reconciler_.Start();
  directory_.AllAlive();
  Round();
  reconciler_.Deploy(Service(3), 2);
  for (int round = 0; round < 20; ++round) {
    Round();
    EXPECT_GE(directory_.Count(rpc::ACTOR_ALIVE), 3) << "round " << round;
    EXPECT_LE(directory_.replicas.size(), 4u) << "round " << round;
    directory_.AllAlive();  // each new replica comes up before the next round
  }
  EXPECT_EQ(directory_.Count(rpc::ACTOR_ALIVE, 2), 3);
  EXPECT_EQ(directory_.Count(rpc::ACTOR_ALIVE, 1), 0);
  EXPECT_EQ(directory_.stopped.size(), 3u);
}

TEST_F(ReconcilerTest, DrainingReplicaIsReplacedElsewhereBeforeItStops) {
  reconciler_.Deploy(Service(2), 1);
  reconciler_.Start();
  directory_.AllAlive();
  Round();
  const std::string draining = directory_.replicas.begin()->first;
  directory_.replicas[draining].node_draining = true;
  Round();
  EXPECT_TRUE(directory_.replicas.count(draining)) << "stopped before its replacement served";
  EXPECT_EQ(directory_.replicas.size(), 3u);
  EXPECT_EQ(directory_.avoided.back().count(directory_.replicas[draining].node_id), 1u)
      << "the replacement may land on the node that holds a replica already";
  directory_.AllAlive();
  Round();
  EXPECT_FALSE(directory_.replicas.count(draining));
  EXPECT_EQ(directory_.Count(rpc::ACTOR_ALIVE), 2);
}

TEST_F(ReconcilerTest, AutoscalingGoesUpAtOnceAndDownOnlyAfterTheDelay) {
  reconciler_.Deploy(Service(0, /*autoscale=*/true), 1);
  reconciler_.Start();
  EXPECT_EQ(directory_.replicas.size(), 1u);  // min_replicas
  directory_.AllAlive();
  reconciler_.ReportOngoing(directory_.replicas.begin()->first, 7);  // 7 / 2 -> 4 replicas
  Round();
  EXPECT_EQ(directory_.replicas.size(), 4u);
  EXPECT_EQ(Status().target, 4);
  directory_.AllAlive();
  for (const auto& [id, view] : directory_.replicas) reconciler_.ReportOngoing(id, 0);
  Round();
  EXPECT_EQ(directory_.replicas.size(), 4u) << "scaled down without waiting";
  executor_.AdvanceMs(1000);
  EXPECT_EQ(directory_.replicas.size(), 1u);
  reconciler_.ReportOngoing(directory_.replicas.begin()->first, 100);
  Round();
  EXPECT_EQ(directory_.replicas.size(), 5u) << "max_replicas is the ceiling";
}

TEST_F(ReconcilerTest, DeleteAndDroppedDeploymentsStopTheirReplicas) {
  reconciler_.Deploy(Service(2), 1);
  reconciler_.Start();
  rpc::ServiceConfig other = Service(1);
  other.mutable_applications(0)->mutable_deployments(0)->set_name("Other");
  reconciler_.Deploy(other, 2);  // Greeter is no longer in the service: its replicas stop
  Round();
  EXPECT_EQ(directory_.stopped.size(), 2u);
  EXPECT_EQ(directory_.replicas.size(), 1u);
  reconciler_.Delete("greeter");
  EXPECT_TRUE(directory_.replicas.empty());
  EXPECT_TRUE(reconciler_.Status().empty());
}

}  // namespace
}  // namespace halo::serve
