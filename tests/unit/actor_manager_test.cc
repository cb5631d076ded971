// The GCS' ActorManager on a fake executor, the memory store and fake peers: every lease, construction, watch
// and kill it sends is captured, and the test answers it (or not) in the order it wants.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <optional>
#include <ostream>
#include <stdexcept>

#include "gcs/actor_manager.h"
#include "gcs/table_names.h"
#include "storage/memory_store.h"
#include "support/fake_executor.h"

namespace halo::gcs {
namespace {

using testing::FakeExecutor;

// Records every call; the test answers them through the stored callbacks.
class FakeActorPeers : public ActorPeers {
 public:
  struct LeaseCall {
    std::string node_address;
    rpc::RequestWorkerLeaseRequest request;
    std::function<void(StatusOr<rpc::RequestWorkerLeaseReply>)> done;
  };
  struct KillCall {
    std::string node_address;
    std::string lease_id;
    bool operator==(const KillCall& other) const {
      return node_address == other.node_address && lease_id == other.lease_id;
    }
    friend void PrintTo(const KillCall& kill, std::ostream* out) {
      *out << "kill(" << kill.node_address << ", " << kill.lease_id << ")";
    }
  };
  struct ExitCall {
    std::string node_address;
    std::string worker_id;
    std::function<void(StatusOr<rpc::GetWorkerExitReply>)> done;
  };
  struct CreateCall {
    std::string worker_address;
    rpc::CreateActorRequest request;
    std::function<void(StatusOr<rpc::CreateActorReply>)> done;
  };
  struct WatchCall {
    std::string worker_address;
    rpc::WatchActorRequest request;
    std::function<void(StatusOr<rpc::WatchActorReply>)> done;
  };

  void RequestWorkerLease(const std::string& node_address, const rpc::RequestWorkerLeaseRequest& request,
                          std::function<void(StatusOr<rpc::RequestWorkerLeaseReply>)> done) override {
    leases.push_back({node_address, request, std::move(done)});
    lease_addresses.push_back(node_address);
  }
  void KillWorker(const std::string& node_address, const std::string& lease_id) override {
    kills.push_back({node_address, lease_id});
  }
  void GetWorkerExit(const std::string& node_address, const std::string& worker_id,
                     std::function<void(StatusOr<rpc::GetWorkerExitReply>)> done) override {
    exits.push_back({node_address, worker_id, std::move(done)});
  }
  void CreateActor(const std::string& worker_address, const rpc::CreateActorRequest& request,
                   std::function<void(StatusOr<rpc::CreateActorReply>)> done) override {
    creates.push_back({worker_address, request, std::move(done)});
  }
  void WatchActor(const std::string& worker_address, const rpc::WatchActorRequest& request,
                  std::function<void(StatusOr<rpc::WatchActorReply>)> done) override {
    watches.push_back({worker_address, request, std::move(done)});
  }

  // The oldest unanswered call of a kind.
  template <typename Call>
  static Call Take(std::deque<Call>& calls, const char* what) {
    if (calls.empty()) throw std::runtime_error(std::string("no ") + what + " call to answer");
    Call call = std::move(calls.front());
    calls.pop_front();
    return call;
  }
  // Drops every unanswered call (their callbacks point at a manager that is gone).
  void Forget() {
    leases.clear();
    exits.clear();
    creates.clear();
    watches.clear();
    kills.clear();
    lease_addresses.clear();
  }

  std::deque<LeaseCall> leases;
  std::vector<std::string> lease_addresses;  // every lease request ever sent, in order
  std::vector<KillCall> kills;
  std::deque<ExitCall> exits;
  std::deque<CreateCall> creates;
  std::deque<WatchCall> watches;
};

// Owners are never found dead here: probes stay unanswered (so no further probe is sent).
class SilentProber : public HealthProber {
 public:
  void Probe(const std::string&, const std::string&, int64_t, std::function<void(bool)> done) override {
    pending.push_back(std::move(done));
  }
  std::vector<std::function<void(bool)>> pending;
};

// The memory store, with writes that can be held back (not yet durable) and released later.
class HoldingStore : public MemoryStore {
 public:
  using MemoryStore::MemoryStore;
  bool hold_writes = false;
  void AsyncPut(const std::string& table, const std::string& key, std::string value, bool overwrite,
                std::function<void(StatusOr<bool>)> done) override {
    if (hold_writes) {
      held_.push_back([this, table, key, value, overwrite, done] {
        MemoryStore::AsyncPut(table, key, value, overwrite, done);
      });
      return;
    }
    MemoryStore::AsyncPut(table, key, std::move(value), overwrite, std::move(done));
  }
  void ReleaseWrites() {
    hold_writes = false;
    auto held = std::move(held_);
    held_.clear();
    for (auto& write : held) write();
  }
  size_t held() const { return held_.size(); }

