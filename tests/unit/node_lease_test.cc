// Node leases on fakes: when the GCS may declare an unreachable node dead (its lease lapsed, no majority
// could have vouched for it, or proof its agent is gone), and the node agent's keeper (grants, vouching,
// fencing for good).
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>

#include "health/health_check_manager.h"
#include "gcs/node_event_publisher.h"
#include "gcs/node_manager.h"
#include "node/node_lease_keeper.h"
#include "storage/memory_store.h"
#include "support/fake_executor.h"

namespace halo {
namespace {

using testing::FakeExecutor;

// Probes fail for nodes in `down`, succeed otherwise, answered at once.
class SwitchableProber : public health::HealthProber {
 public:
  explicit SwitchableProber(Executor& executor) : executor_(executor) {}
  void Probe(const std::string& node_id, const std::string&, int64_t, std::function<void(bool)> done) override {
    const bool healthy = down.count(node_id) == 0;
    executor_.Post([done = std::move(done), healthy] { done(healthy); });
  }
  std::set<std::string> down;

 private:
  Executor& executor_;
};

class ScriptedGoneProver : public gcs::GoneProver {
 public:
  void ProveGone(const std::string& address, std::function<void(bool)> done) override {
    done(gone.count(address) > 0);
  }
  std::set<std::string> gone;
};

// The memory store, with writes that can be held back (not yet durable) and released later.
class HoldableStore : public MemoryStore {
 public:
  using MemoryStore::MemoryStore;
  bool hold = false;
  void AsyncPut(const std::string& table, const std::string& key, std::string value, bool overwrite,
                std::function<void(StatusOr<bool>)> done) override {
    if (!hold) return MemoryStore::AsyncPut(table, key, std::move(value), overwrite, std::move(done));
    held_.push_back([=, this] { MemoryStore::AsyncPut(table, key, value, overwrite, done); });
  }
  void Release() {
    hold = false;
    auto held = std::move(held_);
    held_.clear();
    for (auto& write : held) write();
  }

 private:
  std::vector<std::function<void()>> held_;
};

constexpr int64_t kLeaseMs = 2500;
constexpr int64_t kRenewMs = 250;
constexpr int64_t kVouchAfterMs = 1000;
constexpr int64_t kWorkerLeaseMs = 800;

class NodeLeaseGcsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nodes_.SetCollaborators(&health_, &publisher_);
    gcs::NodeLeaseSettings leases{kLeaseMs, kRenewMs, kVouchAfterMs, kWorkerLeaseMs};
    leases.vouch_limit_ms = vouch_limit_ms_;
    nodes_.SetLeasePolicy(leases, &gone_);
    ASSERT_TRUE(nodes_.Initialize({}).ok());
    nodes_.Start();
    for (const char* id : {"a", "b", "c", "d"}) {
      rpc::NodeInfo n;
      n.set_node_id(id);
      n.set_address(std::string("addr-") + id);
      nodes_.HandleRegister(n, "", [](Status) {});
      executor_.RunUntilIdle();
    }
  }
  // One renewal from id, acknowledging its previous grant unless `ack` is false (the reply was lost).
  rpc::RenewNodeLeaseReply Renew(const std::string& id, bool ack = true) {
    rpc::RenewNodeLeaseRequest request;
    request.set_node_id(id);
    request.set_seq(++seq_[id]);
    request.set_acked_seq(ack ? acked_[id] : 0);
    rpc::RenewNodeLeaseReply reply;
    nodes_.HandleRenewLease(request, [&](StatusOr<rpc::RenewNodeLeaseReply> r) { reply = *r; });
    if (ack && reply.granted()) acked_[id] = request.seq();
    return reply;
  }
  // Advances ms in renewal steps; `renewing` nodes renew at each step.
  void Run(int64_t ms, const std::set<std::string>& renewing, bool ack = true) {
    for (int64_t t = 0; t < ms; t += kRenewMs) {
      for (const auto& id : renewing) Renew(id, ack);
      executor_.AdvanceMs(kRenewMs);
    }
  }
  rpc::NodeState State(const std::string& id) { return nodes_.Find(id)->state(); }

