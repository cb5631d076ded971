// A single head that heals itself: with gcs_restarts_max set, halo-gcs supervises the real GCS as its child and
// starts it again after a SIGKILL, on the same port and storage, with nothing acknowledged lost.
#include <gtest/gtest.h>

#include <signal.h>

#include "head_fixture.h"

namespace halo::testing {
namespace {

// The pid of the process serving the GCS (not the supervisor in gcs.pid), or -1 while nothing answers.
pid_t ServingPid(const Head& head) {
  auto info = head.Client(2000)->GetClusterInfo();
  return info.ok() ? info->pid() : -1;
}

TEST(SupervisedHeadTest, GcsKilledWithSigkillComesBackByItself) {
  Head head({"--gcs-restarts-max", "-1"});
  ASSERT_EQ(head.Start().exit_code, 0);
  const pid_t supervisor = head.GcsPid();
  const pid_t first = ServingPid(head);
  ASSERT_GT(first, 0);
  ASSERT_NE(first, supervisor);
  ASSERT_TRUE(head.Client()->KvPut("ns", "before", "kept").ok());

  pid_t serving = first;
  for (int round = 0; round < 2; ++round) {
    ASSERT_GT(serving, 0);  // never kill(-1, ...)
    ASSERT_EQ(kill(serving, SIGKILL), 0);
    ASSERT_TRUE(WaitForProcessExit(serving, 10000));
    pid_t next = -1;
    ASSERT_TRUE(WaitUntil(
        [&] {
          next = ServingPid(head);
          return next > 0 && next != serving;
        },
        std::chrono::seconds(20)))
        << head.GcsOutput();
    auto kept = head.Client()->KvGet("ns", "before");
    ASSERT_TRUE(kept.ok() && kept->has_value()) << kept.status();
    EXPECT_EQ(**kept, "kept");
    serving = next;
  }
  EXPECT_EQ(head.GcsPid(), supervisor) << "the supervisor itself must not change";
  EXPECT_TRUE(ProcessAlive(supervisor));

  // `halo stop` stops the supervisor, and the GCS with it.
  const pid_t last = serving;
  ASSERT_EQ(head.Stop().exit_code, 0);
  EXPECT_TRUE(WaitForProcessExit(supervisor, 10000));
  EXPECT_TRUE(WaitForProcessExit(last, 10000));
}

TEST(SupervisedHeadTest, SupervisorGivesUpAfterItsRestartsAreUsed) {
  Head head({"--gcs-restarts-max", "1"});
  ASSERT_EQ(head.Start().exit_code, 0);
  const pid_t supervisor = head.GcsPid();
  const pid_t first = ServingPid(head);
  ASSERT_GT(first, 0);
  ASSERT_EQ(kill(first, SIGKILL), 0);
  pid_t second = -1;
  ASSERT_TRUE(WaitUntil(
      [&] {
        second = ServingPid(head);
        return second > 0 && second != first;
      },
      std::chrono::seconds(20)));
  ASSERT_EQ(kill(second, SIGKILL), 0);
  EXPECT_TRUE(WaitForProcessExit(supervisor, 20000)) << "the supervisor kept going past gcs_restarts_max";
  auto log = ReadFileToString(head.session_dir() + "/logs/gcs.log");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("gcs_restarts_max=1: giving up"), std::string::npos) << *log;
}

TEST(SupervisedHeadTest, StartFailureIsStillReportedByHaloStart) {
  Head first;
  ASSERT_EQ(first.Start().exit_code, 0);
  const std::string port = first.address().substr(first.address().rfind(':') + 1);
  Head second({"--gcs-restarts-max", "-1", "--port", port});
  auto result = second.Start();
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("port " + port + " on 127.0.0.1 is already in use"), std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace halo::testing
