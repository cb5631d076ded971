// The ActorManager's lifecycle on fakes: placement, construction, watches, restarts and deaths.
#include "unit/actor_manager_fixture.h"

namespace halo::gcs::actor_test {
namespace {

// (a) register -> PENDING_CREATION stored -> waits for a fitting node -> lease at it -> construct -> ALIVE, watched.
TEST_F(ActorManagerTest, RegisteredActorWaitsForAFittingNodeThenBecomesAliveAndIsWatched) {
  // The only GPU node is dead; the live one has no GPU.
  StartManager({Node("cpu", {{"CPU", 8}}), Node("gpu-dead", {{"CPU", 8}, {"GPU", 1}}, rpc::DEAD,
                                                                rpc::UNEXPECTED_TERMINATION)});
  rpc::ActorInfo actor = NewActor("a1", 0, {{"GPU", 1}});
  actor.set_detached(true);
  actor.set_job_id(7);
  ASSERT_TRUE(Register(actor).ok());

  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::PENDING_CREATION);
  EXPECT_EQ(row->num_restarts(), 0);
  EXPECT_EQ(row->class_name(), "Counter");
  EXPECT_EQ(Published("a1").state(), rpc::PENDING_CREATION);
  EXPECT_TRUE(peers_.leases.empty()) << "no ALIVE node offers a GPU";