  int64_t vouch_limit_ms_ = 60000;
  FakeExecutor executor_;
  HoldableStore store_{executor_};
  SwitchableProber prober_{executor_};
  ScriptedGoneProver gone_;
  gcs::NodeManager nodes_{store_, executor_, executor_, "cluster-1", /*dead_nodes_max=*/100};
  gcs::NodeEventPublisher publisher_{executor_, "inc", "cluster-1", gcs::PublisherSettings{}};
  health::HealthCheckManager health_{executor_, prober_, nodes_, health::HealthCheckSettings{100, 300, 700, 3}};
  std::map<std::string, uint64_t> seq_, acked_;
};

TEST_F(NodeLeaseGcsTest, GrantCarriesTheMembershipAndItsVersionOnlyWhenNew) {
  rpc::RenewNodeLeaseReply reply = Renew("a");
  ASSERT_TRUE(reply.granted());
  EXPECT_EQ(reply.lease_ms(), kLeaseMs);
  EXPECT_EQ(reply.membership_version(), 4u) << "four joins";
  EXPECT_TRUE(reply.members_included());
  EXPECT_EQ(reply.member_ids_size(), 4);
  EXPECT_EQ(reply.member_addresses(0), "addr-a");
  rpc::RenewNodeLeaseRequest again;
  again.set_node_id("a");
  again.set_seq(100);
  again.set_known_membership_version(4);
  nodes_.HandleRenewLease(again, [&](StatusOr<rpc::RenewNodeLeaseReply> r) { reply = *r; });
  EXPECT_TRUE(reply.granted());
  EXPECT_FALSE(reply.members_included()) << "the node holds this membership already";
  EXPECT_EQ(reply.member_ids_size(), 0);
}

// An isolated node (no renewals, failing probes) is dead only once its lease lapsed, and then promptly.
TEST_F(NodeLeaseGcsTest, IsolatedNodeIsDeadOnlyAfterItsLeaseLapsed) {
  Run(3000, {"a", "b", "c", "d"});
  ASSERT_EQ(State("d"), rpc::ALIVE);
  prober_.down.insert("d");
  const int64_t cut = executor_.MonotonicMs();
  // Its last grant was just before the cut: its lease may run until cut + kLeaseMs.
  int64_t dead_at = -1;
  for (int64_t t = 0; t < 8000 && dead_at < 0; t += kRenewMs) {
    Run(kRenewMs, {"a", "b", "c"});
    if (State("d") == rpc::DEAD) dead_at = executor_.MonotonicMs();
    if (dead_at < 0) {
      ASSERT_NE(State("d"), rpc::DEAD);
    }
  }
  ASSERT_GE(dead_at, 0) << "never declared dead";
  EXPECT_GE(dead_at - cut, kLeaseMs - kRenewMs) << "declared dead while its lease could still hold";
  EXPECT_LE(dead_at - cut, 4000) << "declared dead late";
  EXPECT_EQ(Renew("d").granted(), false) << "a dead node's renewal is refused";
  EXPECT_NE(Renew("d").reason().find("declared dead"), std::string::npos);
}

// A GCS that reaches only a minority declares nobody dead: the others may be vouching for each other.
TEST_F(NodeLeaseGcsTest, GcsReachingOnlyAMinorityDeclaresNobodyDead) {
  Run(3000, {"a", "b", "c", "d"});
  prober_.down = {"b", "c", "d"};
  Run(20000, {"a"});
  EXPECT_NE(State("b"), rpc::DEAD);
  EXPECT_NE(State("c"), rpc::DEAD);
  EXPECT_NE(State("d"), rpc::DEAD);
  // Heal: they renew and answer probes again; ALIVE, nothing was declared dead.
  prober_.down.clear();
  Run(2000, {"a", "b", "c", "d"});
  EXPECT_EQ(State("b"), rpc::ALIVE);
}

