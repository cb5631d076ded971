// The ActorManager's directory on fakes: names, WaitActor, jobs, and recovery after a GCS restart.
#include "unit/actor_manager_fixture.h"

namespace halo::gcs::actor_test {
namespace {

class ActorManagerDirectoryTest : public ActorManagerTest {};

// (d) names are unique per namespace among live actors; a killed actor frees its name.
TEST_F(ActorManagerDirectoryTest, NamesAreUniqueAmongLiveActorsAndFreedByKill) {
  StartManager({Node("n1", {{"CPU", 4}})});
  rpc::ActorInfo first = NewActor("a1", /*max_restarts=*/-1);
  first.set_name("counter");
  first.set_namespace_("app");
  ASSERT_TRUE(Register(first).ok());
  MakeAlive();

  rpc::ActorInfo second = NewActor("a2");
  second.set_name("counter");
  second.set_namespace_("app");
  Status taken = Register(second);
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists) << taken;
  EXPECT_NE(taken.message().find("a1"), std::string::npos) << taken;
  EXPECT_FALSE(Stored("a2").has_value()) << "a refused registration stores nothing";
  EXPECT_EQ(manager_->size(), 1u);
  EXPECT_TRUE(Register(first).ok()) << "a retried registration of the same id";

  rpc::ActorInfo elsewhere = NewActor("a3");
  elsewhere.set_name("counter");
  elsewhere.set_namespace_("other");
  EXPECT_TRUE(Register(elsewhere).ok()) << "another namespace";

  std::optional<StatusOr<rpc::ActorInfo>> named;
  manager_->HandleGetNamed("counter", "app", [&](StatusOr<rpc::ActorInfo> r) { named = r; });
  ASSERT_TRUE(named.has_value() && named->ok());
  EXPECT_EQ((*named)->actor_id(), "a1");
  EXPECT_EQ((*named)->state(), rpc::ACTOR_ALIVE);

  peers_.kills.clear();
  ASSERT_TRUE(Kill("a1", /*no_restart=*/true).ok());
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_DEAD) << "no_restart wins over max_restarts=-1";
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_KILLED);
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), "lease-1"}}));
  EXPECT_TRUE(Kill("a1", true).ok()) << "killing a dead actor is a no-op";
  EXPECT_EQ(peers_.kills.size(), 1u);
  EXPECT_EQ(Kill("nobody", true).code(), absl::StatusCode::kNotFound);

  named.reset();
  manager_->HandleGetNamed("counter", "app", [&](StatusOr<rpc::ActorInfo> r) { named = r; });
  ASSERT_TRUE(named.has_value());
  EXPECT_EQ(named->status().code(), absl::StatusCode::kNotFound);

  rpc::ActorInfo again = NewActor("a4");
  again.set_name("counter");
  again.set_namespace_("app");
  ASSERT_TRUE(Register(again).ok()) << "the dead actor's name is free";
  named.reset();
  manager_->HandleGetNamed("counter", "app", [&](StatusOr<rpc::ActorInfo> r) { named = r; });
  ASSERT_TRUE(named.has_value() && named->ok());
  EXPECT_EQ((*named)->actor_id(), "a4");
  EXPECT_EQ(Published("a1").state(), rpc::ACTOR_DEAD) << "the dead one is still listed";
}

// (d) a kill that allows a restart is a failure like any other.
TEST_F(ActorManagerDirectoryTest, KillWithRestartAllowedRestartsTheActor) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", 1)).ok());
  MakeAlive();
  ASSERT_TRUE(Kill("a1", /*no_restart=*/false).ok());
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::RESTARTING);
  EXPECT_EQ(row->num_restarts(), 1);
  EXPECT_EQ(row->num_failure_restarts(), 1);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_KILLED);
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), "lease-1"}}));
  EXPECT_EQ(peers_.leases.size(), 1u);
}