 private:
  std::vector<std::function<void()>> held_;
};

rpc::NodeInfo Node(const std::string& id, const std::map<std::string, double>& resources,
                   rpc::NodeState state = rpc::ALIVE, rpc::DeathReason reason = rpc::DEATH_REASON_UNSPECIFIED) {
  rpc::NodeInfo node;
  node.set_node_id(id);
  node.set_address(id + ":7000");
  for (const auto& [name, amount] : resources) (*node.mutable_resources())[name] = amount;
  node.set_state(state);
  node.set_death_reason(reason);
  return node;
}

std::string AddressOf(const std::string& node_id) { return node_id + ":7000"; }

rpc::ActorInfo NewActor(const std::string& id, int32_t max_restarts = 0,
                        const std::map<std::string, double>& resources = {{"CPU", 1}}) {
  rpc::ActorInfo actor;
  actor.set_actor_id(id);
  actor.set_namespace_("default");
  actor.set_job_id(1);
  actor.set_max_restarts(max_restarts);
  actor.set_class_name("Counter");
  actor.set_executable_sha256("sha");
  actor.set_driver_address("driver:1");
  rpc::TaskSpec* creation = actor.mutable_creation();
  creation->set_task_id(id);
  creation->set_job_id(1);
  creation->set_function_name("Counter::New");
  for (const auto& [name, amount] : resources) (*creation->mutable_resources())[name] = amount;
  return actor;
}

class ActorManagerTest : public ::testing::Test {
 protected:
  ActorManagerTest() {
    settings_.watch_wait_ms = 5000;
    settings_.retry_initial_ms = 100;
    settings_.retry_max_ms = 400;
    settings_.lease_refusals_max = 3;
  }
  ~ActorManagerTest() override {
    manager_.reset();
    peers_.Forget();
  }

  // A manager over the stored ACTORS table (empty at first), started with these nodes.
  void StartManager(const std::vector<rpc::NodeInfo>& nodes) {
    manager_ = std::make_unique<ActorManager>(store_, executor_, executor_, peers_, prober_, settings_);
    ASSERT_TRUE(manager_->Initialize(Table()).ok());
    for (const auto& node : nodes) node_ids_[node.address()] = node.node_id();
    manager_->Start(nodes);
    executor_.RunUntilIdle();
  }
  void NodeChanged(const rpc::NodeInfo& node) {
    node_ids_[node.address()] = node.node_id();
    manager_->OnNodeChanged(node);
    executor_.RunUntilIdle();
  }

  KeyValueMap Table() {
    KeyValueMap rows;
    store_.AsyncGetAll(kActorTable, [&](StatusOr<KeyValueMap> r) { rows = *r; });
    executor_.RunUntilIdle();
    return rows;
  }
  // The actor's durable row.
  std::optional<rpc::ActorInfo> Stored(const std::string& id) {
    KeyValueMap rows = Table();
    auto it = rows.find(id);
    if (it == rows.end()) return std::nullopt;
    rpc::ActorInfo info;
    EXPECT_TRUE(info.ParseFromString(it->second));
    return info;
  }
  // What readers see (the published row).
  rpc::ActorInfo Published(const std::string& id) {
    for (const auto& info : manager_->All()) {
      if (info.actor_id() == id) return info;
    }
    ADD_FAILURE() << "no actor " << id;
    return {};
  }
  rpc::ActorState StoredState(const std::string& id) {
    auto row = Stored(id);
    return row ? row->state() : rpc::ACTOR_STATE_UNSPECIFIED;
  }

  Status Register(const rpc::ActorInfo& actor, bool dependencies_ready = true) {
    Status status = InternalError("not answered");
    manager_->HandleRegister(actor, dependencies_ready, [&](Status s) { status = s; });
    executor_.RunUntilIdle();
    return status;
  }
  Status Kill(const std::string& id, bool no_restart) {
    Status status = InternalError("not answered");
    manager_->HandleKill(id, no_restart, false, [&](Status s) { status = s; });
    executor_.RunUntilIdle();
    return status;
  }