// Vouching extends a lease for at most vouch_limit_ms: past that (plus the clock margin and a lease) even a
// node a silent majority may vouch for is dead; not before.
class NodeLeaseGcsShortVouchTest : public NodeLeaseGcsTest {
 protected:
  NodeLeaseGcsShortVouchTest() { vouch_limit_ms_ = 5000; }
};

TEST_F(NodeLeaseGcsShortVouchTest, SilentMajorityIsDeadOnceVouchingCannotHaveExtendedIt) {
  Run(3000, {"a", "b", "c", "d"});
  prober_.down = {"b", "c", "d"};
  const int64_t cut = executor_.MonotonicMs();
  int64_t dead_at = -1;
  for (int64_t t = 0; t < 20000 && dead_at < 0; t += kRenewMs) {
    Run(kRenewMs, {"a"});
    if (State("b") == rpc::DEAD) dead_at = executor_.MonotonicMs();
  }
  ASSERT_GE(dead_at, 0) << "never declared dead";
  EXPECT_GE(dead_at - cut, vouch_limit_ms_ * 10 / 9 + kLeaseMs - kRenewMs) << "dead while vouching could hold it";
  EXPECT_LE(dead_at - cut, vouch_limit_ms_ * 10 / 9 + kLeaseMs + 2000) << "declared dead late";
  Run(2 * kRenewMs, {"a"});
  EXPECT_EQ(State("c"), rpc::DEAD);
  EXPECT_EQ(State("d"), rpc::DEAD);
}

// Grants whose replies never arrived (not acknowledged) do not make a node quiet: it may be vouching.
TEST_F(NodeLeaseGcsTest, UnacknowledgedGrantsDoNotCountTowardTheMajority) {
  Run(3000, {"a", "b", "c", "d"});
  prober_.down = {"d"};
  // b and c reach the GCS, but its replies to them are lost: they hear no grants and could vouch for d.
  for (int64_t t = 0; t < 10000; t += kRenewMs) {
    Renew("a");
    Renew("b", /*ack=*/false);
    Renew("c", /*ack=*/false);
    executor_.AdvanceMs(kRenewMs);
  }
  EXPECT_NE(State("d"), rpc::DEAD);
}

// Proof that the agent is gone (its port refuses) ends the wait for its lease: dead once its workers' lease
// ran out.
TEST_F(NodeLeaseGcsTest, RefusedConnectionIsProofAfterTheWorkersLease) {
  Run(3000, {"a", "b", "c", "d"});
  prober_.down = {"d"};
  gone_.gone = {"addr-d"};
  const int64_t killed = executor_.MonotonicMs();
  int64_t dead_at = -1;
  for (int64_t t = 0; t < 3000 && dead_at < 0; t += 50) {
    for (const char* id : {"a", "b", "c"}) Renew(id);
    executor_.AdvanceMs(50);
    if (State("d") == rpc::DEAD) dead_at = executor_.MonotonicMs();
  }
  ASSERT_GE(dead_at, 0);
  EXPECT_GE(dead_at - killed, kWorkerLeaseMs) << "dead before its workers' lease could have run out";
  EXPECT_LT(dead_at - killed, kLeaseMs) << "proof did not shorten the wait";
}