  executor_.AdvanceMs(60'000);
  EXPECT_TRUE(peers_.leases.empty()) << "waiting is not polling";

  NodeChanged(Node("cpu2", {{"CPU", 8}}));
  EXPECT_TRUE(peers_.leases.empty()) << "a node without the resource is not chosen";
  NodeChanged(Node("gpu-suspected", {{"GPU", 4}}, rpc::SUSPECTED));
  EXPECT_TRUE(peers_.leases.empty()) << "only ALIVE nodes take actors";

  NodeChanged(Node("gpu", {{"CPU", 8}, {"GPU", 2}}));
  ASSERT_EQ(peers_.leases.size(), 1u);
  const auto& lease = peers_.leases.front();
  EXPECT_EQ(lease.node_address, AddressOf("gpu"));
  EXPECT_TRUE(lease.request.for_actor());
  EXPECT_TRUE(lease.request.detached());
  EXPECT_EQ(lease.request.job_id(), 7u);
  EXPECT_EQ(lease.request.executable_sha256(), "sha");
  EXPECT_EQ(lease.request.resources().at("GPU"), 1);

  GrantLease();
  ASSERT_EQ(peers_.creates.size(), 1u);
  const auto& create = peers_.creates.front();
  EXPECT_EQ(create.worker_address, "worker-1:9000");
  EXPECT_EQ(create.request.actor().actor_id(), "a1");
  EXPECT_EQ(create.request.actor().num_restarts(), 0);
  EXPECT_EQ(create.request.actor().creation().function_name(), "Counter::New");
  EXPECT_EQ(StoredState("a1"), rpc::PENDING_CREATION) << "not alive before the constructor returned";
  EXPECT_TRUE(peers_.watches.empty());

  AnswerCreate();
  row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(row->node_id(), "gpu");
  EXPECT_EQ(row->node_address(), AddressOf("gpu"));
  EXPECT_EQ(row->address(), "worker-1:9000");
  EXPECT_EQ(row->worker_id(), "worker-1");
  EXPECT_EQ(row->lease_id(), "lease-1");
  EXPECT_EQ(row->pid(), 1001);
  EXPECT_EQ(row->num_restarts(), 0);
  EXPECT_EQ(row->death_cause(), rpc::ACTOR_DEATH_CAUSE_UNSPECIFIED);
  EXPECT_EQ(Published("a1").state(), rpc::ACTOR_ALIVE);

  ASSERT_EQ(peers_.watches.size(), 1u);
  EXPECT_EQ(peers_.watches.front().worker_address, "worker-1:9000");
  EXPECT_EQ(peers_.watches.front().request.actor_id(), "a1");
  EXPECT_EQ(peers_.watches.front().request.instance(), 0);
  EXPECT_EQ(peers_.watches.front().request.wait_ms(), 5000);
  // A watch that ends quietly (the worker's wait elapsed) is renewed at once.
  auto watch = FakeActorPeers::Take(peers_.watches, "WatchActor");
  watch.done(rpc::WatchActorReply());
  executor_.RunUntilIdle();
  EXPECT_EQ(peers_.watches.size(), 1u);
  EXPECT_TRUE(peers_.kills.empty());
  EXPECT_EQ(StoredState("a1"), rpc::ACTOR_ALIVE);
}

// A lease request held by a node that then dies (a host powered off never answers) is abandoned when the
// node is declared dead: the actor is placed again, and a late grant from the old request is returned.
TEST_F(ActorManagerTest, LeaseRequestWaitingAtANodeThatDiesIsPlacedAgain) {
  StartManager({Node("n1", {{"CPU", 1}})});
  ASSERT_TRUE(Register(NewActor("a1", 0)).ok());
  ASSERT_EQ(peers_.leases.size(), 1u);
  EXPECT_EQ(peers_.leases.front().node_address, AddressOf("n1"));
  NodeChanged(Node("n2", {{"CPU", 1}}));
  EXPECT_EQ(peers_.leases.size(), 1u) << "an actor whose request waits is not placed twice";

  NodeChanged(Node("n1", {{"CPU", 1}}, rpc::DEAD, rpc::UNEXPECTED_TERMINATION));
  ASSERT_EQ(peers_.leases.size(), 2u) << "the request waiting at the dead node is given up";
  EXPECT_EQ(peers_.leases.back().node_address, AddressOf("n2"));
  EXPECT_EQ(Published("a1").state(), rpc::PENDING_CREATION);
  EXPECT_EQ(Published("a1").num_restarts(), 0) << "no instance died";

  // The old request's grant arrives after all: that worker is not wanted.
  const size_t kills = peers_.kills.size();
  GrantLease();
  EXPECT_EQ(peers_.kills.size(), kills + 1);
  EXPECT_TRUE(peers_.creates.empty());
  GrantLease();
  ASSERT_EQ(peers_.creates.size(), 1u);
  AnswerCreate();
  EXPECT_EQ(StoredState("a1"), rpc::ACTOR_ALIVE);
  EXPECT_EQ(Stored("a1")->node_id(), "n2");
}

// A redirect to a node this GCS knows is dead (the redirecting node had not heard yet) is not followed.
TEST_F(ActorManagerTest, SpillbackToADeadNodeIsNotFollowed) {
  StartManager({Node("n1", {{"CPU", 1}}), Node("n2", {{"CPU", 1}}, rpc::DEAD, rpc::UNEXPECTED_TERMINATION)});
  ASSERT_TRUE(Register(NewActor("a1", 0)).ok());
  auto call = FakeActorPeers::Take(peers_.leases, "lease");
  EXPECT_EQ(call.node_address, AddressOf("n1"));
  rpc::RequestWorkerLeaseReply redirect;
  redirect.set_spillback_address(AddressOf("n2"));
  call.done(redirect);
  executor_.RunUntilIdle();
  for (const auto& lease : peers_.leases) EXPECT_NE(lease.node_address, AddressOf("n2"));
  executor_.AdvanceMs(1000);
  ASSERT_FALSE(peers_.leases.empty()) << "placed again after a retry delay";
  EXPECT_EQ(peers_.leases.front().node_address, AddressOf("n1"));
}

// A new node agent listening where a dead one did is another node: it is asked.
TEST_F(ActorManagerTest, ANewNodeAtADeadNodesAddressIsAsked) {
  rpc::NodeInfo fresh = Node("n2-new", {{"CPU", 1}});
  fresh.set_address(AddressOf("n2"));
  StartManager({Node("n2", {{"CPU", 1}}, rpc::DEAD, rpc::UNEXPECTED_TERMINATION), fresh});
  ASSERT_TRUE(Register(NewActor("a1", 0)).ok());
  ASSERT_EQ(peers_.leases.size(), 1u);
  EXPECT_EQ(peers_.leases.front().node_address, AddressOf("n2"));
}

// (a) placement: among ALIVE nodes, one lacking the resource is never chosen.
TEST_F(ActorManagerTest, NodeLackingTheResourceIsNeverChosen) {
  StartManager({Node("cpu-a", {{"CPU", 64}}), Node("gpu", {{"CPU", 1}, {"GPU", 8}}), Node("cpu-b", {{"CPU", 64}})});
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Register(NewActor("g" + std::to_string(i), 0, {{"GPU", 1}})).ok());
  ASSERT_EQ(peers_.lease_addresses.size(), 6u);
  for (const auto& address : peers_.lease_addresses) EXPECT_EQ(address, AddressOf("gpu"));
  // Too much of a resource the node has is not a fit either.
  ASSERT_TRUE(Register(NewActor("big", 0, {{"GPU", 9}})).ok());
  EXPECT_EQ(peers_.lease_addresses.size(), 6u);
  EXPECT_EQ(Published("big").state(), rpc::PENDING_CREATION);
}

// (b) a worker death restarts the actor while max_restarts allows; the next death is final.
TEST_F(ActorManagerTest, WorkerDeathRestartsWithinMaxRestartsThenTheActorDies) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", /*max_restarts=*/1)).ok());
  MakeAlive();
  ASSERT_EQ(StoredState("a1"), rpc::ACTOR_ALIVE);

