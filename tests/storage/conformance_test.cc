// One suite, every backend: memory, embedded (RocksDB), redis:// and rediss:// (real redis-server processes
// on free loopback ports; the TLS one with certificates made by openssl).
#include <gtest/gtest.h>

#include <future>
#include <memory>

#include "common/asio_executor.h"
#include "storage/store_factory.h"
#include "support/test_env.h"

namespace halo {
namespace {

using testing::RedisServer;
using testing::RedisServerOptions;
using testing::TempDir;

enum class Backend { kMemory, kEmbedded, kRedis, kRediss };

std::string Name(Backend b) {
  switch (b) {
    case Backend::kMemory: return "memory";
    case Backend::kEmbedded: return "embedded";
    case Backend::kRedis: return "redis";
    case Backend::kRediss: return "rediss";
  }
  return "?";
}

// One redis-server of each kind for the whole suite; each test gets its own namespace.
RedisServer& SharedRedis(bool tls) {
  static std::unique_ptr<RedisServer> plain;
  static std::unique_ptr<RedisServer> secure;
  auto& server = tls ? secure : plain;
  if (server == nullptr) server = std::make_unique<RedisServer>(RedisServerOptions{tls});
  return *server;
}

class StoreConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    executor_.RunInThread();
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override { Close(); }

