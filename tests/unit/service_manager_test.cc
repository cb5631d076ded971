// The GCS's service manager over the real actor, job, node and executable managers on fakes (the actor
// directory's peers record calls; the store can hold writes back): a deploy is refused without its
// executable; a replica is in the SERVICES row before its actor exists; after a restart the stored replicas
// are handed back to the reconciler and none is made anew.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/random.h"
#include "common/sha256.h"
#include "gcs/service_manager.h"
#include "unit/actor_manager_fixture.h"

namespace halo::gcs::actor_test {
namespace {

class ServiceManagerTest : public ActorManagerTest {
 protected:
  // The managers a service manager needs, over the stored tables, then the service manager itself, started.
  void StartServices() {
    services_.reset();
    StartManager({Node("n1", {{"CPU", 4}})});
    jobs_ = std::make_unique<JobManager>(store_, executor_);
    ASSERT_TRUE(jobs_->Initialize({}, {}).ok());
    nodes_ = std::make_unique<NodeManager>(store_, executor_, executor_, "cluster", 10);
    executables_ = std::make_unique<ExecutableManager>(store_, ExecutableLimits{});
    ServiceManagerSettings settings;
    settings.reconciler.interval_ms = 100;
    services_ = std::make_unique<ServiceManager>(
        ServiceManagerDeps{&store_, &executor_, &executor_, &random_, manager_.get(), jobs_.get(), nodes_.get(),
                           executables_.get(), nullptr},
        settings);
    ASSERT_TRUE(services_->Initialize(Rows(kServiceTable)).ok());
    manager_->SetChangeListener([this](const rpc::ActorInfo& actor) { services_->OnActorChanged(actor); });
    services_->Start();
    executor_.RunUntilIdle();
  }
  KeyValueMap Rows(const std::string& table) {
    KeyValueMap rows;
    store_.AsyncGetAll(table, [&](StatusOr<KeyValueMap> r) { rows = *r; });
    executor_.RunUntilIdle();
    return rows;
  }
  std::string CommitExecutable(const std::string& bytes) {
    Sha256Hasher hasher;
    hasher.Update(bytes);
    const std::string sha = hasher.HexDigest();
    executables_->HandlePutChunk(sha, 0, bytes, [](Status) {});
    executables_->HandleCommit(sha, 1, bytes.size(), [](Status s) { ASSERT_TRUE(s.ok()) << s; });
    executor_.RunUntilIdle();
    return sha;
  }
  static rpc::DeployServiceRequest Request(const std::string& sha, int replicas, const std::string& prefix = "/hello",
                                           const std::string& name = "greeter") {
    rpc::DeployServiceRequest request;
    request.set_executable_sha256(sha);
    request.set_entrypoint("greeter_service");
    rpc::ServiceConfig* config = request.mutable_config();
    config->set_name(name);
    rpc::ApplicationConfig* application = config->add_applications();
    application->set_name("hello");
    application->set_route_prefix(prefix);
    rpc::DeploymentConfig* deployment = application->add_deployments();
    deployment->set_name("Greeter");
    deployment->set_factory("MakeGreeter");
    deployment->set_handler("&Greeter::Handle");
    deployment->set_num_replicas(replicas);
    deployment->set_max_ongoing_requests(10);
    (*deployment->mutable_resources())["CPU"] = 1;
    return request;
  }
  StatusOr<int64_t> Deploy(const rpc::DeployServiceRequest& request) {
    StatusOr<int64_t> out = InternalError("not answered");
    services_->HandleDeploy(request, [&](StatusOr<int64_t> version) { out = version; });
    executor_.RunUntilIdle();
    return out;
  }
  rpc::ServiceRecord StoredService(const std::string& name) {
    rpc::ServiceRecord record;
    auto rows = Rows(kServiceTable);
    if (rows.count(name) > 0) {
      EXPECT_TRUE(record.ParseFromString(rows.at(name)));
    }
    return record;
  }

