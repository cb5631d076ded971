// The cluster event log on a fake executor and the memory store: order, bounds, persistence, waiting listings.
#include <gtest/gtest.h>

#include "gcs/event_log.h"
#include "gcs/table_names.h"
#include "rpc/state_names.h"
#include "storage/memory_store.h"
#include "support/fake_executor.h"

namespace halo::gcs {
namespace {

class EventLogTest : public ::testing::Test {
 protected:
  KeyValueMap Table() {
    KeyValueMap rows;
    store_.AsyncGetAll(kEventTable, [&](StatusOr<KeyValueMap> r) { rows = *r; });
    executor_.RunUntilIdle();
    return rows;
  }
  std::unique_ptr<EventLog> NewLog(int64_t events_max) {
    auto log = std::make_unique<EventLog>(store_, executor_, executor_, "gcs-a:1",
                                          EventLogSettings{events_max, 3, 2, 1000},
                                          "incarnation-" + std::to_string(++incarnations_));
    EXPECT_TRUE(log->Initialize(Table()).ok());
    return log;
  }
  rpc::ListEventsReply List(EventLog& log, int64_t after, std::vector<rpc::ClusterEventKind> kinds = {}) {
    rpc::ListEventsRequest request;
    request.set_after_sequence(after);
    for (auto kind : kinds) request.add_kinds(kind);
    rpc::ListEventsReply reply;
    bool answered = false;
    log.HandleList(request, [&](StatusOr<rpc::ListEventsReply> r) {
      ASSERT_TRUE(r.ok());
      reply = *r;
      answered = true;
    });
    EXPECT_TRUE(answered);
    return reply;
  }
  testing::FakeExecutor executor_;
  MemoryStore store_{executor_};
  int incarnations_ = 0;
};

TEST_F(EventLogTest, KindNamesRoundTripAndUnknownNamesAreRefused) {
  EXPECT_EQ(EventKindName(rpc::EVENT_NODE_DEAD), "node_dead");
  rpc::ClusterEventKind kind;
  ASSERT_TRUE(ParseEventKind("actor_restarted", &kind));
  EXPECT_EQ(kind, rpc::EVENT_ACTOR_RESTARTED);
  EXPECT_FALSE(ParseEventKind("kind_unspecified", &kind));
  EXPECT_FALSE(ParseEventKind("node", &kind));
  EXPECT_EQ(EventSeverity(rpc::EVENT_NODE_DEAD), "error");
  EXPECT_EQ(EventSeverity(rpc::EVENT_JOB_STARTED), "info");
}

TEST_F(EventLogTest, EventsAreStampedInOrderAndSurviveARestart) {
  auto log = NewLog(100);
  log->SetEpoch(7);
  executor_.AdvanceMs(5);
  EXPECT_EQ(log->Record(MakeEvent(rpc::EVENT_NODE_ADDED, "node n1 joined")), 1);
  executor_.AdvanceMs(5);
  EXPECT_EQ(log->Record(MakeEvent(rpc::EVENT_NODE_DEAD, "node n1 is dead")), 2);
  executor_.RunUntilIdle();
  auto reply = List(*log, 0);
  ASSERT_EQ(reply.events_size(), 2);
  EXPECT_EQ(reply.events(0).sequence(), 1);
  EXPECT_LT(reply.events(0).time_ms(), reply.events(1).time_ms());
  EXPECT_EQ(reply.events(1).severity(), "error");
  EXPECT_EQ(reply.events(1).epoch(), 7);
  EXPECT_EQ(reply.events(1).reporter(), "gcs-a:1");
  EXPECT_EQ(reply.last_sequence(), 2);

  EXPECT_EQ(reply.incarnation(), "incarnation-1");
  EXPECT_EQ(reply.loaded_sequence(), 0);

  // Another GCS loads them and numbers on from the newest; it says which numbers it loaded, so a follower
  // that saw more under the first incarnation (events never written) lists again from there.
  auto restarted = NewLog(100);
  EXPECT_EQ(List(*restarted, 0).events_size(), 2);
  EXPECT_EQ(List(*restarted, 0).incarnation(), "incarnation-2");
  EXPECT_EQ(List(*restarted, 0).loaded_sequence(), 2);
  EXPECT_EQ(restarted->Record(MakeEvent(rpc::EVENT_GCS_RECOVERED, "recovered")), 3);
  EXPECT_EQ(List(*restarted, 2).events(0).kind(), rpc::EVENT_GCS_RECOVERED);
}

TEST_F(EventLogTest, TheOldestAreDroppedInMemoryAndInStorage) {
  auto log = NewLog(3);
  for (int i = 0; i < 5; ++i) log->Record(MakeEvent(rpc::EVENT_JOB_STARTED, "job"));
  executor_.RunUntilIdle();
  EXPECT_EQ(log->events().size(), 3u);
  EXPECT_EQ(log->events().front().sequence(), 3);
  KeyValueMap rows = Table();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows.begin()->first, EventKey(3));
  auto reply = List(*log, 0);
  EXPECT_EQ(reply.first_sequence(), 3);