// (e) WaitActor answers at once when the caller is behind, and otherwise only once a change is durable.
TEST_F(ActorManagerDirectoryTest, WaitAnswersAtOnceWhenBehindAndOtherwiseOnlyOnceAChangeIsDurable) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", /*max_restarts=*/1)).ok());

  std::optional<StatusOr<rpc::ActorInfo>> behind;
  manager_->HandleWait("a1", rpc::DEPENDENCIES_UNREADY, 0, 5000, [&](StatusOr<rpc::ActorInfo> r) { behind = r; });
  ASSERT_TRUE(behind.has_value() && behind->ok()) << "the known state differs: answered at once";
  EXPECT_EQ((*behind)->state(), rpc::PENDING_CREATION);
  EXPECT_EQ(manager_->waiters(), 0u);

  std::optional<StatusOr<rpc::ActorInfo>> missing;
  manager_->HandleWait("nobody", rpc::PENDING_CREATION, 0, 5000, [&](StatusOr<rpc::ActorInfo> r) { missing = r; });
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status().code(), absl::StatusCode::kNotFound);

  std::optional<StatusOr<rpc::ActorInfo>> held;
  manager_->HandleWait("a1", rpc::PENDING_CREATION, 0, 5000, [&](StatusOr<rpc::ActorInfo> r) { held = r; });
  EXPECT_FALSE(held.has_value()) << "nothing new: held";
  EXPECT_EQ(manager_->waiters(), 1u);

  // The actor becomes ALIVE, but its row is not written yet: the waiter and readers still see PENDING_CREATION.
  GrantLease();  // the worker is recorded (durably) before its constructor is asked for
  store_.hold_writes = true;
  AnswerCreate();
  EXPECT_EQ(store_.held(), 1u);
  EXPECT_FALSE(held.has_value()) << "decided is not durable";
  EXPECT_EQ(Published("a1").state(), rpc::PENDING_CREATION);
  EXPECT_EQ(StoredState("a1"), rpc::PENDING_CREATION);

  store_.ReleaseWrites();
  executor_.RunUntilIdle();
  ASSERT_TRUE(held.has_value() && held->ok());
  EXPECT_EQ((*held)->state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ((*held)->address(), "worker-1:9000");
  EXPECT_EQ(manager_->waiters(), 0u);

  // Held until wait_ms when nothing changes; then answered with the same state.
  std::optional<StatusOr<rpc::ActorInfo>> timed;
  manager_->HandleWait("a1", rpc::ACTOR_ALIVE, 0, 1000, [&](StatusOr<rpc::ActorInfo> r) { timed = r; });
  executor_.AdvanceMs(999);
  EXPECT_FALSE(timed.has_value());
  executor_.AdvanceMs(1);
  ASSERT_TRUE(timed.has_value() && timed->ok());
  EXPECT_EQ((*timed)->state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(manager_->waiters(), 0u);

  // A new instance (same state name, another num_restarts) is a change too; a waiter that knows the
  // restarted instance is not woken by the old one.
  std::optional<StatusOr<rpc::ActorInfo>> restart;
  manager_->HandleWait("a1", rpc::ACTOR_ALIVE, 0, 60'000, [&](StatusOr<rpc::ActorInfo> r) { restart = r; });
  EXPECT_FALSE(restart.has_value());
  store_.hold_writes = true;
  manager_->HandleKill("a1", /*no_restart=*/false, false, [](Status) {});
  executor_.RunUntilIdle();
  EXPECT_FALSE(restart.has_value()) << "RESTARTING is not durable yet";
  store_.ReleaseWrites();
  executor_.RunUntilIdle();
  ASSERT_TRUE(restart.has_value() && restart->ok());
  EXPECT_EQ((*restart)->state(), rpc::RESTARTING);
  EXPECT_EQ((*restart)->num_restarts(), 1);
}

// (e) waiters are bounded, and ReleaseWaiters answers every held one.
TEST_F(ActorManagerDirectoryTest, WaitersAreBoundedAndReleasedOnStop) {
  settings_.waiters_max = 2;
  StartManager({});
  ASSERT_TRUE(Register(NewActor("a1")).ok());
  int answered = 0;
  for (int i = 0; i < 3; ++i) {
    manager_->HandleWait("a1", rpc::PENDING_CREATION, 0, 5000, [&](StatusOr<rpc::ActorInfo> r) {
      EXPECT_TRUE(r.ok());
      answered += 1;
    });
  }
  EXPECT_EQ(answered, 1) << "the third is over waiters_max: answered at once";
  EXPECT_EQ(manager_->waiters(), 2u);
  manager_->ReleaseWaiters();
  EXPECT_EQ(answered, 3);
  EXPECT_EQ(manager_->waiters(), 0u);
  executor_.AdvanceMs(10'000);
  EXPECT_EQ(answered, 3) << "their timers were cancelled";
}

// (f) a finished job takes its non-detached actors with it; detached ones stay.
TEST_F(ActorManagerDirectoryTest, FinishedJobKillsItsNonDetachedActorsOnly) {
  StartManager({Node("n1", {{"CPU", 8}})});
  rpc::ActorInfo owned = NewActor("owned", -1);
  owned.set_job_id(7);
  rpc::ActorInfo detached = NewActor("detached", -1);
  detached.set_job_id(7);
  detached.set_detached(true);
  rpc::ActorInfo other_job = NewActor("other-job", -1);
  other_job.set_job_id(8);
  rpc::ActorInfo pending = NewActor("pending", -1, {{"GPU", 1}});  // never placed
  pending.set_job_id(7);
  for (const auto& actor : {owned, detached, other_job}) {
    ASSERT_TRUE(Register(actor).ok());
    MakeAlive();
  }
  ASSERT_TRUE(Register(pending).ok());
  std::map<std::string, std::string> lease_of;
  for (const auto& id : {"owned", "detached", "other-job"}) {
    ASSERT_EQ(StoredState(id), rpc::ACTOR_ALIVE) << id;
    lease_of[id] = Stored(id)->lease_id();
  }

  rpc::JobInfo job;
  job.set_job_id(7);
  manager_->OnJobChanged(job);  // still running
  executor_.RunUntilIdle();
  EXPECT_EQ(StoredState("owned"), rpc::ACTOR_ALIVE);

  job.set_is_finished(true);
  job.set_end_reason("the driver exited");
  manager_->OnJobChanged(job);
  executor_.RunUntilIdle();

  auto row = Stored("owned");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_DEAD);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_OWNER_DIED) << "max_restarts=-1 does not bring it back";
  EXPECT_NE(row->death_message().find("job 7"), std::string::npos) << row->death_message();
  row = Stored("pending");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_DEAD);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_OWNER_DIED);
  EXPECT_EQ(StoredState("detached"), rpc::ACTOR_ALIVE);
  EXPECT_EQ(StoredState("other-job"), rpc::ACTOR_ALIVE);
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), lease_of["owned"]}}))
      << "only the owned actor's worker is killed";
  EXPECT_TRUE(peers_.leases.empty());

  // A node offering what the dead pending actor wanted does not bring it back.
  NodeChanged(Node("gpu", {{"GPU", 1}}));
  EXPECT_TRUE(peers_.leases.empty());
}