  // A broken watch whose worker still runs (a blip) is only watched again, after a pause.
  {
    auto watch = FakeActorPeers::Take(peers_.watches, "WatchActor");
    watch.done(UnavailableError("blip"));
    executor_.RunUntilIdle();
    auto exit = FakeActorPeers::Take(peers_.exits, "GetWorkerExit");
    EXPECT_EQ(exit.node_address, AddressOf("n1"));
    EXPECT_EQ(exit.worker_id, "worker-1");
    exit.done(rpc::GetWorkerExitReply());  // exited = false
    executor_.RunUntilIdle();
    EXPECT_TRUE(peers_.watches.empty());
    executor_.AdvanceMs(settings_.retry_initial_ms);
    ASSERT_EQ(peers_.watches.size(), 1u);
    EXPECT_EQ(StoredState("a1"), rpc::ACTOR_ALIVE);
    EXPECT_EQ(Published("a1").num_restarts(), 0);
  }

  WorkerDies("killed by signal 9");
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::RESTARTING);
  EXPECT_EQ(row->num_restarts(), 1);
  EXPECT_EQ(row->num_failure_restarts(), 1);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_WORKER_DIED);
  EXPECT_NE(row->death_message().find("killed by signal 9"), std::string::npos) << row->death_message();
  EXPECT_TRUE(row->lease_id().empty()) << "the dead instance's worker is forgotten";
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), "lease-1"}}));
  ASSERT_EQ(peers_.leases.size(), 1u) << "a new instance is placed";

  GrantLease();
  auto create = AnswerCreate();
  EXPECT_EQ(create.request.actor().num_restarts(), 1) << "the instance being made";
  row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(row->num_restarts(), 1);
  EXPECT_EQ(row->worker_id(), "worker-2");
  ASSERT_EQ(peers_.watches.size(), 1u);
  EXPECT_EQ(peers_.watches.front().request.instance(), 1);

  WorkerDies("exit code 3");
  row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_DEAD);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_WORKER_DIED);
  EXPECT_EQ(row->num_restarts(), 1);
  EXPECT_EQ(row->num_failure_restarts(), 1);
  EXPECT_NE(row->death_message().find("exit code 3"), std::string::npos) << row->death_message();
  EXPECT_NE(row->death_message().find("max_restarts=1"), std::string::npos) << row->death_message();
  EXPECT_EQ(Published("a1").state(), rpc::ACTOR_DEAD);
  EXPECT_TRUE(peers_.leases.empty()) << "no new instance for a dead actor";
  executor_.AdvanceMs(10'000);
  EXPECT_TRUE(peers_.leases.empty());
  EXPECT_TRUE(peers_.watches.empty());
}

// (b) a worker its node no longer knows counts as dead too.
TEST_F(ActorManagerTest, WorkerUnknownToItsNodeCountsAsDead) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", 0)).ok());
  MakeAlive();
  auto watch = FakeActorPeers::Take(peers_.watches, "WatchActor");
  watch.done(UnavailableError("gone"));
  executor_.RunUntilIdle();
  auto exit = FakeActorPeers::Take(peers_.exits, "GetWorkerExit");
  exit.done(NotFoundError("no worker worker-1"));
  executor_.RunUntilIdle();
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_DEAD);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_WORKER_DIED);
}