  // Reconcile rounds, answering every worker lease and actor creation they ask for (replicas come up).
  void RunRounds(int rounds) {
    for (int i = 0; i < rounds; ++i) {
      executor_.AdvanceMs(150);
      executor_.RunUntilIdle();
      while (!peers_.leases.empty()) GrantLease();
      while (!peers_.creates.empty()) AnswerCreate();
    }
  }
  rpc::JobInfo Job(uint32_t job_id) {
    rpc::JobInfo found;
    jobs_->HandleGetAllJobs([&](std::vector<rpc::JobInfo> all) {
      for (const auto& job : all) {
        if (job.job_id() == job_id) found = job;
      }
    });
    return found;
  }

  SeededRandom random_{7};
  std::unique_ptr<JobManager> jobs_;
  std::unique_ptr<NodeManager> nodes_;
  std::unique_ptr<ExecutableManager> executables_;
  std::unique_ptr<ServiceManager> services_;
};

TEST_F(ServiceManagerTest, ADeployWithoutItsExecutableOrWithATakenRouteChangesNothing) {
  StartServices();
  StatusOr<int64_t> missing = Deploy(Request(std::string(64, 'a'), 2));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("is not in the cluster's executable store"), std::string::npos)
      << missing.status();
  EXPECT_TRUE(Rows(kServiceTable).empty());
  const std::string sha = CommitExecutable("program");
  ASSERT_TRUE(Deploy(Request(sha, 1)).ok());
  StatusOr<int64_t> taken = Deploy(Request(sha, 1, "/hello/", "other"));
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(taken.status().message().find("already served by service 'greeter'"), std::string::npos)
      << taken.status();
  EXPECT_EQ(Rows(kServiceTable).count("other"), 0u);
  EXPECT_EQ(*Deploy(Request(sha, 1)), 1) << "the same config and executable again is no new version";
}

TEST_F(ServiceManagerTest, AReplicaIsStoredWithItsServiceBeforeItsActorExists) {
  StartServices();
  const std::string sha = CommitExecutable("program");
  store_.hold_writes = true;  // every write waits until the test releases it: one step at a time
  StatusOr<int64_t> version = InternalError("not answered");
  services_->HandleDeploy(Request(sha, 1), [&](StatusOr<int64_t> v) { version = v; });
  for (int step = 0; step < 30 && (manager_->All().empty() || store_.held() > 0); ++step) {
    executor_.RunUntilIdle();
    executor_.AdvanceMs(150);  // reconcile rounds
    executor_.RunUntilIdle();
    // The invariant: an actor the directory knows is named by the durable row of its service.
    const rpc::ServiceRecord durable = StoredService("greeter");
    for (const auto& actor : manager_->All()) {
      EXPECT_TRUE(std::any_of(durable.replicas().begin(), durable.replicas().end(),
                              [&](const rpc::ServiceReplica& r) { return r.actor_id() == actor.actor_id(); }))
          << "actor " << actor.actor_id() << " was registered before the row naming it was durable";
    }
    store_.ReleaseWrites();
  }
  store_.hold_writes = false;
  store_.ReleaseWrites();
  executor_.RunUntilIdle();
  ASSERT_TRUE(version.ok()) << version.status();
  rpc::ServiceRecord record = StoredService("greeter");
  ASSERT_EQ(record.replicas_size(), 1);
  const auto actors = manager_->All();
  ASSERT_EQ(actors.size(), 1u);
  EXPECT_EQ(actors[0].actor_id(), record.replicas(0).actor_id());
  EXPECT_TRUE(actors[0].detached());
  EXPECT_EQ(actors[0].creation().function_name(), "MakeGreeter");
  EXPECT_EQ(actors[0].driver_address(), "") << "no driver: its executable comes from the GCS's store";
  EXPECT_EQ(actors[0].executable_sha256(), sha);
}

TEST_F(ServiceManagerTest, AfterARestartStoredReplicasAreHandedBackNotMadeAgain) {
  StartServices();
  const std::string sha = CommitExecutable("program");
  ASSERT_TRUE(Deploy(Request(sha, 2)).ok());
  for (int i = 0; i < 5; ++i) {
    executor_.AdvanceMs(150);
    executor_.RunUntilIdle();
  }
  const rpc::ServiceRecord before = StoredService("greeter");
  ASSERT_EQ(before.replicas_size(), 2);
  ASSERT_EQ(manager_->All().size(), 2u);
  // A new GCS incarnation over the same storage.
  StartServices();
  for (int i = 0; i < 5; ++i) {
    executor_.AdvanceMs(150);
    executor_.RunUntilIdle();
  }
  EXPECT_EQ(manager_->All().size(), 2u) << "a replica was made again after the restart";
  const rpc::ServiceRecord after = StoredService("greeter");
  ASSERT_EQ(after.replicas_size(), 2);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(after.replicas(i).actor_id(), before.replicas(i).actor_id());
  auto status = services_->ServiceStatus("greeter");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->services(0).deployments(0).target(), 2);
}

