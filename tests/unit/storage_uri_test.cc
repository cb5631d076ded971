#include <gtest/gtest.h>

#include "storage/redis_store.h"
#include "storage/storage_uri.h"

namespace halo {
namespace {

TEST(StorageUriTest, ParsesEveryForm) {
  EXPECT_EQ(ParseStorageUri("embedded")->kind, StorageUri::Kind::kEmbedded);
  EXPECT_EQ(ParseStorageUri("memory")->kind, StorageUri::Kind::kMemory);
  auto plain = ParseStorageUri("redis://10.0.0.5:6390");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "10.0.0.5");
  EXPECT_EQ(plain->port, 6390);
  EXPECT_FALSE(plain->tls);
  auto secure = ParseStorageUri("rediss://alice:s3cret@redis.internal:6380/");
  ASSERT_TRUE(secure.ok());
  EXPECT_TRUE(secure->tls);
  EXPECT_EQ(secure->username, "alice");
  EXPECT_EQ(secure->password, "s3cret");
  EXPECT_EQ(secure->Endpoint(), "redis.internal:6380");
  EXPECT_EQ(ParseStorageUri("redis://localhost")->port, 6379);
  EXPECT_EQ(ParseStorageUri("redis://:pw@h:1")->password, "pw");
}

TEST(StorageUriTest, MalformedUrisNameTheProblem) {
  struct Case {
    const char* uri;
    const char* why;
  } cases[] = {{"mysql://h:1", "unknown scheme"},       {"redis://", "missing host"},
               {"redis://h:notaport", "port 'notaport'"}, {"redis://h:0", "port '0'"},
               {"redis://h:1/2", "database number"},     {"redis://h o:1", "invalid character"},
               {"redis://user:@h:1", "empty password"},  {"", "unknown scheme"}};
  for (const auto& c : cases) {
    auto parsed = ParseStorageUri(c.uri);
    ASSERT_FALSE(parsed.ok()) << c.uri;
    EXPECT_NE(parsed.status().message().find("malformed storage URI"), std::string::npos) << c.uri;
    EXPECT_NE(parsed.status().message().find(c.why), std::string::npos) << parsed.status();
  }
}

TEST(RedisNamingTest, TableKeysAndGlobEscaping) {
  EXPECT_EQ(RedisTableKey("prod", "KV"), "HALOprod@KV");
  EXPECT_EQ(EscapeRedisGlob("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
}

}  // namespace
}  // namespace halo