// At a drain deadline the node may still run workers: its renewals are refused from then on (it stops them
// and exits), and it is DEAD (DRAINED) only once its lease has lapsed.
TEST_F(NodeLeaseGcsTest, DrainDeadlineEndsTheLeaseBeforeTheNodeIsDead) {
  Run(1000, {"a", "b", "c", "d"});
  Status drained = InternalError("no answer");
  nodes_.HandleDrain("d", "preemption", 500, [&](Status s) { drained = s; });
  executor_.RunUntilIdle();
  ASSERT_TRUE(drained.ok());
  Run(500, {"a", "b", "c", "d"});
  const int64_t deadline = executor_.MonotonicMs();
  rpc::RenewNodeLeaseReply refused = Renew("d");
  EXPECT_FALSE(refused.granted());
  EXPECT_NE(refused.reason().find("drain deadline"), std::string::npos) << refused.reason();
  EXPECT_EQ(State("d"), rpc::DRAINING) << "dead while its last grant may still hold";
  Run(kLeaseMs, {"a", "b", "c"});
  EXPECT_EQ(State("d"), rpc::DEAD);
  EXPECT_EQ(nodes_.Find("d")->death_reason(), rpc::DRAINED);
  EXPECT_GE(executor_.MonotonicMs() - deadline, kLeaseMs - kRenewMs);
}

// A membership whose row is not stored yet is not granted: a GCS restarted on storage could not rebuild it.
TEST_F(NodeLeaseGcsTest, OnlyDurableMembershipsAreGranted) {
  store_.hold = true;
  rpc::NodeInfo e;
  e.set_node_id("e");
  e.set_address("addr-e");
  nodes_.HandleRegister(e, "", [](Status) {});
  executor_.RunUntilIdle();
  EXPECT_EQ(nodes_.membership_version(), 5u);
  rpc::RenewNodeLeaseReply reply = Renew("a");
  EXPECT_EQ(reply.membership_version(), 4u) << "e's join is not durable yet";
  EXPECT_EQ(reply.member_ids_size(), 4);
  store_.Release();
  executor_.RunUntilIdle();
  reply = Renew("a");
  EXPECT_EQ(reply.membership_version(), 5u);
  EXPECT_EQ(reply.member_ids_size(), 5);
}

// A head candidate that no longer certainly leads grants nothing (and refuses nothing: the node is not dead).
TEST_F(NodeLeaseGcsTest, NoGrantsWhileTheGuardSaysThisGcsDoesNotLead) {
  bool leads = true;
  nodes_.SetGrantGuard([&] { return leads; });
  EXPECT_TRUE(Renew("a").granted());
  leads = false;
  rpc::RenewNodeLeaseRequest request;
  request.set_node_id("a");
  request.set_seq(1000);
  StatusOr<rpc::RenewNodeLeaseReply> reply = InternalError("no answer");
  nodes_.HandleRenewLease(request, [&](StatusOr<rpc::RenewNodeLeaseReply> r) { reply = std::move(r); });
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
}

// ---- the node agent's keeper ----

class FakeGcs : public GcsNodeClient {
 public:
  void AsyncRegister(const rpc::NodeInfo&, const std::string&, int64_t,
                     std::function<void(StatusOr<std::string>)>) override {}
  void AsyncUnregister(const std::string&, rpc::DeathReason, const std::string&, int64_t,
                       std::function<void(Status)>) override {}
  void AsyncPoll(const rpc::PollNodeEventsRequest&, int64_t,
                 std::function<void(StatusOr<rpc::PollNodeEventsReply>)>) override {}
  void AsyncRenewLease(const rpc::RenewNodeLeaseRequest& request, int64_t,
                       std::function<void(StatusOr<rpc::RenewNodeLeaseReply>)> done) override {
    requests.push_back(request);
    if (mode == kGrant) {
      rpc::RenewNodeLeaseReply reply;
      reply.set_granted(true);
      reply.set_lease_ms(kLeaseMs);
      reply.set_membership_version(7);
      reply.set_members_included(request.known_membership_version() != 7);
      for (const char* id : {"me", "p1", "p2", "p3"}) {
        if (!reply.members_included()) break;
        reply.add_member_ids(id);
        reply.add_member_addresses(std::string(id) + ":1");
      }
      done(reply);
    } else if (mode == kRefuse) {
      rpc::RenewNodeLeaseReply reply;
      reply.set_granted(false);
      reply.set_reason("node me was declared dead");
      done(reply);
    } else if (mode == kHold) {
      held.push_back(std::move(done));
    } else {
      done(UnavailableError("unreachable"));
    }
  }
  enum Mode { kGrant, kRefuse, kUnreachable, kHold } mode = kGrant;
  std::vector<rpc::RenewNodeLeaseRequest> requests;
  std::vector<std::function<void(StatusOr<rpc::RenewNodeLeaseReply>)>> held;
};