TEST_F(ServiceManagerTest, AnEarlierExecutablesJobEndsOnceItsLastReplicaIsRolledOver) {
  StartServices();
  const std::string first = CommitExecutable("program, first build");
  ASSERT_TRUE(Deploy(Request(first, 2)).ok());
  RunRounds(10);
  const uint32_t first_job = StoredService("greeter").job_id();
  ASSERT_EQ(manager_->All().size(), 2u);
  // The same executable with another config keeps the job; a new executable gets a job of its own.
  ASSERT_TRUE(Deploy(Request(first, 3)).ok());
  EXPECT_EQ(StoredService("greeter").job_id(), first_job);
  EXPECT_TRUE(StoredService("greeter").retiring_jobs().empty());
  const std::string second = CommitExecutable("program, second build");
  ASSERT_TRUE(Deploy(Request(second, 3)).ok());
  const rpc::ServiceRecord rolling = StoredService("greeter");
  ASSERT_NE(rolling.job_id(), first_job);
  ASSERT_EQ(rolling.retiring_jobs_size(), 1);
  EXPECT_EQ(rolling.retiring_jobs(0).job_id(), first_job);
  EXPECT_FALSE(Job(first_job).is_finished()) << "its replicas still serve until the rollout replaces them";
  EXPECT_EQ(Job(rolling.job_id()).entrypoint(), "service greeter (greeter_service)");
  // The rollout: a new replica comes up before each old one stops.
  for (int round = 0; round < 60 && !Job(first_job).is_finished(); ++round) {
    RunRounds(1);
    const rpc::ServiceRecord now = StoredService("greeter");
    const bool old_left = std::any_of(now.replicas().begin(), now.replicas().end(),
                                      [](const rpc::ServiceReplica& r) { return r.version() < 3; });
    if (old_left) {
      EXPECT_FALSE(Job(first_job).is_finished()) << "finished while a replica still runs its executable";
    }
  }
  EXPECT_TRUE(Job(first_job).is_finished());
  EXPECT_NE(Job(first_job).end_reason().find("rolled over to version 3"), std::string::npos) << Job(first_job).end_reason();
  EXPECT_FALSE(Job(rolling.job_id()).is_finished());
  EXPECT_TRUE(StoredService("greeter").retiring_jobs().empty());
  // Deleting the service ends its current job.
  Status deleted = InternalError("not answered");
  services_->HandleDelete("greeter", [&](Status s) { deleted = s; });
  executor_.RunUntilIdle();
  ASSERT_TRUE(deleted.ok()) << deleted;
  EXPECT_TRUE(Job(rolling.job_id()).is_finished());
}

}  // namespace
}  // namespace halo::gcs::actor_test
