// Shared by the ActorManager unit tests: fake peers that record every lease, construction, watch and kill
// (the test answers them, or not, in the order it wants), a memory store whose writes can be held back, and
// a fixture driving the manager on a fake executor.
#pragma once

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


namespace halo::gcs::actor_test {

using halo::testing::FakeExecutor;


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
class SilentProber : public health::HealthProber {
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

inline rpc::NodeInfo Node(const std::string& id, const std::map<std::string, double>& resources,
                   rpc::NodeState state = rpc::ALIVE, rpc::DeathReason reason = rpc::DEATH_REASON_UNSPECIFIED) {
  rpc::NodeInfo node;
  node.set_node_id(id);
  node.set_address(id + ":7000");
  for (const auto& [name, amount] : resources) (*node.mutable_resources())[name] = amount;
  node.set_state(state);
  node.set_death_reason(reason);
  return node;
}

inline std::string AddressOf(const std::string& node_id) { return node_id + ":7000"; }

inline rpc::ActorInfo NewActor(const std::string& id, int32_t max_restarts = 0,
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
    settings_.restart_delay_initial_ms = 200;
    settings_.restart_delay_max_ms = 1000;
    settings_.restart_stable_ms = 0;  // an ALIVE instance counts as stable at once; tests of backoff raise it
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
  // CreateActor breaks; the node answers whether the worker exited (with description) or still runs.
  void CreateBreaks(bool exited, const std::string& description = "killed by signal 9") {
    AnswerCreate(UnavailableError("socket closed"));
    auto exit = FakeActorPeers::Take(peers_.exits, "GetWorkerExit");
    rpc::GetWorkerExitReply reply;
    reply.set_exited(exited);
    if (exited) reply.set_description(description);
    exit.done(reply);
    executor_.RunUntilIdle();
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

}  // namespace halo::gcs::actor_test