// (g) after a GCS restart: live instances are watched again, half-made ones are killed and started over.
TEST_F(ActorManagerDirectoryTest, RecoveryWatchesAliveActorsAndRestartsCreationsUnderWay) {
  rpc::ActorInfo alive = NewActor("alive", 3);
  alive.set_name("keeper");
  alive.set_state(rpc::ACTOR_ALIVE);
  alive.set_num_restarts(2);
  alive.set_num_failure_restarts(1);
  alive.set_node_id("n1");
  alive.set_node_address(AddressOf("n1"));
  alive.set_address("old-worker-a:9000");
  alive.set_worker_id("old-worker-a");
  alive.set_lease_id("old-lease-a");
  alive.set_pid(501);
  rpc::ActorInfo pending = NewActor("pending", 0);
  pending.set_state(rpc::PENDING_CREATION);
  pending.set_node_id("n1");
  pending.set_node_address(AddressOf("n1"));
  pending.set_address("old-worker-p:9000");
  pending.set_worker_id("old-worker-p");
  pending.set_lease_id("old-lease-p");
  pending.set_pid(502);
  rpc::ActorInfo unresolved = NewActor("unresolved", 0);
  unresolved.set_state(rpc::DEPENDENCIES_UNREADY);
  rpc::ActorInfo dead = NewActor("dead", 0);
  dead.set_name("taken-once");
  dead.set_state(rpc::ACTOR_DEAD);
  dead.set_death_cause(rpc::CAUSE_KILLED);
  for (const auto& row : {alive, pending, unresolved, dead}) {
    store_.AsyncPut(kActorTable, row.actor_id(), row.SerializeAsString(), true, [](StatusOr<bool>) {});
  }
  executor_.RunUntilIdle();

  StartManager({Node("n1", {{"CPU", 4}})});
  EXPECT_EQ(manager_->size(), 4u);

  // The ALIVE one: watched at its old address and instance; no lease, no kill.
  ASSERT_EQ(peers_.watches.size(), 1u);
  EXPECT_EQ(peers_.watches.front().worker_address, "old-worker-a:9000");
  EXPECT_EQ(peers_.watches.front().request.actor_id(), "alive");
  EXPECT_EQ(peers_.watches.front().request.instance(), 2);
  // The half-made one: its worker is killed, and a new lease asked for only once its node says that worker
  // exited (its constructor may still have been running); nothing for the others.
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), "old-lease-p"}}));
  EXPECT_TRUE(peers_.leases.empty()) << "a new instance asked for while the old worker may still run";
  auto old_exit = FakeActorPeers::Take(peers_.exits, "GetWorkerExit");
  EXPECT_EQ(old_exit.worker_id, "old-worker-p");
  rpc::GetWorkerExitReply old_gone;
  old_gone.set_exited(true);
  old_exit.done(old_gone);
  executor_.RunUntilIdle();
  ASSERT_EQ(peers_.leases.size(), 1u);
  EXPECT_EQ(peers_.leases.front().node_address, AddressOf("n1"));
  EXPECT_EQ(Published("alive").state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(Published("alive").num_restarts(), 2);
  EXPECT_EQ(Published("unresolved").state(), rpc::DEPENDENCIES_UNREADY);

  GrantLease();
  auto create = AnswerCreate();
  EXPECT_EQ(create.request.actor().actor_id(), "pending");
  EXPECT_EQ(create.request.actor().worker_id(), "worker-1") << "the new worker, not the killed one";
  auto row = Stored("pending");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(row->lease_id(), "lease-1");
  EXPECT_EQ(row->num_restarts(), 0);

  // The recovered ALIVE one still dies and restarts normally (its counters kept).
  auto watch = FakeActorPeers::Take(peers_.watches, "WatchActor");
  ASSERT_EQ(watch.request.actor_id(), "alive");
  watch.done(UnavailableError("gone"));
  executor_.RunUntilIdle();
  auto exit = FakeActorPeers::Take(peers_.exits, "GetWorkerExit");
  EXPECT_EQ(exit.worker_id, "old-worker-a");
  rpc::GetWorkerExitReply exited;
  exited.set_exited(true);
  exit.done(exited);
  executor_.RunUntilIdle();
  row = Stored("alive");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::RESTARTING);
  EXPECT_EQ(row->num_restarts(), 3);
  EXPECT_EQ(row->num_failure_restarts(), 2);

  // Names: the live one's is still taken after recovery, the dead one's is free.
  rpc::ActorInfo clash = NewActor("clash");
  clash.set_name("keeper");
  EXPECT_EQ(Register(clash).code(), absl::StatusCode::kAlreadyExists);
  rpc::ActorInfo reuse = NewActor("reuse");
  reuse.set_name("taken-once");
  EXPECT_TRUE(Register(reuse).ok());
}

