// LeaseManager on a fake executor, with fake process launching and executable fetching.
#include <gtest/gtest.h>

#include "common/random.h"
#include "node/lease_manager.h"
#include "support/fake_executor.h"

namespace halo::node {
namespace {

class FakeLauncher : public WorkerLauncher {
 public:
  StatusOr<int> Start(const std::string& executable, const std::map<std::string, std::string>& env,
                      const std::string& worker_id) override {
    if (fail_starts) return InternalError("exec failed: no such file");
    started.push_back({next_pid, worker_id, env});
    return next_pid++;
  }
  void Kill(int pid) override { killed.push_back(pid); }

  struct Started {
    int pid;
    std::string worker_id;
    std::map<std::string, std::string> env;
  };
  std::vector<Started> started;
  std::vector<int> killed;
  int next_pid = 1000;
  bool fail_starts = false;
};

class FakeExecutables : public ExecutableStore {
 public:
  void Fetch(const std::string& sha256, const std::string& driver_address,
             std::function<void(StatusOr<std::string>)> done) override {
    fetches += 1;
    pending.push_back(std::move(done));
  }
  void Forget(const std::string& sha256) override { forgotten.push_back(sha256); }
  int fetches = 0;
  std::vector<std::string> forgotten;
  std::vector<std::function<void(StatusOr<std::string>)>> pending;
};

class LeaseManagerTest : public ::testing::Test {
 protected:
  LeaseManagerTest() {
    settings_.node_id = "self";
    settings_.node_address = "self:1";
    settings_.resources = {{"CPU", 2}};
    settings_.num_prestart_workers = 1;
    settings_.worker_start_timeout_ms = 1000;
    manager_ = std::make_unique<LeaseManager>(executor_, executor_, random_, launcher_, executables_, settings_);
  }

  rpc::RequestWorkerLeaseRequest Request(double cpus, bool spilled = false) {
    rpc::RequestWorkerLeaseRequest request;
    request.set_job_id(1);
    request.set_executable_sha256(std::string(64, 'a'));
    request.set_driver_address("driver:1");
    (*request.mutable_resources())["CPU"] = cpus;
    request.set_spilled(spilled);
    return request;
  }
  // Sends a request; the reply lands in *out.
  uint64_t Ask(double cpus, std::optional<rpc::RequestWorkerLeaseReply>* out, bool spilled = false) {
    return manager_->RequestLease(Request(cpus, spilled),
                                  [out](const rpc::RequestWorkerLeaseReply& reply) { *out = reply; });
  }
  void FetchSucceeds() {
    for (auto& done : executables_.pending) done(std::string("/cache/aaaa"));
    executables_.pending.clear();
    executor_.RunUntilIdle();
  }
  void RegisterAllStarted() {
    for (const auto& started : launcher_.started) {
      manager_->RegisterWorker(started.worker_id, "worker:" + std::to_string(started.pid), started.pid);
    }
  }
  void AddPeer(const std::string& id, double cpus) {
    rpc::PollNodeEventsReply reply;
    rpc::NodeEvent* event = reply.add_events();
    event->set_kind(rpc::NodeEvent::ADDED);
    event->mutable_node()->set_node_id(id);
    event->mutable_node()->set_address(id + ":1");
    event->mutable_node()->set_state(rpc::ALIVE);
    (*event->mutable_node()->mutable_resources())["CPU"] = cpus;
    manager_->OnClusterUpdate(reply);
  }

