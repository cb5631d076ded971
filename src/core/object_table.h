// The objects this process owns: pending until their task finishes, then a value, a copy in a node's store
// (large values), or an error. User threads block in Get/Wait; the submitter fills results in. A stored
// object made by a task keeps that task's spec (its lineage) so a lost copy can be rebuilt; the spec's own
// argument objects stay referenced as long as it is kept. An object is forgotten once nothing refers to it;
// the free listener then hears of its copies and lineage. Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "halo/internal/runtime.h"
#include "proto/core.pb.h"

namespace halo::core {

using internal::ErrorInfo;
using internal::ObjectResult;

// What the table knows of a complete object: its value or error, and where copies live.
struct ObjectLookup {
  ObjectResult result;                          // value null and no error: only the copies below exist
  std::vector<rpc::ObjectLocation> locations;
  bool stored() const { return !result.value && !result.error; }
};

class ObjectTable {
 public:
  // Called (outside the table's lock) when a forgotten object had copies or lineage.
  using FreeListener = std::function<void(const std::string& id, const std::vector<rpc::ObjectLocation>& copies,
                                          const std::optional<rpc::TaskSpec>& lineage)>;
  void SetFreeListener(FreeListener listener) { on_free_ = std::move(listener); }

  // A new pending object with one local reference.
  void AddPending(const std::string& id);
  // A new ready object with one local reference (Put).
  void AddReady(const std::string& id, std::shared_ptr<const std::string> value);
  // A reference to an object another process owns: pending until its owner says what it is. False (and a
  // reference added) if the object is already known here.
  bool AddBorrowed(const std::string& id);
  // A new object whose only copy is in a node's store (a large Put): it has no lineage.
  void AddStored(const std::string& id, rpc::ObjectLocation location);
  // Completes a pending object; a no-op if it is already complete or forgotten. Runs its watchers.
  void Complete(const std::string& id, std::shared_ptr<const std::string> value);
  // Completes with a copy in a node's store; lineage is the spec that made it (its ref args stay referenced).
  // False if the object was forgotten meanwhile (the caller then releases what lineage refers to).
  bool CompleteStored(const std::string& id, rpc::ObjectLocation location, rpc::TaskSpec lineage);
  void Fail(const std::string& id, ErrorInfo error);
  // Fails every object not complete yet (shutdown: nothing will complete them now), waking every Get.
  void FailIncomplete(const ErrorInfo& error);
  // Completes a borrowed object with the copies its owner named (no lineage here: the owner rebuilds).
  void CompleteWithCopies(const std::string& id, std::vector<rpc::ObjectLocation> copies);
  // Completes an actor call's result whose value stays in a node's store: it has no lineage (an actor call is
  // not rerun to rebuild it), so a lost copy makes it fail with OBJECT_LOST.
  void CompleteStoredByActor(const std::string& id, rpc::ObjectLocation location);
  // Keeps a fetched copy of a stored object's value.
  void CacheValue(const std::string& id, std::shared_ptr<const std::string> value);

  // For rebuilding: a complete stored object whose copies are all gone becomes pending again and hands back
  // its lineage (whose references pass to the caller). nullopt when it has none (made by Put) or is not in
  // that state (already rebuilding, has a value, or unknown).
  // *not_rebuildable says why not when the object can never be rebuilt here (made by Put, or borrowed).
  std::optional<rpc::TaskSpec> ResetForRebuild(const std::string& id, std::string* not_rebuildable);
  // A stored object that cannot be rebuilt here and whose copies are unreachable now fails with error.
  void MarkLost(const std::string& id, ErrorInfo error);
  // Forgets an object's copies (they proved unusable).
  void ForgetCopies(const std::string& id);
  // Forgets the copies held by a node that died; returns the objects left with no copy and no value.
  std::vector<std::string> DropLocations(const std::string& node_id);

  std::vector<ObjectLookup> Get(const std::vector<std::string>& ids, int64_t timeout_ms);
  std::vector<bool> Wait(const std::vector<std::string>& ids, size_t num_ready, int64_t timeout_ms);

  void AddReference(const std::string& id);
  void RemoveReference(const std::string& id);

  // Calls done(lookup) once the object is complete: at once (on this thread) if it already is, else on the
  // thread that completes it. An unknown object gives an error at once. Returns a token for StopWatching
  // (0 when done already ran).
  uint64_t WhenComplete(const std::string& id, std::function<void(const ObjectLookup&)> done);
  // Drops a watcher that is no longer wanted (a held poll that timed out); a no-op if it already ran.
  void StopWatching(const std::string& id, uint64_t token);

  // True when each object is complete (or unknown): a Get of them would not wait.
  bool AllComplete(const std::vector<std::string>& ids) const;
  size_t size() const;

 private:
  struct Entry {
    bool complete = false;
    bool made_by_put = false;
    bool made_by_actor = false;
    bool borrowed = false;
    ObjectLookup lookup;
    std::optional<rpc::TaskSpec> lineage;
    int references = 0;
    std::map<uint64_t, std::function<void(const ObjectLookup&)>> watchers;  // by token
  };
  void Finish(const std::string& id, ObjectLookup lookup, std::optional<rpc::TaskSpec> lineage, bool* kept);
  // Erases an unreferenced complete entry; returns what the free listener must hear of.
  void EraseLocked(std::unordered_map<std::string, Entry>::iterator it,
                   std::vector<std::tuple<std::string, std::vector<rpc::ObjectLocation>,
                                          std::optional<rpc::TaskSpec>>>* freed);
  void NotifyFreed(std::vector<std::tuple<std::string, std::vector<rpc::ObjectLocation>,
                                          std::optional<rpc::TaskSpec>>>& freed);
  static ObjectLookup Unknown(const std::string& id);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_map<std::string, Entry> entries_;
  FreeListener on_free_;
  uint64_t next_watch_token_ = 1;
};

}  // namespace halo::core