// (c) a drained node's actor restarts without using up max_restarts; an unexpected node death is a failure.
TEST_F(ActorManagerTest, DrainedNodeRestartsForFreeButUnexpectedNodeDeathCounts) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", /*max_restarts=*/0)).ok());
  MakeAlive();
  ASSERT_EQ(Stored("a1")->node_id(), "n1");
  NodeChanged(Node("n2", {{"CPU", 4}}));
  EXPECT_TRUE(peers_.leases.empty()) << "an alive actor is not moved by a new node";

  NodeChanged(Node("n1", {{"CPU", 4}}, rpc::DEAD, rpc::DRAINED));
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::RESTARTING);
  EXPECT_EQ(row->num_restarts(), 1);
  EXPECT_EQ(row->num_failure_restarts(), 0) << "a drained node's actor did not fail";
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_NODE_DIED);
  EXPECT_TRUE(peers_.kills.empty()) << "nothing to kill on a dead node";
  ASSERT_EQ(peers_.leases.size(), 1u);
  EXPECT_EQ(peers_.leases.front().node_address, AddressOf("n2")) << "never the dead node";

  MakeAlive();
  row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(row->node_id(), "n2");
  EXPECT_EQ(row->num_restarts(), 1);

  NodeChanged(Node("n2", {{"CPU", 4}}, rpc::DEAD, rpc::UNEXPECTED_TERMINATION));
  row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_DEAD);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_NODE_DIED);
  EXPECT_EQ(row->num_failure_restarts(), 0);
  EXPECT_NE(row->death_message().find("n2"), std::string::npos) << row->death_message();
  EXPECT_TRUE(peers_.leases.empty());
  EXPECT_TRUE(peers_.kills.empty());
}

// (c) with max_restarts 0, an unexpected node death is final at once.
TEST_F(ActorManagerTest, UnexpectedNodeDeathWithNoRestartsLeftKillsTheActor) {
  StartManager({Node("n1", {{"CPU", 4}}), Node("n2", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", 0)).ok());
  auto lease = GrantLease();
  AnswerCreate();
  const std::string node_id = node_ids_[lease.node_address];
  const std::string other = node_id == "n1" ? "n2" : "n1";
  NodeChanged(Node(other, {{"CPU", 4}}, rpc::DEAD, rpc::UNEXPECTED_TERMINATION));
  EXPECT_EQ(StoredState("a1"), rpc::ACTOR_ALIVE) << "another node's death does not touch it";
  NodeChanged(Node(node_id, {{"CPU", 4}}, rpc::DEAD, rpc::UNEXPECTED_TERMINATION));
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_DEAD);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_NODE_DIED);
  EXPECT_EQ(row->num_restarts(), 0);
  EXPECT_EQ(row->num_failure_restarts(), 0);
  EXPECT_TRUE(peers_.leases.empty());
}

// (h) a constructor that throws: dead for good, its worker killed, whatever max_restarts says.
TEST_F(ActorManagerTest, ConstructorFailureIsFinalAndKillsTheWorker) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", /*max_restarts=*/-1)).ok());
  GrantLease();
  rpc::CreateActorReply failed;
  failed.set_failed(true);
  failed.mutable_error()->set_type_name("std::runtime_error");
  failed.mutable_error()->set_message("boom");
  failed.mutable_error()->set_where("worker-1 on n1");
  AnswerCreate(failed);

  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_DEAD);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_CREATION_FAILED);
  EXPECT_NE(row->death_message().find("std::runtime_error"), std::string::npos) << row->death_message();
  EXPECT_NE(row->death_message().find("boom"), std::string::npos) << row->death_message();
  EXPECT_EQ(row->num_restarts(), 0);
  EXPECT_TRUE(row->lease_id().empty());
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), "lease-1"}}));
  EXPECT_TRUE(peers_.watches.empty());
  EXPECT_TRUE(peers_.leases.empty());
  EXPECT_EQ(Published("a1").state(), rpc::ACTOR_DEAD);
}

// (h) a worker that dies during the constructor is a failed instance (restartable), not a failed constructor.
TEST_F(ActorManagerTest, WorkerDyingDuringTheConstructorIsRestarted) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", 1)).ok());
  GrantLease();
  CreateBreaks(/*exited=*/true, "killed by signal 11");
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::RESTARTING);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_WORKER_DIED);
  EXPECT_NE(row->death_message().find("died during the constructor: killed by signal 11"), std::string::npos)
      << row->death_message();
  EXPECT_EQ(row->num_restarts(), 1);
  EXPECT_EQ(row->num_failure_restarts(), 1);
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), "lease-1"}}));
  EXPECT_TRUE(peers_.leases.empty()) << "a death during creation backs off before the next attempt";
  EXPECT_EQ(row->next_attempt_time_ms(), executor_.WallMs() + settings_.restart_delay_initial_ms);
  executor_.AdvanceMs(settings_.restart_delay_initial_ms);
  EXPECT_EQ(peers_.leases.size(), 1u);
}

