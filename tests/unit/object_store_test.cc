// The node object store's spilling, and the owner's object table (references, lineage, rebuild states).
#include <gtest/gtest.h>

#include "core/object_table.h"
#include "node/object_store.h"

namespace halo {
namespace {

class MemorySpill : public node::SpillStorage {
 public:
  Status Write(const std::string& id, const std::string& data) override {
    files[id] = data;
    return OkStatus();
  }
  StatusOr<std::string> Read(const std::string& id) override {
    auto it = files.find(id);
    if (it == files.end()) return NotFoundError("missing");
    return it->second;
  }
  void Remove(const std::string& id) override { files.erase(id); }
  std::map<std::string, std::string> files;
};

std::shared_ptr<const std::string> Bytes(size_t n, char c) { return std::make_shared<const std::string>(n, c); }

TEST(ObjectStoreTest, SpillsLeastRecentlyUsedAndRestoresOnRead) {
  auto spill = std::make_unique<MemorySpill>();
  MemorySpill* disk = spill.get();
  node::ObjectStore store(250, std::move(spill));
  ASSERT_TRUE(store.Put("a", Bytes(100, 'a')).ok());
  ASSERT_TRUE(store.Put("b", Bytes(100, 'b')).ok());
  ASSERT_TRUE(store.Get("a").ok());                   // a is now the most recently used
  ASSERT_TRUE(store.Put("c", Bytes(100, 'c')).ok());  // b must go to disk
  EXPECT_EQ(disk->files.count("b"), 1u);
  EXPECT_EQ(disk->files.count("a"), 0u);
  EXPECT_LE(store.stats().memory_bytes, 250u);
  auto b = store.Get("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(**b, std::string(100, 'b'));
  EXPECT_EQ(store.stats().restores, 1u);
  EXPECT_LE(store.stats().memory_bytes, 250u);
  EXPECT_EQ(store.stats().objects, 3u);
}

TEST(ObjectStoreTest, OversizedObjectGoesStraightToDiskAndFreeRemovesIt) {
  auto spill = std::make_unique<MemorySpill>();
  MemorySpill* disk = spill.get();
  node::ObjectStore store(100, std::move(spill));
  ASSERT_TRUE(store.Put("huge", Bytes(1000, 'h')).ok());
  EXPECT_EQ(store.stats().memory_bytes, 0u);
  EXPECT_EQ(disk->files.count("huge"), 1u);
  EXPECT_EQ((*store.Get("huge"))->size(), 1000u);
  store.Free("huge");
  EXPECT_EQ(disk->files.count("huge"), 0u);
  EXPECT_FALSE(store.Get("huge").ok());
}

TEST(ObjectStoreTest, AJobsEndFreesItsObjectsOnly) {
  node::ObjectStore store(150, std::make_unique<MemorySpill>());
  ASSERT_TRUE(store.Put("a", Bytes(100, 'a'), 1).ok());
  ASSERT_TRUE(store.Put("b", Bytes(100, 'b'), 2).ok());  // spills "a"
  ASSERT_TRUE(store.Put("c", Bytes(10, 'c'), 1).ok());
  EXPECT_EQ(store.FreeJob(1), 2u);
  EXPECT_EQ(store.stats().objects, 1u);
  EXPECT_TRUE(store.Get("b").ok());
  EXPECT_FALSE(store.Get("a").ok());
}

rpc::ObjectLocation At(const std::string& node) {
  rpc::ObjectLocation location;
  location.set_node_id(node);
  location.set_node_address(node + ":1");
  return location;
}

TEST(ObjectTableTest, ForgettingAStoredObjectReportsItsCopiesAndLineage) {
  core::ObjectTable table;
  std::vector<std::string> freed;
  table.SetFreeListener([&](const std::string& id, const std::vector<rpc::ObjectLocation>& copies,
                            const std::optional<rpc::TaskSpec>& lineage) {
    freed.push_back(id + "@" + (copies.empty() ? "" : copies[0].node_id()) + (lineage ? "+lineage" : ""));
  });
  table.AddPending("x");
  rpc::TaskSpec spec;
  spec.set_task_id("x");
  ASSERT_TRUE(table.CompleteStored("x", At("n1"), spec));
  EXPECT_TRUE(table.Get({"x"}, 0)[0].stored());
  table.RemoveReference("x");
  EXPECT_EQ(freed, std::vector<std::string>{"x@n1+lineage"});
  EXPECT_EQ(table.size(), 0u);
}

TEST(ObjectTableTest, ABorrowerForgetsWithoutFreeingTheOwnersCopies) {
  core::ObjectTable table;
  int freed = 0;
  table.SetFreeListener([&](const std::string&, const std::vector<rpc::ObjectLocation>&,
                            const std::optional<rpc::TaskSpec>&) { ++freed; });
  EXPECT_TRUE(table.AddBorrowed("b"));
  table.CompleteWithCopies("b", {At("n1")});
  EXPECT_TRUE(table.Get({"b"}, 0)[0].stored());
  table.RemoveReference("b");
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(freed, 0);
}

TEST(ObjectTableTest, StoppedWatchersNeverRun) {
  core::ObjectTable table;
  table.AddPending("p");
  int ran = 0;
  const uint64_t dropped = table.WhenComplete("p", [&](const core::ObjectLookup&) { ran += 10; });
  ASSERT_NE(dropped, 0u);
  table.WhenComplete("p", [&](const core::ObjectLookup&) { ran += 1; });
  table.StopWatching("p", dropped);
  table.Complete("p", std::make_shared<const std::string>("v"));
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(table.WhenComplete("p", [&](const core::ObjectLookup&) { ran += 100; }), 0u);  // runs at once
  EXPECT_EQ(ran, 101);
}

TEST(ObjectTableTest, LostCopiesLeadToRebuildOrObjectLost) {
  core::ObjectTable table;
  table.AddPending("task");
  rpc::TaskSpec spec;
  spec.set_task_id("task");
  ASSERT_TRUE(table.CompleteStored("task", At("n1"), spec));
  table.AddStored("put", At("n1"));
  EXPECT_EQ(table.DropLocations("n1").size(), 2u);
  std::string why_not;
  auto lineage = table.ResetForRebuild("task", &why_not);
  ASSERT_TRUE(lineage.has_value());
  EXPECT_EQ(why_not, "");
  EXPECT_FALSE(table.ResetForRebuild("task", &why_not).has_value());  // already rebuilding: no second rerun
  EXPECT_FALSE(table.ResetForRebuild("put", &why_not).has_value());
  EXPECT_EQ(why_not, "it was made by Put");
  table.MarkLost("put", internal::ErrorInfo{internal::ErrorInfo::Kind::kObjectLost, "", "gone", ""});
  auto put = table.Get({"put"}, 0)[0];
  ASSERT_TRUE(put.result.error.has_value());
  EXPECT_EQ(put.result.error->kind, internal::ErrorInfo::Kind::kObjectLost);
  auto pending = table.Get({"task"}, 0)[0];  // rebuilding: pending again
  ASSERT_TRUE(pending.result.error.has_value());
  EXPECT_EQ(pending.result.error->kind, internal::ErrorInfo::Kind::kGetTimeout);
}

}  // namespace
}  // namespace halo