  testing::FakeExecutor executor_;
  SeededRandom random_{7};
  FakeLauncher launcher_;
  FakeExecutables executables_;
  LeaseManagerSettings settings_;
  std::unique_ptr<LeaseManager> manager_;
};

TEST_F(LeaseManagerTest, FetchesOnceStartsWorkersAndGrants) {
  std::optional<rpc::RequestWorkerLeaseReply> first, second;
  Ask(1, &first);
  Ask(1, &second);
  EXPECT_EQ(executables_.fetches, 1);  // one fetch per job, however many requests wait
  EXPECT_FALSE(first.has_value());
  FetchSucceeds();
  ASSERT_EQ(launcher_.started.size(), 2u);  // one prestarted, one more for the second waiting request
  EXPECT_EQ(launcher_.started[0].env.at("HALO_WORKER_MODE"), "1");
  EXPECT_EQ(launcher_.started[0].env.at("HALO_DRIVER_ADDRESS"), "driver:1");
  RegisterAllStarted();
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_TRUE(first->granted());
  EXPECT_TRUE(second->granted());
  EXPECT_NE(first->worker_id(), second->worker_id());
  EXPECT_EQ(manager_->available().at("CPU"), 0);
}

TEST_F(LeaseManagerTest, BusyNodeQueuesWithoutPeersAndGrantsOnReturn) {
  std::optional<rpc::RequestWorkerLeaseReply> a, b, c;
  Ask(1, &a);
  Ask(1, &b);
  FetchSucceeds();
  RegisterAllStarted();
  Ask(1, &c);
  EXPECT_FALSE(c.has_value());
  EXPECT_EQ(manager_->num_waiting(), 1u);
  manager_->ReturnWorker(a->lease_id(), /*worker_failed=*/false);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->granted());
  EXPECT_EQ(c->worker_id(), a->worker_id());  // the returned worker is reused
}

TEST_F(LeaseManagerTest, RequestsBeyondTheWaitingBoundAreRefusedAtOnce) {
  settings_.waiting_requests_max = 2;
  manager_ = std::make_unique<LeaseManager>(executor_, executor_, random_, launcher_, executables_, settings_);
  std::optional<rpc::RequestWorkerLeaseReply> a, b, c;
  Ask(1, &a);
  Ask(1, &b);
  Ask(1, &c);  // the executable is still being fetched: a and b wait, c is one too many
  EXPECT_FALSE(a.has_value());
  EXPECT_FALSE(b.has_value());
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->granted());
  EXPECT_NE(c->error().find("node_lease_requests_max"), std::string::npos) << c->error();
  EXPECT_EQ(manager_->num_waiting(), 2u);
  FetchSucceeds();
  RegisterAllStarted();
  EXPECT_TRUE(a.has_value() && a->granted());
  EXPECT_TRUE(b.has_value() && b->granted());
}

TEST_F(LeaseManagerTest, BusyNodeSpillsSomeRequestsToAPeer) {
  AddPeer("peer", 4);
  std::optional<rpc::RequestWorkerLeaseReply> a, b;
  Ask(2, &a);
  FetchSucceeds();
  RegisterAllStarted();
  ASSERT_TRUE(a.has_value() && a->granted());
  int spilled = 0;
  for (int i = 0; i < 6; ++i) {
    std::optional<rpc::RequestWorkerLeaseReply> reply;
    Ask(1, &reply);
    if (reply && reply->spillback_address() == "peer:1") ++spilled;
  }
  EXPECT_GE(spilled, 3);  // overflow is shared between the peer and this node's queue
  EXPECT_LT(spilled, 6);
}

TEST_F(LeaseManagerTest, InfeasibleHereGoesToAPeerThatFits) {
  AddPeer("big", 16);
  std::optional<rpc::RequestWorkerLeaseReply> redirected;
  Ask(8, &redirected, /*spilled=*/true);
  ASSERT_TRUE(redirected.has_value());
  EXPECT_EQ(redirected->spillback_address(), "big:1");
}

TEST_F(LeaseManagerTest, RequestNoNodeFitsWaitsForOneToJoin) {
  std::optional<rpc::RequestWorkerLeaseReply> waiting;
  Ask(8, &waiting);
  executor_.AdvanceMs(settings_.unschedulable_wait_ms - 1);
  EXPECT_FALSE(waiting.has_value()) << "refused before its wait for a fitting node ran out";
  EXPECT_EQ(manager_->num_waiting(), 1u);
  AddPeer("big", 16);  // joins in time
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->spillback_address(), "big:1");
  EXPECT_EQ(manager_->num_waiting(), 0u);
}