// A worker that runs but cannot be reached (it advertised an address nobody can dial) is reported as such,
// not as a death in the constructor, and its restarts back off.
TEST_F(ActorManagerTest, UnreachableWorkerIsReportedAsUnreachable) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", -1)).ok());
  GrantLease();
  CreateBreaks(/*exited=*/false);
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), "lease-1"}}))
      << "the unreachable worker is killed before another is made";
  EXPECT_TRUE(peers_.leases.empty()) << "no new instance while the old one may still run";
  // The node says it still runs, then that it exited: only then is the actor restarted.
  executor_.AdvanceMs(settings_.retry_initial_ms);
  FakeActorPeers::Take(peers_.exits, "GetWorkerExit").done(rpc::GetWorkerExitReply());
  executor_.RunUntilIdle();
  EXPECT_EQ(StoredState("a1"), rpc::PENDING_CREATION);
  executor_.AdvanceMs(settings_.retry_initial_ms);
  rpc::GetWorkerExitReply exited;
  exited.set_exited(true);
  FakeActorPeers::Take(peers_.exits, "GetWorkerExit").done(exited);
  executor_.RunUntilIdle();
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::RESTARTING);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_WORKER_UNREACHABLE);
  EXPECT_NE(row->death_message().find("could not be reached at worker-1:9000"), std::string::npos)
      << row->death_message();
  EXPECT_EQ(row->death_message().find("constructor"), std::string::npos) << row->death_message();
  EXPECT_EQ(std::string(ActorDeathCauseName(row->death_cause())), "worker_unreachable");
}

// Instances that keep dying while being made are restarted after 200, 400, 800 ms, then at most 1,000 ms
// apart (restart_delay_max_ms), each pause published; the actor is not given up while max_restarts allows.
TEST_F(ActorManagerTest, CrashLoopBacksOffExponentiallyUpToTheBound) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", -1)).ok());
  const std::vector<int64_t> expected = {200, 400, 800, 1000, 1000};
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    GrantLease();
    CreateBreaks(/*exited=*/true);
    EXPECT_TRUE(peers_.leases.empty());
    EXPECT_EQ(Published("a1").quick_deaths(), static_cast<int32_t>(i + 1));
    EXPECT_EQ(Published("a1").next_attempt_time_ms(), executor_.WallMs() + expected[i]);
    executor_.AdvanceMs(expected[i] - 1);
    EXPECT_TRUE(peers_.leases.empty()) << "placed before its pause ended";
    executor_.AdvanceMs(1);
    ASSERT_EQ(peers_.leases.size(), 1u) << "not placed when its pause ended";
  }
  EXPECT_EQ(Published("a1").num_restarts(), static_cast<int32_t>(expected.size()));
  // A success clears the pending attempt time; an instance that then lives past restart_stable_ms and dies
  // is restarted at once, its backoff starting over.
  MakeAlive();
  EXPECT_EQ(Published("a1").next_attempt_time_ms(), 0);
}

// Instances that keep dying soon after becoming ALIVE back off from the second such death in a row; one that
// lived past restart_stable_ms is restarted at once and the count starts over.
TEST_F(ActorManagerTest, OnlyInstancesThatDieSoonAfterStartingBackOff) {
  settings_.restart_stable_ms = 5000;
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", -1)).ok());
  MakeAlive();
  executor_.AdvanceMs(4999);
  WorkerDies();
  EXPECT_EQ(peers_.leases.size(), 1u) << "one quick death is not a loop yet: restarted at once";
  EXPECT_EQ(Published("a1").quick_deaths(), 1);
  MakeAlive();
  executor_.AdvanceMs(100);
  WorkerDies();
  EXPECT_TRUE(peers_.leases.empty()) << "the second quick death in a row backs off";
  EXPECT_EQ(Published("a1").quick_deaths(), 2);
  EXPECT_EQ(Published("a1").next_attempt_time_ms(), executor_.WallMs() + settings_.restart_delay_initial_ms);
  executor_.AdvanceMs(settings_.restart_delay_initial_ms);
  MakeAlive();
  executor_.AdvanceMs(5000);
  WorkerDies();
  EXPECT_EQ(peers_.leases.size(), 1u) << "lived 5,000 ms: restarted at once";
  EXPECT_EQ(Published("a1").quick_deaths(), 0);
  EXPECT_EQ(Published("a1").next_attempt_time_ms(), 0);
}

