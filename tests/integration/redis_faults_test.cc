// Redis faults under a running GCS, and bad storage input at start: every case ends in service or in one
// clear error and a non-zero exit, never a hang.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "head_fixture.h"
#include "storage/rocksdb_store.h"
#include "common/asio_executor.h"

namespace halo::testing {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(RedisFaultsTest, RedisRestartedInPlaceUnderARunningGcs) {
  RedisServer redis;
  Head head({"--storage", redis.Uri(), "--storage-unavailable-timeout-ms", "60000"});
  ASSERT_EQ(head.Start().exit_code, 0);
  const pid_t gcs_pid = head.GcsPid();
  auto client = head.Client(30000);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(client->KvPut("ns", "before" + std::to_string(i), "v").ok());

  redis.Kill();
  // A write issued while Redis is down waits in the GCS' queue and completes once Redis is back.
  auto during = std::async(std::launch::async, [&] { return client->KvPut("ns", "during", "queued"); });
  ASSERT_EQ(during.wait_for(std::chrono::milliseconds(500)), std::future_status::timeout)
      << "a write was acknowledged while Redis was down";
  redis.Start();
  auto queued = during.get();
  ASSERT_TRUE(queued.ok()) << queued.status();

  EXPECT_EQ(head.GcsPid(), gcs_pid);
  EXPECT_TRUE(ProcessAlive(gcs_pid));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(client->KvPut("ns", "after" + std::to_string(i), "v").ok());
  EXPECT_EQ(redis.Cli({"HGET", "HALOdefault@KV", "2:nsduring"}), "queued");
  EXPECT_EQ(redis.Cli({"HLEN", "HALOdefault@KV"}), "101");
  // The outage the GCS rode through is in the event log, with its length (at least the 500 ms waited above).
  auto events = RunHalo({"events", "--kind", "storage", "--json", "--address", head.address()});
  ASSERT_EQ(events.exit_code, 0) << events.output;
  EXPECT_NE(events.output.find("\"kind\":\"storage_unreachable\""), std::string::npos) << events.output;
  const size_t back = events.output.find("\"kind\":\"storage_back\"");
  ASSERT_NE(back, std::string::npos) << events.output;
  const size_t duration = events.output.rfind("\"duration_ms\":", back);
  ASSERT_NE(duration, std::string::npos);
  EXPECT_GE(std::stoll(events.output.substr(duration + 14)), 500) << events.output;
}

TEST(RedisFaultsTest, IdleConnectionClosedByRedisIsReopened) {
  RedisServer redis;
  Head head({"--storage", redis.Uri()});
  ASSERT_EQ(head.Start().exit_code, 0);
  auto client = head.Client();
  ASSERT_TRUE(client->KvPut("ns", "k1", "v").ok());
  // What an idle timeout does: the server drops our connection.
  EXPECT_NE(redis.Cli({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}), "0");
  ASSERT_TRUE(client->KvPut("ns", "k2", "v").ok());
  EXPECT_EQ(redis.Cli({"HLEN", "HALOdefault@KV"}), "2");
}

TEST(RedisFaultsTest, GcsExitsWithAMessageWhenRedisStaysDownPastItsBound) {
  RedisServer redis;
  Head head({"--storage", redis.Uri(), "--storage-unavailable-timeout-ms", "1500"});
  ASSERT_EQ(head.Start().exit_code, 0);
  const pid_t pid = head.GcsPid();
  redis.Kill();
  ASSERT_TRUE(head.Client()->KvPut("ns", "k", "v").status().code() != absl::StatusCode::kOk);
  // Bound: 1.5 s of unavailability plus generous slack for a loaded machine.
  EXPECT_TRUE(WaitForProcessExit(pid, 15000));
  EXPECT_TRUE(Contains(head.GcsOutput(), "stayed unreachable for 1500 ms")) << head.GcsOutput();
}

TEST(RedisFaultsTest, PausedRedisIsDetectedByTheReplyTimeoutAndTheGcsExits) {
  RedisServer redis;
  Head head({"--storage", redis.Uri(), "--storage-reply-timeout-ms", "500", "--storage-connect-timeout-ms", "300",
             "--storage-unavailable-timeout-ms", "1500"});
  ASSERT_EQ(head.Start().exit_code, 0);
  const pid_t pid = head.GcsPid();
  redis.Pause();
  EXPECT_FALSE(head.Client(20000)->KvPut("ns", "k", "v").ok());
  EXPECT_TRUE(WaitForProcessExit(pid, 15000));
  EXPECT_TRUE(Contains(head.GcsOutput(), "stayed unreachable for 1500 ms")) << head.GcsOutput();
  redis.Resume();
}

TEST(RedisFaultsTest, MutualTlsUsesTheClientCertificate) {
  RedisServer redis(RedisServerOptions{.tls = true, .require_client_cert = true});
  const auto& tls = redis.tls_files();
  Head with_cert({"--storage", redis.Uri(), "--redis-ca-cert", tls.ca_cert, "--redis-client-cert", tls.client_cert,
                  "--redis-client-key", tls.client_key});
  ASSERT_EQ(with_cert.Start().exit_code, 0);
  ASSERT_TRUE(with_cert.Client()->KvPut("ns", "k", "v").ok());
  Head without_cert({"--storage", redis.Uri(), "--redis-ca-cert", tls.ca_cert, "--storage-unavailable-timeout-ms",
                     "1000"});
  auto refused = without_cert.Start();
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(Contains(refused.output, "cannot reach Redis at 127.0.0.1:" + std::to_string(redis.port())))
      << refused.output;
  Head missing_key({"--storage", redis.Uri(), "--redis-client-cert", tls.client_cert, "--redis-client-key",
                    "/nonexistent/client.key"});
  auto bad_key = missing_key.Start();
  EXPECT_NE(bad_key.exit_code, 0);
  EXPECT_TRUE(Contains(bad_key.output, "cannot load Redis client key '/nonexistent/client.key'")) << bad_key.output;
}

TEST(RedisFaultsTest, StorageCleanupRemovesOneNamespaceOnly) {
  RedisServer redis;
  for (std::string ns : {"prod", "prod2", "staging"}) {
    Head head({"--storage", redis.Uri(), "--storage-namespace", ns});
    ASSERT_EQ(head.Start().exit_code, 0);
    ASSERT_TRUE(head.Client()->KvPut("ns", "k", ns).ok());
    ASSERT_TRUE(head.Client()->AddJob("d", 1, "").ok());
    ASSERT_EQ(head.Stop().exit_code, 0);
  }
  redis.Cli({"SET", "unrelated", "1"});
  EXPECT_EQ(redis.Cli({"EXISTS", "HALOprod@KV", "HALOprod@META", "HALOprod@JOBS", "HALOprod@NODES",
                       "HALOprod@EVENTS"}),
            "5");
  auto cleaned = RunHalo({"storage", "cleanup", "--storage", redis.Uri(), "--storage-namespace", "prod"});
  ASSERT_EQ(cleaned.exit_code, 0) << cleaned.output;
  EXPECT_TRUE(Contains(cleaned.output, "Removed 5 keys of namespace 'prod'")) << cleaned.output;
  EXPECT_EQ(redis.Cli({"EXISTS", "HALOprod@KV", "HALOprod@META", "HALOprod@JOBS", "HALOprod@NODES",
                       "HALOprod@EVENTS"}),
            "0");
  EXPECT_EQ(redis.Cli({"EXISTS", "HALOprod2@KV", "HALOstaging@KV", "unrelated"}), "3");
  auto again = RunHalo({"storage", "cleanup", "--storage", redis.Uri(), "--storage-namespace", "prod"});
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_TRUE(Contains(again.output, "Removed 0 keys")) << again.output;
}

// ---- bad input at start: one clear line, non-zero exit ----

void ExpectStartFails(Head& head, const std::string& message) {
  auto result = head.Start();
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_TRUE(Contains(result.output, message)) << "expected '" << message << "' in: " << result.output;
}

TEST(BadStorageInputTest, MalformedUri) {
  Head head({"--storage", "redis://localhost:notaport"});
  ExpectStartFails(head, "malformed storage URI 'redis://localhost:notaport'");
}

TEST(BadStorageInputTest, UnreachableRedisIsRetriedThenReported) {
  const int port = FreePort();
  Head head({"--storage", "redis://127.0.0.1:" + std::to_string(port), "--storage-unavailable-timeout-ms", "1000"});
  ExpectStartFails(head, "cannot reach Redis at 127.0.0.1:" + std::to_string(port) + " within 1000 ms");
}

TEST(BadStorageInputTest, WrongPasswordAndMissingPassword) {
  RedisServer redis(RedisServerOptions{.password = "right"});
  Head wrong({"--storage", "redis://:wrong@127.0.0.1:" + std::to_string(redis.port())});
  ExpectStartFails(wrong, "refused the credentials");
  Head missing({"--storage", "redis://127.0.0.1:" + std::to_string(redis.port())});
  ExpectStartFails(missing, "requires a password");
  Head right({"--storage", redis.Uri()});
  EXPECT_EQ(right.Start().exit_code, 0);
}

TEST(BadStorageInputTest, TlsVerificationFailure) {
  RedisServer redis(RedisServerOptions{.tls = true});
  Head head({"--storage", redis.Uri(), "--redis-ca-cert", redis.tls_files().other_ca_cert});
  ExpectStartFails(head, "TLS verification of Redis at 127.0.0.1:" + std::to_string(redis.port()));
  Head wrong_name({"--storage", redis.Uri(), "--redis-ca-cert", redis.tls_files().ca_cert, "--redis-server-name",
                   "not-the-server.example"});
  ExpectStartFails(wrong_name, "TLS verification");
}

TEST(BadStorageInputTest, NamespaceWithAtSign) {
  Head head({"--storage", "memory", "--storage-namespace", "team@prod"});
  ExpectStartFails(head, "must not contain '@'");
}

TEST(BadStorageInputTest, PortInUse) {
  Head first({"--storage", "memory"});
  ASSERT_EQ(first.Start().exit_code, 0);
  const std::string port = first.address().substr(first.address().rfind(':') + 1);
  Head second_head({"--storage", "memory", "--port", port});  // its later --port wins over the fixture's 0
  auto second = second_head.Start();
  EXPECT_NE(second.exit_code, 0);
  EXPECT_TRUE(Contains(second.output, "port " + port + " on 127.0.0.1 is already in use")) << second.output;
}

TEST(BadStorageInputTest, StoragePathHeldByAnotherGcs) {
  TempDir storage;
  Head first({"--storage-path", storage.path()});
  ASSERT_EQ(first.Start().exit_code, 0);
  Head second({"--storage-path", storage.path()});
  ExpectStartFails(second, "storage path " + storage.path() + " is in use by another process (pid " +
                               std::to_string(first.GcsPid()));
}

TEST(BadStorageInputTest, StorageWrittenByAnIncompatibleVersion) {
  RedisServer redis;
  redis.Cli({"HSET", "HALOold@META", "storage_format_version", "999", "cluster_id", "abc"});
  Head on_redis({"--storage", redis.Uri(), "--storage-namespace", "old"});
  ExpectStartFails(on_redis, "incompatible Halo version (storage format 999");

  TempDir storage;
  {
    AsioExecutor executor;
    executor.RunInThread();
    auto store = RocksDbStore::Open(storage.path(), executor, 16);
    ASSERT_TRUE(store.ok());
    std::promise<void> written;
    executor.Post([&] {
      (*store)->AsyncPut("META", "storage_format_version", "0", true, [&](StatusOr<bool>) { written.set_value(); });
    });
    written.get_future().wait();
  }
  Head embedded({"--storage-path", storage.path()});
  ExpectStartFails(embedded, "incompatible Halo version (storage format 0");
}

TEST(BadStorageInputTest, MultiShardRedisClusterIsRefused) {
  RedisServer a(RedisServerOptions{.cluster_enabled = true});
  RedisServer b(RedisServerOptions{.cluster_enabled = true});
  a.Cli({"CLUSTER", "ADDSLOTSRANGE", "0", "8191"});
  b.Cli({"CLUSTER", "ADDSLOTSRANGE", "8192", "16383"});
  a.Cli({"CLUSTER", "MEET", "127.0.0.1", std::to_string(b.port())});
  ASSERT_TRUE(WaitUntil([&] { return Contains(a.Cli({"CLUSTER", "INFO"}), "cluster_size:2"); },
                        std::chrono::seconds(30)))
      << a.Cli({"CLUSTER", "INFO"});
  Head head({"--storage", a.Uri()});
  ExpectStartFails(head, "is a Redis Cluster with 2 shards; Halo needs a single primary");
}

}  // namespace
}  // namespace halo::testing