TEST_F(LeaseManagerTest, RequestNoNodeFitsIsRefusedWhenItsWaitRunsOut) {
  std::optional<rpc::RequestWorkerLeaseReply> refused;
  Ask(32, &refused);
  AddPeer("big", 16);  // a node that joins but is too small changes nothing
  executor_.AdvanceMs(settings_.unschedulable_wait_ms - 1);
  EXPECT_FALSE(refused.has_value());
  executor_.AdvanceMs(1);
  ASSERT_TRUE(refused.has_value());
  EXPECT_FALSE(refused->granted());
  EXPECT_TRUE(refused->spillback_address().empty());
  EXPECT_NE(refused->error().find("CPU: 32"), std::string::npos) << refused->error();
  EXPECT_NE(refused->error().find("task_unschedulable_timeout_ms"), std::string::npos) << refused->error();
  EXPECT_EQ(manager_->num_waiting(), 0u);
}

TEST_F(LeaseManagerTest, LeasedWorkerExitFreesItsResourcesAndIsRemembered) {
  std::optional<rpc::RequestWorkerLeaseReply> a;
  Ask(2, &a);
  FetchSucceeds();
  RegisterAllStarted();
  ASSERT_TRUE(a.has_value() && a->granted());
  EXPECT_EQ(manager_->available().at("CPU"), 0);
  EXPECT_EQ(manager_->WorkerExit(a->worker_id()), std::optional<std::string>(""));
  manager_->OnWorkerExited(a->worker_pid(), "killed by signal 9 (Killed)");
  EXPECT_EQ(manager_->available().at("CPU"), 2);
  EXPECT_EQ(manager_->num_leases(), 0u);
  EXPECT_EQ(manager_->WorkerExit(a->worker_id()), std::optional<std::string>("killed by signal 9 (Killed)"));
  EXPECT_FALSE(manager_->WorkerExit("never-existed").has_value());
}

TEST_F(LeaseManagerTest, WorkersThatNeverRegisterFailTheWaitingRequests) {
  std::optional<rpc::RequestWorkerLeaseReply> a;
  Ask(1, &a);
  FetchSucceeds();
  for (int i = 0; i < 5 && !a.has_value(); ++i) executor_.AdvanceMs(1001);  // each start times out
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a->granted());
  EXPECT_NE(a->error().find("failed to start 3 times"), std::string::npos) << a->error();
  EXPECT_GE(launcher_.killed.size(), 3u);
  EXPECT_EQ(manager_->available().at("CPU"), 2);  // the reservation was given back
}

TEST_F(LeaseManagerTest, WithdrawnRequestGivesBackItsReservation) {
  std::optional<rpc::RequestWorkerLeaseReply> a;
  const uint64_t id = Ask(2, &a);
  EXPECT_EQ(manager_->available().at("CPU"), 0);  // reserved while the executable is fetched
  EXPECT_TRUE(manager_->CancelRequest(id));
  EXPECT_EQ(manager_->available().at("CPU"), 2);
  EXPECT_FALSE(manager_->CancelRequest(id));
  FetchSucceeds();
  EXPECT_FALSE(a.has_value());
}

TEST_F(LeaseManagerTest, BlockedWorkerLendsItsCpusUntilItResumes) {
  std::optional<rpc::RequestWorkerLeaseReply> parent, child;
  Ask(2, &parent);
  FetchSucceeds();
  RegisterAllStarted();
  ASSERT_TRUE(parent.has_value() && parent->granted());
  Ask(1, &child);
  EXPECT_FALSE(child.has_value());  // the node is full
  manager_->SetWorkerBlocked(parent->worker_id(), true);
  RegisterAllStarted();
  ASSERT_TRUE(child.has_value());
  EXPECT_TRUE(child->granted());
  manager_->SetWorkerBlocked(parent->worker_id(), false);
  EXPECT_EQ(manager_->available().at("CPU"), -1);  // briefly oversubscribed, never double-counted
  manager_->ReturnWorker(child->lease_id(), false);
  manager_->ReturnWorker(parent->lease_id(), false);
  EXPECT_EQ(manager_->available().at("CPU"), 2);
}