  // Grants the oldest lease request with a new worker on the node it was sent to.
  FakeActorPeers::LeaseCall GrantLease() {
    auto call = FakeActorPeers::Take(peers_.leases, "lease");
    const int n = ++workers_;
    rpc::RequestWorkerLeaseReply reply;
    reply.set_granted(true);
    reply.set_lease_id("lease-" + std::to_string(n));
    reply.set_worker_id("worker-" + std::to_string(n));
    reply.set_worker_address("worker-" + std::to_string(n) + ":9000");
    reply.set_worker_pid(1000 + n);
    reply.set_node_id(node_ids_[call.node_address]);
    call.done(reply);
    executor_.RunUntilIdle();
    return call;
  }
  FakeActorPeers::CreateCall AnswerCreate(StatusOr<rpc::CreateActorReply> reply = rpc::CreateActorReply()) {
    auto call = FakeActorPeers::Take(peers_.creates, "CreateActor");
    call.done(std::move(reply));
    executor_.RunUntilIdle();
    return call;
  }
  // Lease granted and constructor returned: ALIVE.
  void MakeAlive() {
    GrantLease();
    AnswerCreate();
  }
  // The watch of the current instance breaks and its node says how the worker ended.
  void WorkerDies(const std::string& description = "killed by signal 9") {
    auto watch = FakeActorPeers::Take(peers_.watches, "WatchActor");
    watch.done(UnavailableError("the connection dropped"));
    executor_.RunUntilIdle();
    auto exit = FakeActorPeers::Take(peers_.exits, "GetWorkerExit");
    rpc::GetWorkerExitReply reply;
    reply.set_exited(true);
    reply.set_description(description);
    exit.done(reply);
    executor_.RunUntilIdle();
  }

  FakeExecutor executor_;
  HoldingStore store_{executor_};
  FakeActorPeers peers_;
  SilentProber prober_;
  ActorManagerSettings settings_;
  std::unique_ptr<ActorManager> manager_;
  std::map<std::string, std::string> node_ids_;  // address -> node id
  int workers_ = 0;
};

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

// (d) names are unique per namespace among live actors; a killed actor frees its name.
TEST_F(ActorManagerTest, NamesAreUniqueAmongLiveActorsAndFreedByKill) {
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
TEST_F(ActorManagerTest, KillWithRestartAllowedRestartsTheActor) {
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
TEST_F(ActorManagerTest, WaitAnswersAtOnceWhenBehindAndOtherwiseOnlyOnceAChangeIsDurable) {
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
TEST_F(ActorManagerTest, WaitersAreBoundedAndReleasedOnStop) {
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
TEST_F(ActorManagerTest, FinishedJobKillsItsNonDetachedActorsOnly) {
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
TEST_F(ActorManagerTest, RecoveryWatchesAliveActorsAndRestartsCreationsUnderWay) {
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
  // The half-made one: its worker is killed and a new lease asked for; nothing for the others.
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), "old-lease-p"}}));
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
TEST_F(ActorManagerTest, RecoveryKillsTheWorkerOfAConstructorThatWasRunning) {
  StartManager({Node("n1", {{"CPU", 4}})});
  ASSERT_TRUE(Register(NewActor("a1")).ok());
  GrantLease();
  ASSERT_EQ(peers_.creates.size(), 1u);  // the constructor runs; the GCS stops now
  manager_.reset();
  peers_.Forget();

  StartManager({Node("n1", {{"CPU", 4}})});
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), "lease-1"}}));
  EXPECT_EQ(peers_.leases.size(), 1u);
}

// (g) an ALIVE row whose node died while the GCS was down (the node row was written, the actor row not).
TEST_F(ActorManagerTest, RecoveredAliveActorOnADeadNodeIsRestarted) {
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
  AnswerCreate(UnavailableError("socket closed"));
  auto row = Stored("a1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state(), rpc::RESTARTING);
  EXPECT_EQ(row->death_cause(), rpc::CAUSE_WORKER_DIED);
  EXPECT_EQ(row->num_restarts(), 1);
  EXPECT_EQ(row->num_failure_restarts(), 1);
  EXPECT_EQ(peers_.kills, (std::vector<FakeActorPeers::KillCall>{{AddressOf("n1"), "lease-1"}}));
  EXPECT_EQ(peers_.leases.size(), 1u);
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
}  // namespace halo::gcs
