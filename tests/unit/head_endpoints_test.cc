// The client side of head candidates: reading a standby's redirect, and the candidate list that follows it.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/leader_redirect.h"
#include "rpc/async_call.h"
#include "rpc/head_endpoints.h"

namespace halo {
namespace {

struct FakeEndpoint {
  std::string address;
  int generation = 0;  // tells a replaced endpoint from the one it replaced
};

HeadEndpoints<FakeEndpoint> MakeList(const std::string& addresses, int* made) {
  return HeadEndpoints<FakeEndpoint>(addresses, [made](const std::string& address) {
    *made += 1;
    return std::make_shared<FakeEndpoint>(FakeEndpoint{address, *made});
  });
}

TEST(LeaderRedirectTest, OnlyTheRedirectFieldNamesTheLeaderNeverTheMessage) {
  const std::string refusal = StandbyRefusalMessage("10.0.0.2:7001", 4);
  EXPECT_NE(refusal.find("epoch 4"), std::string::npos) << refusal;
  EXPECT_EQ(RedirectTarget(LeaderRedirect(refusal, "10.0.0.2:7001")), "10.0.0.2:7001");
  // Nobody known to lead: a refusal without a target.
  EXPECT_FALSE(RedirectTarget(LeaderRedirect(StandbyRefusalMessage("", 0), "")).has_value());
  // A message that merely mentions a leader redirects nowhere; nor does a payload on another code.
  EXPECT_FALSE(RedirectTarget(UnavailableError(refusal)).has_value());
  Status other = InternalError("x");
  other.SetPayload(kLeaderRedirectPayload, absl::Cord("10.0.0.2:7001"));
  EXPECT_FALSE(RedirectTarget(other).has_value());
  // Over gRPC: the standby's error details become the redirect; an error without details does not.
  EXPECT_EQ(RedirectTarget(rpc_util::FromGrpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, refusal, "h9:9"))), "h9:9");
  EXPECT_FALSE(RedirectTarget(rpc_util::FromGrpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, refusal))).has_value());
}

TEST(HeadEndpointsTest, ParsesTheListAndMovesOnFromACandidateThatFailed) {
  int made = 0;
  auto list = MakeList(" h1:1, h2:2 ,,h3:3", &made);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list.At(list.current()).second->address, "h1:1");
  EXPECT_EQ(list.At(4).second->address, "h2:2");  // taken modulo the size

  auto [index, first] = list.At(0);
  list.Failed(index, first);
  EXPECT_EQ(list.current(), 1u);
  // Its channel was replaced, so the next try does not wait out a reconnect backoff.
  EXPECT_NE(list.At(0).second.get(), first.get());
  EXPECT_EQ(list.At(0).second->address, "h1:1");
  // A stale report (the endpoint was already replaced) changes nothing.
  const int before = list.At(0).second->generation;
  list.Failed(0, first);
  EXPECT_EQ(list.At(0).second->generation, before);

  list.MoveOn(1);  // a timeout: next calls start at the next one, channel kept
  EXPECT_EQ(list.current(), 2u);
  list.Answered(0);
  EXPECT_EQ(list.current(), 0u);
}

TEST(HeadEndpointsTest, RedirectGoesToAKnownCandidateOrAddsANewOneUpToTheBound) {
  int made = 0;
  auto list = MakeList("h1:1,h2:2", &made);
  EXPECT_EQ(list.Redirect("h2:2"), 1u);
  EXPECT_EQ(list.current(), 1u);
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(list.Redirect("h9:9"), 2u);
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list.At(2).second->address, "h9:9");
  for (int i = 0; i < 40; ++i) list.Redirect("other" + std::to_string(i) + ":1");
  EXPECT_EQ(list.size(), kHeadEndpointsMax);
}

TEST(HeadEndpointsTest, OneAddressAlsoGetsAFreshChannelAfterAFailure) {
  int made = 0;
  auto list = MakeList("only:1", &made);
  auto [index, endpoint] = list.At(0);
  list.Failed(index, endpoint);
  EXPECT_EQ(list.current(), 0u);
  EXPECT_NE(list.At(0).second.get(), endpoint.get());
  EXPECT_EQ(made, 2);
}

TEST(HeadEndpointsTest, ReportTurnsACallsResultIntoWhereTheNextCallGoes) {
  using Outcome = HeadEndpoints<FakeEndpoint>::Outcome;
  int made = 0;
  auto list = MakeList("h1:1,h2:2,h3:3", &made);
  auto [first, endpoint] = list.At(0);
  EXPECT_EQ(list.Report(first, endpoint, NotFoundError("no such key")), Outcome::kAnswered);
  EXPECT_EQ(list.current(), 0u);
  // A standby's refusal: the leader it names is next.
  EXPECT_EQ(list.Report(0, list.At(0).second, LeaderRedirect(StandbyRefusalMessage("h3:3", 2), "h3:3")),
            Outcome::kRedirected);
  EXPECT_EQ(list.current(), 2u);
  // A refusal naming the candidate itself (an earlier incarnation still holds the lease) is no redirect.
  EXPECT_EQ(list.Report(2, list.At(2).second, LeaderRedirect(StandbyRefusalMessage("h3:3", 2), "h3:3")),
            Outcome::kUnreachable);
  EXPECT_EQ(list.current(), 0u);
  EXPECT_EQ(list.Report(0, list.At(0).second, DeadlineExceededError("deadline")), Outcome::kTimedOut);
  EXPECT_EQ(list.current(), 1u);
}

TEST(HeadEndpointsTest, AnEmptyListIsEmpty) {
  int made = 0;
  auto list = MakeList(" , ", &made);
  EXPECT_TRUE(list.empty());
}

}  // namespace
}  // namespace halo