  // A smaller bound after a restart drops the excess rows too.
  auto smaller = NewLog(1);
  executor_.RunUntilIdle();
  EXPECT_EQ(smaller->events().size(), 1u);
  EXPECT_EQ(smaller->events().front().sequence(), 5);
  EXPECT_EQ(Table().size(), 1u);
}

TEST_F(EventLogTest, ListingsFilterByKindAndAreBoundedByListMax) {
  auto log = NewLog(100);
  for (int i = 0; i < 4; ++i) log->Record(MakeEvent(rpc::EVENT_NODE_ADDED, "added"));
  log->Record(MakeEvent(rpc::EVENT_NODE_DEAD, "dead"));
  auto all = List(*log, 0);
  EXPECT_EQ(all.events_size(), 3);  // list_max
  EXPECT_EQ(all.events(2).sequence(), 3);
  auto dead = List(*log, 0, {rpc::EVENT_NODE_DEAD});
  ASSERT_EQ(dead.events_size(), 1);
  EXPECT_EQ(dead.events(0).sequence(), 5);
  EXPECT_EQ(List(*log, 5).events_size(), 0);
}

TEST_F(EventLogTest, AWaitingListingIsAnsweredByTheNextEventOrItsDeadline) {
  auto log = NewLog(100);
  rpc::ListEventsRequest request;
  request.set_wait_ms(500);
  request.add_kinds(rpc::EVENT_ACTOR_DIED);
  std::optional<rpc::ListEventsReply> first, second;
  log->HandleList(request, [&](StatusOr<rpc::ListEventsReply> r) { first = *r; });
  EXPECT_FALSE(first.has_value());
  log->Record(MakeEvent(rpc::EVENT_NODE_ADDED, "not wanted"));
  EXPECT_FALSE(first.has_value());
  log->Record(MakeEvent(rpc::EVENT_ACTOR_DIED, "wanted"));
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->events_size(), 1);
  EXPECT_EQ(first->events(0).message(), "wanted");

  request.set_after_sequence(2);
  log->HandleList(request, [&](StatusOr<rpc::ListEventsReply> r) { second = *r; });
  executor_.AdvanceMs(499);
  EXPECT_FALSE(second.has_value());
  executor_.AdvanceMs(1);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->events_size(), 0);
  EXPECT_EQ(second->last_sequence(), 2);
}

TEST_F(EventLogTest, WaitersAreBoundedAndReleasedWhenTheGcsStops) {
  auto log = NewLog(100);
  rpc::ListEventsRequest request;
  request.set_wait_ms(1000);
  int answered = 0;
  for (int i = 0; i < 3; ++i) log->HandleList(request, [&](StatusOr<rpc::ListEventsReply>) { answered += 1; });
  EXPECT_EQ(answered, 1);  // waiters_max is 2: the third is answered at once
  log->ReleaseWaiters();
  EXPECT_EQ(answered, 3);
  log->HandleList(request, [&](StatusOr<rpc::ListEventsReply>) { answered += 1; });
  EXPECT_EQ(answered, 4);  // stopping: not held any more
  rpc::ListEventsRequest bad;
  bad.set_after_sequence(-1);
  Status status;
  log->HandleList(bad, [&](StatusOr<rpc::ListEventsReply> r) { status = r.status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EventLogTest, ACorruptRowIsDroppedNotFatal) {
  auto first = NewLog(100);
  first->Record(MakeEvent(rpc::EVENT_NODE_ADDED, "kept"));
  executor_.RunUntilIdle();
  store_.AsyncPut(kEventTable, EventKey(4), "not a proto \xff", true, [](StatusOr<bool>) {});
  executor_.RunUntilIdle();
  EventLog log(store_, executor_, executor_, "", EventLogSettings{});
  ASSERT_TRUE(log.Initialize(Table()).ok());
  executor_.RunUntilIdle();
  ASSERT_EQ(log.events().size(), 1u);
  EXPECT_EQ(log.events().front().message(), "kept");
  EXPECT_EQ(Table().count(EventKey(4)), 0u) << "the corrupt row was left in storage";
  // And an overlong message is cut.
  const int64_t sequence = log.Record(MakeEvent(rpc::EVENT_OBJECTS_REBUILT, std::string(10000, 'x')));
  EXPECT_EQ(log.events().back().sequence(), sequence);
  EXPECT_EQ(log.events().back().message().size(), kEventMessageMaxBytes + 3);
}

}  // namespace
}  // namespace halo::gcs