TEST_F(LeaseManagerTest, AtTheWorkerCapAnotherJobsIdleWorkerMakesRoom) {
  settings_.workers_max = 1;
  settings_.num_prestart_workers = 1;
  manager_ = std::make_unique<LeaseManager>(executor_, executor_, random_, launcher_, executables_, settings_);
  std::optional<rpc::RequestWorkerLeaseReply> first, second;
  Ask(1, &first);
  FetchSucceeds();
  RegisterAllStarted();
  ASSERT_TRUE(first.has_value() && first->granted());
  manager_->ReturnWorker(first->lease_id(), false);  // job 1's worker now idle, and the pool is full
  rpc::RequestWorkerLeaseRequest other = Request(1);
  other.set_job_id(2);
  manager_->RequestLease(other, [&](const rpc::RequestWorkerLeaseReply& reply) { second = reply; });
  FetchSucceeds();
  EXPECT_EQ(launcher_.killed, std::vector<int>{first->worker_pid()});
  launcher_.started.erase(launcher_.started.begin());
  RegisterAllStarted();
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(second->granted());
}

TEST_F(LeaseManagerTest, GoneLesseeLosesItsLeasesAndGoneDriverEndsItsJob) {
  std::vector<uint32_t> ended;
  manager_->SetJobEndedListener([&](uint32_t job_id) { ended.push_back(job_id); });
  rpc::RequestWorkerLeaseRequest request = Request(1);
  request.set_lessee_address("nested-owner:1");
  std::optional<rpc::RequestWorkerLeaseReply> a;
  manager_->RequestLease(request, [&](const rpc::RequestWorkerLeaseReply& reply) { a = reply; });
  FetchSucceeds();
  RegisterAllStarted();
  ASSERT_TRUE(a.has_value() && a->granted());
  EXPECT_EQ(manager_->PeersToWatch(), (std::set<std::string>{"driver:1", "nested-owner:1"}));
  manager_->OnPeerGone("nested-owner:1");
  EXPECT_EQ(manager_->num_leases(), 0u);
  EXPECT_EQ(manager_->available().at("CPU"), 2);
  EXPECT_EQ(launcher_.killed, std::vector<int>{a->worker_pid()});  // it may still run the lost owner's task
  EXPECT_TRUE(ended.empty());
  manager_->OnPeerGone("driver:1");
  EXPECT_EQ(ended, std::vector<uint32_t>{1});
  EXPECT_EQ(executables_.forgotten, std::vector<std::string>{std::string(64, 'a')});
  EXPECT_EQ(manager_->num_workers(), 0u);
  std::optional<rpc::RequestWorkerLeaseReply> late;
  Ask(1, &late);
  ASSERT_TRUE(late.has_value());
  EXPECT_NE(late->error().find("has ended"), std::string::npos) << late->error();
  EXPECT_TRUE(manager_->PeersToWatch().empty());
}

TEST_F(LeaseManagerTest, FailedFetchRefusesWithTheReason) {
  std::optional<rpc::RequestWorkerLeaseReply> a;
  Ask(1, &a);
  for (auto& done : executables_.pending) done(UnavailableError("driver gone"));
  executor_.RunUntilIdle();
  ASSERT_TRUE(a.has_value());
  EXPECT_NE(a->error().find("driver gone"), std::string::npos) << a->error();
  EXPECT_EQ(manager_->available().at("CPU"), 2);
}

}  // namespace
}  // namespace halo::node