  std::unique_ptr<StoreClient> Open() {
    Settings settings;
    static int counter = 0;
    settings.storage_namespace = "conformance" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    switch (GetParam()) {
      case Backend::kMemory: settings.storage = "memory"; break;
      case Backend::kEmbedded: settings.storage = "embedded"; break;
      case Backend::kRedis: settings.storage = SharedRedis(false).Uri(); break;
      case Backend::kRediss:
        settings.storage = SharedRedis(true).Uri();
        settings.redis_ca_cert = SharedRedis(true).tls_files().ca_cert;
        break;
    }
    if (!namespace_.empty()) settings.storage_namespace = namespace_;
    namespace_ = settings.storage_namespace;
    auto store = OpenStore(settings, dir_.path() + "/db", executor_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  void Close() {
    std::promise<void> done;
    executor_.Post([&] {
      store_.reset();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Runs op on the executor and waits (bounded) for the value it reports.
  template <typename T>
  T Await(std::function<void(std::function<void(T)>)> op) {
    auto promise = std::make_shared<std::promise<T>>();
    auto future = promise->get_future();
    executor_.Post([op, promise] { op([promise](T value) { promise->set_value(std::move(value)); }); });
    if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "no answer from the store within 20 s";
      std::abort();  // the callback may still come and touch this frame: do not wait on
    }
    return future.get();
  }

  bool Put(const std::string& table, const std::string& key, const std::string& value, bool overwrite = true) {
    auto r = Await<StatusOr<bool>>([&](auto done) { store_->AsyncPut(table, key, value, overwrite, done); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && *r;
  }
  std::optional<std::string> Get(const std::string& table, const std::string& key) {
    auto r = Await<StatusOr<std::optional<std::string>>>([&](auto done) { store_->AsyncGet(table, key, done); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::nullopt;
  }
  KeyValueMap GetAll(const std::string& table) {
    auto r = Await<StatusOr<KeyValueMap>>([&](auto done) { store_->AsyncGetAll(table, done); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : KeyValueMap{};
  }
  std::vector<std::string> Keys(const std::string& table, const std::string& prefix) {
    auto r = Await<StatusOr<std::vector<std::string>>>([&](auto done) { store_->AsyncGetKeys(table, prefix, done); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<std::string>{};
  }

  TempDir dir_;
  AsioExecutor executor_;
  std::string namespace_;
  std::unique_ptr<StoreClient> store_;
};

TEST_P(StoreConformanceTest, PutGetOverwrite) {
  EXPECT_EQ(Get("T", "k"), std::nullopt);
  EXPECT_TRUE(Put("T", "k", "v1"));
  EXPECT_EQ(Get("T", "k"), "v1");
  EXPECT_FALSE(Put("T", "k", "v2"));  // existed before
  EXPECT_EQ(Get("T", "k"), "v2");
}

TEST_P(StoreConformanceTest, PutWithoutOverwriteKeepsExistingValue) {
  EXPECT_TRUE(Put("T", "k", "first", /*overwrite=*/false));
  EXPECT_FALSE(Put("T", "k", "second", /*overwrite=*/false));
  EXPECT_EQ(Get("T", "k"), "first");
}

TEST_P(StoreConformanceTest, BinaryKeysAndValuesRoundTrip) {
  std::string key("a\0b\xff", 4), value("\0\r\n$*-\xfe", 7);
  EXPECT_TRUE(Put("T", key, value));
  EXPECT_EQ(Get("T", key), value);
}

TEST_P(StoreConformanceTest, TablesAreSeparate) {
  Put("A", "k", "a");
  Put("B", "k", "b");
  EXPECT_EQ(Get("A", "k"), "a");
  EXPECT_EQ(Get("B", "k"), "b");
  EXPECT_EQ(GetAll("A"), (KeyValueMap{{"k", "a"}}));
  EXPECT_TRUE(GetAll("NEVER_WRITTEN").empty());
}

TEST_P(StoreConformanceTest, MultiGetReturnsOnlyExistingKeys) {
  Put("T", "a", "1");
  Put("T", "c", "3");
  auto r = Await<StatusOr<KeyValueMap>>([&](auto done) { store_->AsyncMultiGet("T", {"a", "b", "c"}, done); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, (KeyValueMap{{"a", "1"}, {"c", "3"}}));
  auto none = Await<StatusOr<KeyValueMap>>([&](auto done) { store_->AsyncMultiGet("T", {}, done); });
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreConformanceTest, DeleteAndBatchDelete) {
  for (int i = 0; i < 2500; ++i) Put("T", "k" + std::to_string(i), "v");
  auto one = Await<StatusOr<bool>>([&](auto done) { store_->AsyncDelete("T", "k0", done); });
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(*one);
  auto again = Await<StatusOr<bool>>([&](auto done) { store_->AsyncDelete("T", "k0", done); });
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  std::vector<std::string> keys;
  for (int i = 0; i < 2500; ++i) keys.push_back("k" + std::to_string(i));
  keys.push_back("missing");
  auto count = Await<StatusOr<int64_t>>([&](auto done) { store_->AsyncBatchDelete("T", keys, done); });
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 2499);
  EXPECT_TRUE(GetAll("T").empty());
}

TEST_P(StoreConformanceTest, GetKeysByPrefixIncludingGlobCharacters) {
  Put("T", "job:1", "");
  Put("T", "job:2", "");
  Put("T", "jobs", "");
  Put("T", "a*b:1", "");
  Put("T", "aXb:1", "");
  Put("T", "other", "");
  EXPECT_EQ(Keys("T", "job:"), (std::vector<std::string>{"job:1", "job:2"}));
  EXPECT_EQ(Keys("T", "a*b"), (std::vector<std::string>{"a*b:1"}));
  EXPECT_EQ(Keys("T", "").size(), 6u);
  EXPECT_TRUE(Keys("T", "zzz").empty());
}

TEST_P(StoreConformanceTest, Exists) {
  Put("T", "k", "v");
  auto yes = Await<StatusOr<bool>>([&](auto done) { store_->AsyncExists("T", "k", done); });
  auto no = Await<StatusOr<bool>>([&](auto done) { store_->AsyncExists("T", "nope", done); });
  ASSERT_TRUE(yes.ok() && no.ok());
  EXPECT_TRUE(*yes);
  EXPECT_FALSE(*no);
}

TEST_P(StoreConformanceTest, OperationsOnOneKeyCompleteInIssueOrder) {
  // Issue 200 writes and interleaved reads without waiting; each read must see the write issued before it.
  auto results = std::make_shared<std::vector<std::string>>();
  std::promise<void> all_done;
  executor_.Post([&, results] {
    auto remaining = std::make_shared<int>(200);
    for (int i = 0; i < 100; ++i) {
      store_->AsyncPut("T", "k", std::to_string(i), true, [remaining, &all_done](StatusOr<bool>) {
        if (--*remaining == 0) all_done.set_value();
      });
      store_->AsyncGet("T", "k", [results, remaining, &all_done](StatusOr<std::optional<std::string>> v) {
        results->push_back(v.ok() && v->has_value() ? **v : "<missing>");
        if (--*remaining == 0) all_done.set_value();
      });
    }
  });
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  ASSERT_EQ(results->size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ((*results)[i], std::to_string(i));
}

TEST_P(StoreConformanceTest, CallbacksNeverRunInsideTheCall) {
  bool inside_call = false;
  bool ran_inside = false;
  std::promise<void> done;
  executor_.Post([&] {
    inside_call = true;
    store_->AsyncGet("T", "k", [&](StatusOr<std::optional<std::string>>) {
      ran_inside = inside_call;
      done.set_value();
    });
    inside_call = false;
  });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_FALSE(ran_inside);
}

TEST_P(StoreConformanceTest, AcknowledgedWritesSurviveReopen) {
  for (int i = 0; i < 100; ++i) Put("T", "k" + std::to_string(i), "v" + std::to_string(i));
  Close();
  store_ = Open();
  ASSERT_NE(store_, nullptr);
  auto rows = GetAll("T");
  if (GetParam() == Backend::kMemory) {
    EXPECT_TRUE(rows.empty());  // memory is not durable, by design
  } else {
    ASSERT_EQ(rows.size(), 100u);
    EXPECT_EQ(rows["k42"], "v42");
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, StoreConformanceTest,
                         ::testing::Values(Backend::kMemory, Backend::kEmbedded, Backend::kRedis, Backend::kRediss),
                         [](const auto& info) { return Name(info.param); });

// Backend-specific promises.

TEST(RedisStoreTest, NamespacesDoNotSeeEachOther) {
  AsioExecutor executor;
  executor.RunInThread();
  Settings a, b;
  a.storage = b.storage = SharedRedis(false).Uri();
  a.storage_namespace = "ns_a";
  b.storage_namespace = "ns_a2";
  auto store_a = OpenStore(a, "", executor);
  auto store_b = OpenStore(b, "", executor);
  ASSERT_TRUE(store_a.ok() && store_b.ok());
  std::promise<void> written;
  executor.Post([&] { (*store_a)->AsyncPut("T", "k", "from a", true, [&](StatusOr<bool>) { written.set_value(); }); });
  written.get_future().wait();
  std::promise<KeyValueMap> rows;
  executor.Post([&] { (*store_b)->AsyncGetAll("T", [&](StatusOr<KeyValueMap> r) { rows.set_value(*r); }); });
  EXPECT_TRUE(rows.get_future().get().empty());
  EXPECT_EQ(SharedRedis(false).Cli({"HGET", "HALOns_a@T", "k"}), "from a");
  std::promise<void> closed;
  executor.Post([&] {
    store_a->reset();
    store_b->reset();
    closed.set_value();
  });
  closed.get_future().wait();
}

TEST(RocksDbStoreTest, SecondOpenOfSamePathFailsNamingTheHolder) {
  TempDir dir;
  AsioExecutor executor;
  executor.RunInThread();
  Settings settings;
  auto first = OpenStore(settings, dir.path() + "/db", executor);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = OpenStore(settings, dir.path() + "/db", executor);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use by another process (pid " + std::to_string(getpid())),
            std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace halo