class FakeVouchPeers : public node::VouchPeers {
 public:
  void Vouch(const std::string& address, const rpc::VouchRequest&, int64_t,
             std::function<void(StatusOr<rpc::VouchReply>)> done) override {
    asked.push_back(address);
    const std::string id = address.substr(0, address.find(':'));
    if (vouching.count(id) == 0) return done(UnavailableError("cut off"));
    rpc::VouchReply reply;
    reply.set_node_id(id);
    reply.set_vouch(true);
    done(reply);
  }
  std::set<std::string> vouching;
  std::vector<std::string> asked;
};

class RecordingLeaseListener : public node::NodeLeaseListener {
 public:
  void OnDeadline(int64_t deadline_ms) override { deadline = deadline_ms; }
  void OnLapsed(const std::string& why) override { lapsed = why; }
  void OnRefused(const std::string& why) override { refused = why; }
  int64_t deadline = -1;
  std::string lapsed, refused;
};

class NodeLeaseKeeperTest : public ::testing::Test {
 protected:
  FakeExecutor executor_;
  FakeGcs gcs_;
  FakeVouchPeers peers_;
  RecordingLeaseListener listener_;
  node::NodeLeaseKeeper keeper_{executor_, executor_, gcs_, peers_, "me",
                                node::NodeLeaseKeeperSettings{kLeaseMs, kRenewMs, kVouchAfterMs}, listener_};
};

TEST_F(NodeLeaseKeeperTest, GrantsExtendTheDeadlineFromWhenTheRequestWasSent) {
  keeper_.Start();
  EXPECT_EQ(listener_.deadline, kLeaseMs - kLeaseMs / 10);
  executor_.AdvanceMs(1000);
  EXPECT_EQ(listener_.deadline, 1000 + kLeaseMs - kLeaseMs / 10);
  EXPECT_EQ(gcs_.requests.back().acked_seq(), gcs_.requests.back().seq() - 1) << "each request acks the last";
  EXPECT_EQ(keeper_.membership_version(), 7u);
  EXPECT_EQ(keeper_.members(), 4u) << "kept when later grants omit the unchanged membership";
  EXPECT_EQ(gcs_.requests.back().known_membership_version(), 7u);
  EXPECT_FALSE(keeper_.HandleVouch({}).vouch()) << "it hears grants: it does not vouch";
}

// A node that leaves (graceful stop, drained) stops vouching before it tells the GCS.
TEST_F(NodeLeaseKeeperTest, FencedKeeperNeverVouchesNorServesAgain) {
  keeper_.Start();
  gcs_.mode = FakeGcs::kUnreachable;
  executor_.AdvanceMs(kVouchAfterMs + kRenewMs);
  ASSERT_TRUE(keeper_.HandleVouch({}).vouch());
  keeper_.Fence();
  EXPECT_FALSE(keeper_.HandleVouch({}).vouch());
  EXPECT_EQ(listener_.deadline, 0);
}

TEST_F(NodeLeaseKeeperTest, CutOffFromTheGcsAndAMajorityItFencesForGood) {
  keeper_.Start();
  executor_.AdvanceMs(500);
  const int64_t deadline = listener_.deadline;
  gcs_.mode = FakeGcs::kUnreachable;
  peers_.vouching = {"p1"};  // itself and p1: two of four, not a majority
  executor_.AdvanceMs(deadline - executor_.MonotonicMs() - 1);
  EXPECT_TRUE(listener_.lapsed.empty()) << "fenced before its deadline";
  EXPECT_FALSE(peers_.asked.empty()) << "it asked its peers";
  executor_.AdvanceMs(1);
  EXPECT_FALSE(listener_.lapsed.empty());
  EXPECT_EQ(listener_.deadline, 0);
  EXPECT_TRUE(keeper_.fenced());
  // A grant arriving now revives nothing, and it never vouches again.
  gcs_.mode = FakeGcs::kGrant;
  executor_.AdvanceMs(1000);
  EXPECT_EQ(listener_.deadline, 0);
  EXPECT_FALSE(keeper_.HandleVouch({}).vouch());
}

