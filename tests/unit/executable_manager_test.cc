// The GCS's executable store over the memory store: a program is visible only once committed with the hash it
// is named by; a wrong hash, a missing chunk or an oversized chunk is refused and records nothing.
#include <gtest/gtest.h>

#include "common/sha256.h"
#include "gcs/executable_manager.h"
#include "gcs/table_names.h"
#include "storage/memory_store.h"
#include "support/fake_executor.h"

namespace halo::gcs {
namespace {

class ExecutableManagerTest : public ::testing::Test {
 protected:
  Status Put(const std::string& sha, uint32_t index, const std::string& data) {
    Status out = InternalError("not answered");
    store_manager_.HandlePutChunk(sha, index, data, [&](Status s) { out = s; });
    executor_.RunUntilIdle();
    return out;
  }
  Status Commit(const std::string& sha, uint32_t chunks, uint64_t total) {
    Status out = InternalError("not answered");
    store_manager_.HandleCommit(sha, chunks, total, [&](Status s) { out = s; });
    executor_.RunUntilIdle();
    return out;
  }
  bool Present(const std::string& sha) {
    bool present = false;
    store_manager_.HandleInfo(sha, [&](StatusOr<rpc::GetExecutableInfoReply> info) {
      present = info.ok() && info->present();
    });
    executor_.RunUntilIdle();
    return present;
  }
  StatusOr<std::string> Chunk(const std::string& sha, uint32_t index) {
    StatusOr<std::string> out = InternalError("not answered");
    store_manager_.HandleGetChunk(sha, index, [&](StatusOr<std::string> data) { out = std::move(data); });
    executor_.RunUntilIdle();
    return out;
  }
  static std::string Sha(const std::string& bytes) {
    Sha256Hasher hasher;
    hasher.Update(bytes);
    return hasher.HexDigest();
  }

  testing::FakeExecutor executor_;
  MemoryStore store_{executor_};
  ExecutableManager store_manager_{store_, ExecutableLimits{4, 64}};
};

TEST_F(ExecutableManagerTest, ACommittedProgramIsReadBackChunkByChunk) {
  const std::string program = "0123456789";  // chunks of 4: "0123", "4567", "89"
  const std::string sha = Sha(program);
  ASSERT_TRUE(Put(sha, 0, "0123").ok());
  ASSERT_TRUE(Put(sha, 1, "4567").ok());
  ASSERT_TRUE(Put(sha, 2, "89").ok());
  EXPECT_FALSE(Present(sha)) << "visible before its commit";
  EXPECT_EQ(Chunk(sha, 0).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(Commit(sha, 3, 10).ok());
  EXPECT_TRUE(Present(sha));
  EXPECT_EQ(*Chunk(sha, 0) + *Chunk(sha, 1) + *Chunk(sha, 2), program);
  EXPECT_EQ(Chunk(sha, 3).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ExecutableManagerTest, AWrongHashOrAMissingChunkIsRefusedAndRecordsNothing) {
  const std::string sha = Sha("01234567");
  ASSERT_TRUE(Put(sha, 0, "0123").ok());
  Status missing = Commit(sha, 2, 8);
  EXPECT_EQ(missing.code(), absl::StatusCode::kDataLoss) << missing;
  EXPECT_FALSE(Present(sha));
  ASSERT_TRUE(Put(sha, 1, "4566").ok());  // one byte wrong
  Status corrupt = Commit(sha, 2, 8);
  EXPECT_EQ(corrupt.code(), absl::StatusCode::kDataLoss) << corrupt;
  EXPECT_NE(corrupt.message().find("has SHA-256"), std::string::npos) << corrupt;
  EXPECT_FALSE(Present(sha));
  ASSERT_TRUE(Put(sha, 1, "4567").ok());
  EXPECT_TRUE(Commit(sha, 2, 8).ok());
  EXPECT_TRUE(Present(sha));
}

TEST_F(ExecutableManagerTest, MalformedInputIsRefused) {
  EXPECT_EQ(Put("not-a-hash", 0, "x").code(), absl::StatusCode::kInvalidArgument);
  const std::string sha = Sha("x");
  EXPECT_EQ(Put(sha, 0, "12345").code(), absl::StatusCode::kInvalidArgument) << "a chunk past chunk_bytes";
  EXPECT_EQ(Put(sha, 16, "1").code(), absl::StatusCode::kInvalidArgument) << "past max_bytes";
  EXPECT_EQ(Commit(sha, 1, 65).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Commit(sha, 3, 5).code(), absl::StatusCode::kInvalidArgument) << "chunk count does not fit the size";
}

}  // namespace
}  // namespace halo::gcs