// A killed actor that was waiting out its pause is not placed when the pause ends.
TEST_F(ActorManagerTest, ActorKilledDuringItsBackoffIsNotPlaced) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", -1)).ok());
  GrantLease();
  CreateBreaks(/*exited=*/true);
  ASSERT_TRUE(Kill("a1", /*no_restart=*/true).ok());
  executor_.AdvanceMs(10'000);
  EXPECT_TRUE(peers_.leases.empty());
  EXPECT_EQ(StoredState("a1"), rpc::ACTOR_DEAD);
}

// Refused leases are retried with backoff; too many in a row fail the creation.
TEST_F(ActorManagerTest, RepeatedLeaseRefusalsFailTheCreation) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1", -1)).ok());
  for (int refusal = 1; refusal <= settings_.lease_refusals_max; ++refusal) {
    auto call = FakeActorPeers::Take(peers_.leases, "lease");
    rpc::RequestWorkerLeaseReply refused;
    refused.set_error("cannot start a worker");
    call.done(refused);
    executor_.RunUntilIdle();
    if (refusal < settings_.lease_refusals_max) {
      EXPECT_TRUE(peers_.leases.empty()) << "retried after a pause, not at once";
      EXPECT_EQ(StoredState("a1"), rpc::PENDING_CREATION);
      executor_.AdvanceMs(settings_.retry_max_ms);
      ASSERT_EQ(peers_.leases.size(), 1u) << "refusal " << refusal;
    }
  }
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_DEAD);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_CREATION_FAILED);
  EXPECT_NE(row->death_message().find("cannot start a worker"), std::string::npos) << row->death_message();
  executor_.AdvanceMs(10'000);
  EXPECT_TRUE(peers_.leases.empty());
}

// A redirected lease request must say so, or busy nodes may pass it back and forth (the node's protocol:
// `spilled` = already redirected once: queue here, never redirect again).
TEST_F(ActorManagerTest, RedirectedLeaseRequestIsMarkedSpilled) {
  StartManager({Node("n1", {{"CPU", 4}}), Node("n2", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1")).ok());
  auto first = FakeActorPeers::Take(peers_.leases, "lease");
  EXPECT_FALSE(first.request.spilled());
  const std::string other = first.node_address == AddressOf("n1") ? AddressOf("n2") : AddressOf("n1");
  rpc::RequestWorkerLeaseReply redirect;
  redirect.set_spillback_address(other);
  first.done(redirect);
  executor_.RunUntilIdle();
  ASSERT_EQ(peers_.leases.size(), 1u);
  EXPECT_EQ(peers_.leases.front().node_address, other);
  EXPECT_TRUE(peers_.leases.front().request.spilled());
}

// A redirect is followed: the actor lands on the node that granted, whatever node was asked first.
TEST_F(ActorManagerTest, SpillbackIsFollowedToTheGrantingNode) {
  StartManager({Node("n1", {{"CPU", 4}}), Node("n2", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1")).ok());
  auto first = FakeActorPeers::Take(peers_.leases, "lease");
  const std::string other_id = first.node_address == AddressOf("n1") ? "n2" : "n1";
  rpc::RequestWorkerLeaseReply redirect;
  redirect.set_spillback_address(AddressOf(other_id));
  first.done(redirect);
  executor_.RunUntilIdle();
  ASSERT_EQ(peers_.leases.size(), 1u);
  EXPECT_EQ(peers_.leases.front().node_address, AddressOf(other_id));
  MakeAlive();
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(row->node_id(), other_id);
  EXPECT_EQ(row->node_address(), AddressOf(other_id));
}

// An actor registered before its constructor arguments are ready is placed only once they are.
TEST_F(ActorManagerTest, UnresolvedActorIsPlacedOnlyAfterResolve) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1"), /*dependencies_ready=*/false).ok());
  EXPECT_EQ(StoredState("a1"), rpc::DEPENDENCIES_UNREADY);
  EXPECT_TRUE(peers_.leases.empty());
  rpc::TaskSpec creation = NewActor("a1").creation();
  creation.add_args()->set_value("resolved");
  Status resolved = InternalError("not answered");
  manager_->HandleResolve("a1", creation, [&](Status s) { resolved = s; });
  executor_.RunUntilIdle();
  ASSERT_TRUE(resolved.ok()) << resolved;
  EXPECT_EQ(StoredState("a1"), rpc::PENDING_CREATION);
  ASSERT_EQ(peers_.leases.size(), 1u);
  GrantLease();
  ASSERT_EQ(peers_.creates.size(), 1u);
  EXPECT_EQ(peers_.creates.front().request.actor().creation().args(0).value(), "resolved");
}

}  // namespace
}  // namespace halo::gcs::actor_test