TEST_F(NodeLeaseKeeperTest, MajorityVouchingKeepsItServingThroughAGcsOutage) {
  keeper_.Start();
  executor_.AdvanceMs(500);
  gcs_.mode = FakeGcs::kUnreachable;
  peers_.vouching = {"p1", "p2"};  // three of four
  executor_.AdvanceMs(30'000);
  EXPECT_TRUE(listener_.lapsed.empty()) << listener_.lapsed;
  EXPECT_GT(listener_.deadline, executor_.MonotonicMs());
  EXPECT_TRUE(keeper_.HandleVouch({}).vouch()) << "it hears no grants either: it vouches for others";
  // The GCS is back: grants again, and it stops vouching.
  gcs_.mode = FakeGcs::kGrant;
  executor_.AdvanceMs(kRenewMs * 2);
  EXPECT_FALSE(keeper_.HandleVouch({}).vouch());
}

TEST_F(NodeLeaseKeeperTest, VouchingExtendsTheLeaseOnlyUpToTheVouchLimit) {
  node::NodeLeaseKeeperSettings settings{kLeaseMs, kRenewMs, kVouchAfterMs};
  settings.vouch_limit_ms = 5000;
  node::NodeLeaseKeeper keeper{executor_, executor_, gcs_, peers_, "me", settings, listener_};
  keeper.Start();
  executor_.AdvanceMs(500);
  const int64_t last_sent = executor_.MonotonicMs() - kRenewMs;  // the last request a grant answered
  gcs_.mode = FakeGcs::kUnreachable;
  peers_.vouching = {"p1", "p2"};  // a majority vouches throughout
  int64_t lapsed_at = -1;
  for (int i = 0; i < 400 && lapsed_at < 0; ++i) {
    executor_.AdvanceMs(50);
    if (!listener_.lapsed.empty()) lapsed_at = executor_.MonotonicMs();
  }
  ASSERT_GE(lapsed_at, 0) << "no outage is survived past the vouch limit";
  EXPECT_GE(lapsed_at, last_sent + 4000) << "vouched for within the limit";
  EXPECT_LE(lapsed_at, last_sent + kRenewMs + settings.vouch_limit_ms + kLeaseMs - kLeaseMs / 10);
  EXPECT_TRUE(keeper.fenced());
}

TEST_F(NodeLeaseKeeperTest, GrantAfterTheDeadlineIsIgnored) {
  keeper_.Start();
  gcs_.mode = FakeGcs::kHold;  // a renewal whose answer comes only after a long pause
  executor_.AdvanceMs(kRenewMs);
  ASSERT_FALSE(gcs_.held.empty());
  peers_.vouching.clear();
  executor_.AdvanceMs(kLeaseMs);
  ASSERT_TRUE(keeper_.fenced());
  rpc::RenewNodeLeaseReply reply;
  reply.set_granted(true);
  reply.set_lease_ms(kLeaseMs);
  gcs_.held.front()(reply);
  EXPECT_EQ(listener_.deadline, 0);
}

TEST_F(NodeLeaseKeeperTest, RefusalIsPassedOnAndEndsTheLease) {
  keeper_.Start();
  gcs_.mode = FakeGcs::kRefuse;
  executor_.AdvanceMs(kRenewMs);
  EXPECT_NE(listener_.refused.find("declared dead"), std::string::npos);
  EXPECT_EQ(listener_.deadline, 0);
}

}  // namespace
}  // namespace halo