// (g) a GCS that stops while a constructor runs: its successor must be able to kill that worker.
TEST_F(ActorManagerDirectoryTest, RecoveryKillsTheWorkerOfAConstructorThatWasRunning) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1")).ok());
  GrantLease();
  ASSERT_EQ(peers_.creates.size(), 1u);  // the constructor runs; the GCS stops now
  manager_.reset();
  peers_.Forget();

  StartManager({Node("n1", {{"CPU", 4}})});
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), "lease-1"}}));
  // The node still runs it at first: no second constructor until it says the worker exited.
  FakeActorPeers::Take(peers_.exits, "GetWorkerExit").done(rpc::GetWorkerExitReply());
  executor_.RunUntilIdle();
  EXPECT_TRUE(peers_.leases.empty());
  executor_.AdvanceMs(settings_.retry_initial_ms);
  rpc::GetWorkerExitReply exited;
  exited.set_exited(true);
  FakeActorPeers::Take(peers_.exits, "GetWorkerExit").done(exited);
  executor_.RunUntilIdle();
  EXPECT_EQ(peers_.leases.size(), 1u);
}

// (g) the half-made instance's node does not answer after the GCS restart (its agent crashed; the worker may run
// until its lease lapses): nothing is placed until the node is declared dead, then the actor restarts elsewhere.
TEST_F(ActorManagerDirectoryTest, RecoveryWaitsForAnUnreachableNodeBeforeAnotherConstructor) {
  StartManager({Node("n1", {{"CPU", 4}}), Node("n2", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", -1)).ok());
  GrantLease();
  ASSERT_EQ(peers_.creates.size(), 1u);
  manager_.reset();
  peers_.Forget();

  StartManager({Node("n1", {{"CPU", 4}}), Node("n2", {{"CPU", 4}})});
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    FakeActorPeers::Take(peers_.exits, "GetWorkerExit").done(UnavailableError("connection refused"));
    executor_.RunUntilIdle();
    EXPECT_TRUE(peers_.leases.empty()) << "placed while the old worker may still run";
    executor_.AdvanceMs(settings_.retry_max_ms);
  }
  const std::string placed_at = Stored("a1")->node_id();
  NodeChanged(Node(placed_at, {{"CPU", 4}}, rpc::DEAD, rpc::UNEXPECTED_TERMINATION));
  executor_.AdvanceMs(settings_.restart_delay_max_ms);  // a death while being made: restarted after a pause
  ASSERT_EQ(peers_.leases.size(), 1u) << "not restarted once the node is dead";
  EXPECT_NE(peers_.leases.front().node_address, AddressOf(placed_at));
  EXPECT_EQ(Stored("a1")->state(), rpc::RESTARTING);
}

// (g) an ALIVE row whose node died while the GCS was down (the node row was written, the actor row not).
TEST_F(ActorManagerDirectoryTest, RecoveredAliveActorOnADeadNodeIsRestarted) {
  rpc::ActorInfo alive = NewActor("a1", 1);
  alive.set_state(rpc::ACTOR_ALIVE);
  alive.set_node_id("n1");
  alive.set_node_address(AddressOf("n1"));
  alive.set_address("old-worker:9000");
  alive.set_worker_id("old-worker");
  alive.set_lease_id("old-lease");
  store_.AsyncPut(kActorTable, "a1", alive.SerializeAsString(), true, [](StatusOr<bool>) {});
  executor_.RunUntilIdle();

  StartManager({Node("n1", {{"CPU", 4}}, rpc::DEAD, rpc::UNEXPECTED_TERMINATION), Node("n2", {{"CPU", 4}})});
  // However the manager finds out (at Start or when the watch breaks), the actor must leave the dead node.
  for (int round = 0; round < 5 && !peers_.watches.empty(); ++round) {
    auto watch = FakeActorPeers::Take(peers_.watches, "WatchActor");
    watch.done(UnavailableError("connection refused"));
    executor_.RunUntilIdle();
    while (!peers_.exits.empty()) {
      auto exit = FakeActorPeers::Take(peers_.exits, "GetWorkerExit");
      exit.done(UnavailableError("node unreachable"));
      executor_.RunUntilIdle();
    }
    executor_.AdvanceMs(1000);
  }
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::RESTARTING);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_NODE_DIED);
  ASSERT_EQ(peers_.leases.size(), 1u);
  EXPECT_EQ(peers_.leases.front().node_address, AddressOf("n2"));
}

}  // namespace
}  // namespace halo::gcs::actor_test
