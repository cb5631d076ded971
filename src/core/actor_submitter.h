// The caller's side of actor calls. Each call gets the next sequence number of this caller for that actor;
// calls wait for their argument objects, then go straight to the actor's worker in sequence order, in batches
// of about 2 ms of expected work (so a slow method's calls go one by one and each finished call is answered
// at once; a dying instance then takes only unanswered calls with it).
// The submitter follows each actor's directory entry through a held WaitActor call to the GCS, so it learns
// of restarts and deaths without a failed call; while the GCS is down, calls keep going to the known instance.
// When an instance dies with calls unfinished: with task retries left they are re-sent, in order, to the next
// instance (and calls that finished are not); without, they fail with ACTOR_UNAVAILABLE (it restarts) or
// ACTOR_DIED (dead for good). Calls that could not even connect (the instance was gone before they were sent)
// were never delivered: they wait for the next instance in any case. Calls made while the actor is not ALIVE wait for it. Nothing is sent to a new
// instance while calls to an older one are still in flight, so a caller's order holds across restarts.
// Event-driven on one executor; peers and the object table are handed in.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/backoff.h"
#include "common/executor.h"
#include "core/core_rpc_clients.h"
#include "core/object_table.h"
#include "core/run_time_estimates.h"
#include "core/task_arguments.h"
#include "proto/core.pb.h"
#include "rpc/head_endpoints.h"

namespace halo::core {

struct ActorSubmitterSettings {
  std::string caller_id;          // unique per process
  std::string gcs_address;        // may list head candidates: "h1:7001,h2:7001"
  int64_t batch_max = 200;
  int64_t batches_in_flight_max = 2;
  int64_t poll_wait_ms = 10000;
  int64_t retry_initial_ms = 100;
  int64_t retry_max_ms = 2000;
  int64_t verdict_wait_ms = 1000;  // how long a failed call waits to learn whether its actor is dead for good
  int64_t inline_max_bytes = 100 * 1024;
};

class ActorSubmitter {
 public:
  ActorSubmitter(Executor& executor, ObjectTable& objects, CoreRpcClients& clients, ActorSubmitterSettings settings);

  // Thread-safe. Makes the actor known (from its creation, a lookup, or a handle that arrived in a value);
  // a later, newer description updates what is known.
  void AddActor(const rpc::ActorHandleInfo& info);
  // Thread-safe. What a handle carries to another process.
  std::optional<rpc::ActorHandleInfo> Describe(const std::string& actor_id) const;
  enum class Reservation { kReserved, kUnknownActor, kDead, kLimitReached };
  // Thread-safe. Reserves a place for one more unfinished call (kLimitReached past max_pending_calls);
  // *dead_message says why when the actor is known dead.
  Reservation TryReserveCall(const std::string& actor_id, std::string* dead_message);
  // The call's return object (its task id) is pending in the table, and its ref arguments hold references;
  // a place was reserved.
  void Submit(rpc::TaskSpec call);
  // No handle to it is left in this process: stop following it.
  void ForgetActor(const std::string& actor_id);
  void FailAll(const std::string& why);

 private:
  struct Call {
    rpc::TaskSpec spec;
    int unresolved = 0;
    std::optional<internal::ErrorInfo> failed;
  };
  struct Actor {
    rpc::ActorHandleInfo info;       // as last heard (state, instance, address)
    std::string death_message;
    uint64_t next_sequence = 0;
    std::map<uint64_t, Call> unsent;  // by sequence: resolving, or ready to send
    std::map<uint64_t, std::pair<int32_t, rpc::TaskSpec>> sent;  // by sequence: (instance sent to, call)
    std::map<uint64_t, rpc::TaskSpec> awaiting_verdict;         // failed, not retried: which error?
    std::optional<int32_t> broken_instance;  // a call to it failed: send nothing until news
    int batches_in_flight = 0;
    bool polling = false;
    bool forgotten = false;
    std::optional<TimerId> verdict_timer;
  };
  struct Shared {  // what user threads read
    rpc::ActorHandleInfo info;
    std::string death_message;
    int64_t pending = 0;
  };

  void OnArgumentReady(const std::string& actor_id, uint64_t sequence, int index, const ObjectLookup& lookup);
  void Pump(const std::string& actor_id);
  void SendBatch(const std::string& actor_id, Actor& actor);
  void OnPushed(const std::string& actor_id, int32_t instance, std::vector<uint64_t> sequences,
                StatusOr<rpc::PushActorTasksReply> reply);
  void Poll(const std::string& actor_id);
  void OnNews(const std::string& actor_id, const rpc::ActorInfo& info);
  // Decides the error of calls that failed without a retry, from what is known now.
  void GiveVerdict(const std::string& actor_id, Actor& actor, bool force);
  void FailCall(const rpc::TaskSpec& call, internal::ErrorInfo::Kind kind, const std::string& message);
  void Finish(const rpc::TaskSpec& call, const rpc::TaskResult& result);
  void FailEverything(const std::string& actor_id, Actor& actor, internal::ErrorInfo::Kind kind,
                      const std::string& message);
  void Publish(const std::string& actor_id, const Actor& actor);
  void CallDone(const std::string& actor_id);
  // Argument objects a call holds references to, released when it finishes or fails.
  void ReleasePins(const std::string& task_id) { pins_.Release(task_id); }
  static uint64_t FirstUnfinished(const Actor& actor);

  Executor& executor_;
  ObjectTable& objects_;
  CoreRpcClients& clients_;
  ActorSubmitterSettings settings_;
  ExponentialBackoff backoff_;
  struct GcsAddress {
    std::string address;
  };
  HeadEndpoints<GcsAddress> gcs_;  // head candidates: polls go to the current one
  std::unordered_map<std::string, Actor> actors_;
  ArgumentPins pins_;
  RunTimeEstimates run_times_;  // by method name
  // Calls whose argument failed, by task id: sent as placeholders, then failed with this error.
  std::unordered_map<std::string, internal::ErrorInfo> skipped_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Shared> shared_;
};

}  // namespace halo::core
