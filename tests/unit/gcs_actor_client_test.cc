// GcsActorClient on a fake executor and fake peers: which head candidate each attempt goes to, redirects,
// retries with backoff while no candidate answers, the wait bound, and answers that end a call.
#include <gtest/gtest.h>

#include "common/leader_redirect.h"
#include "core/gcs_actor_client.h"
#include "support/fake_core_rpc_clients.h"
#include "support/fake_executor.h"

namespace halo::core {
namespace {

class GcsActorClientTest : public ::testing::Test {
 protected:
  GcsActorClientTest() {
    settings_.gcs_address = "h1:1,h2:1";
    settings_.wait_timeout_ms = 5000;
    settings_.rpc_timeout_ms = 1000;
    settings_.retry_initial_ms = 100;
    settings_.retry_max_ms = 800;
    client_ = std::make_unique<GcsActorClient>(executor_, executor_, clients_, settings_);
  }
  // Kills an actor; the result lands in *out.
  void Kill(std::optional<Status>* out) {
    client_->KillActor("a1", true, false, [out](Status status) { *out = std::move(status); });
  }

  testing::FakeExecutor executor_;
  testing::FakeClients clients_;
  GcsActorClientSettings settings_;
  std::unique_ptr<GcsActorClient> client_;
};

TEST_F(GcsActorClientTest, AnsweredAtTheFirstCandidate) {
  std::optional<Status> result;
  Kill(&result);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << *result;
  EXPECT_EQ(clients_.gcs_calls, std::vector<std::string>{"KillActor@h1:1"});
}

TEST_F(GcsActorClientTest, UnreachableCandidatePassesTheCallOnAtOnceAndTheAnswererIsAskedFirstAfter) {
  clients_.gcs_answer = [](const std::string&, const std::string& address) {
    return address == "h1:1" ? UnavailableError("connection refused") : OkStatus();
  };
  std::optional<Status> result;
  Kill(&result);
  ASSERT_TRUE(result.has_value() && result->ok());
  EXPECT_EQ(clients_.gcs_calls, (std::vector<std::string>{"KillActor@h1:1", "KillActor@h2:1"}));
  std::optional<Status> second;
  client_->ResolveActor("a1", rpc::TaskSpec(), [&](Status status) { second = status; });
  ASSERT_TRUE(second.has_value() && second->ok());
  EXPECT_EQ(clients_.gcs_calls.back(), "ResolveActor@h2:1");
}

TEST_F(GcsActorClientTest, StandbyRedirectIsFollowedToTheLeaderItNames) {
  clients_.gcs_answer = [](const std::string&, const std::string& address) {
    return address == "h3:1" ? OkStatus() : LeaderRedirect("a standby", "h3:1");
  };
  std::optional<StatusOr<rpc::ActorInfo>> found;
  client_->GetNamedActor("counter", "default", [&](StatusOr<rpc::ActorInfo> actor) { found = std::move(actor); });
  ASSERT_TRUE(found.has_value());
  ASSERT_TRUE(found->ok()) << found->status();
  EXPECT_EQ((*found)->name(), "counter");
  EXPECT_EQ(clients_.gcs_calls, (std::vector<std::string>{"GetNamedActor@h1:1", "GetNamedActor@h3:1"}));
}

TEST_F(GcsActorClientTest, NoCandidateAnsweringIsRetriedWithBackoffUntilTheWaitBound) {
  clients_.gcs_answer = [](const std::string&, const std::string&) { return UnavailableError("connection refused"); };
  std::optional<Status> result;
  Kill(&result);
  EXPECT_EQ(clients_.gcs_calls.size(), 2u);  // each candidate once, then a pause
  EXPECT_FALSE(result.has_value());
  executor_.AdvanceMs(99);
  EXPECT_EQ(clients_.gcs_calls.size(), 2u) << "retried before the first backoff ran out";
  executor_.AdvanceMs(1);
  EXPECT_EQ(clients_.gcs_calls.size(), 4u);
  executor_.AdvanceMs(settings_.wait_timeout_ms);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(result->message().find("gcs_wait_timeout_ms"), std::string::npos) << *result;
  EXPECT_NE(result->message().find("connection refused"), std::string::npos) << *result;
  // Pauses double up to retry_max_ms: 100+200+400+800+800+... within 5 s is at most ~9 rounds.
  EXPECT_LE(clients_.gcs_calls.size(), 2u * 10);
  for (int64_t timeout : clients_.gcs_timeouts_ms) EXPECT_LE(timeout, settings_.rpc_timeout_ms);
}

TEST_F(GcsActorClientTest, TimedOutAttemptIsNotSentToTheNextCandidateAtOnce) {
  clients_.gcs_answer = [](const std::string&, const std::string&) { return DeadlineExceededError("deadline"); };
  std::optional<Status> result;
  Kill(&result);
  EXPECT_EQ(clients_.gcs_calls.size(), 1u) << "a call that may have been applied went elsewhere at once";
  executor_.AdvanceMs(100);
  EXPECT_EQ(clients_.gcs_calls, (std::vector<std::string>{"KillActor@h1:1", "KillActor@h2:1"}));
}

TEST_F(GcsActorClientTest, RefusalEndsTheCallWithoutRetry) {
  clients_.gcs_answer = [](const std::string&, const std::string&) { return NotFoundError("no such actor"); };
  std::optional<Status> result;
  Kill(&result);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kNotFound);
  executor_.AdvanceMs(10000);
  EXPECT_EQ(clients_.gcs_calls.size(), 1u);
}

}  // namespace
}  // namespace halo::core
