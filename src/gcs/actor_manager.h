// The actor directory and the actors' lifecycle. Registers actors (names unique per namespace while the actor
// is not dead), places each on a node whose resources fit by leasing a worker there and asking it to run the
// constructor, watches every live instance through a call the worker holds (a broken call means the process is
// gone; its node says how it ended), and restarts an instance that died while max_restarts allows, elsewhere if
// its node died. Deaths on a drained node do not count against max_restarts. Non-detached actors die with their
// owner process (health-checked) or their job; detached ones belong to the GCS.
// Every state change is stored before anyone hears of it: callers waiting in WaitActor see only durable state.
// After a GCS restart the directory is reloaded and live instances are watched again, not restarted.
// Event-driven on the GCS executor; storage, time, owner probes and peers are handed in.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/executor.h"
#include "gcs/actor_peers.h"
#include "gcs/event_log.h"
#include "health/health_check_manager.h"
#include "proto/core.pb.h"
#include "proto/gcs.pb.h"
#include "proto/node.pb.h"
#include "rpc/state_names.h"
#include "storage/store_client.h"

namespace halo::gcs {

struct ActorManagerSettings {
  int64_t watch_wait_ms = 10000;       // how long an actor worker holds one watch call
  int64_t retry_initial_ms = 100;      // after a failed lease request
  int64_t retry_max_ms = 2000;
  int64_t lease_refusals_max = 5;      // consecutive refusals before creation fails
  int64_t unreachable_kill_checks_max = 50;  // checks (retry_initial_ms apart) that an unreachable worker died
  // An instance that dies while being made is restarted after restart_delay_initial_ms, doubled for each such
  // death in a row up to restart_delay_max_ms; one that dies within restart_stable_ms of becoming ALIVE counts
  // as such a death, but the first of them in a row is restarted at once. One that lived longer is restarted
  // at once and the count starts over.
  int64_t restart_delay_initial_ms = 200;
  int64_t restart_delay_max_ms = 10000;
  int64_t restart_stable_ms = 10000;
  int64_t dead_actors_max = 1000;
  int64_t waiters_max = 100000;        // WaitActor calls held at once; more are answered at once
  health::HealthCheckSettings owner_checks;    // of owner processes
};

class ActorManager : public health::HealthCheckListener {
 public:
  ActorManager(StoreClient& store, Executor& executor, Clock& clock, ActorPeers& peers, health::HealthProber& prober,
               ActorManagerSettings settings);
  ~ActorManager() override;

  // rows: the loaded ACTORS table.
  Status Initialize(const KeyValueMap& rows);
  // After recovery, with the node table as loaded: live instances are watched again, owners health-checked,
  // creations that were under way start over (a half-made instance is killed first).
  void Start(const std::vector<rpc::NodeInfo>& nodes);
  // Called when an actor row cannot be written (the owner must stop serving; a restart reloads).
  void SetStorageFailureHandler(std::function<void(Status)> handler) { on_storage_failure_ = std::move(handler); }
  // Restarts (once the new instance is alive, with the time it took) and deaths for good are recorded here.
  void SetEventLog(EventLog* events) { events_ = events; }

  // AlreadyExists when the name is taken in its namespace; a repeated registration of the same id is Ok.
  void HandleRegister(rpc::ActorInfo actor, bool dependencies_ready, std::function<void(Status)> done);
  void HandleResolve(const std::string& actor_id, rpc::TaskSpec creation, std::function<void(Status)> done);
  // Answers once the actor's durable state or instance differs from the known one, or after wait_ms.
  void HandleWait(const std::string& actor_id, rpc::ActorState known_state, int32_t known_num_restarts,
                  int64_t wait_ms, std::function<void(StatusOr<rpc::ActorInfo>)> done);
  // NotFound unless a live (not DEAD) actor has that name in that namespace.
  void HandleGetNamed(const std::string& name, const std::string& name_space,
                      std::function<void(StatusOr<rpc::ActorInfo>)> done) const;
  void HandleKill(const std::string& actor_id, bool no_restart, bool out_of_scope, std::function<void(Status)> done);
  // The actor called ExitActor: dead for good.
  void HandleReportExit(const std::string& actor_id, int32_t instance, const std::string& message,
                        std::function<void(Status)> done);
  std::vector<rpc::ActorInfo> All() const;
  // The actor's durable state, or null when the directory does not know it (never, or forgotten).
  const rpc::ActorInfo* Published(const std::string& actor_id) const;
  // Hears of every durable actor row, after waiters did.
  void SetChangeListener(std::function<void(const rpc::ActorInfo&)> listener) { on_change_ = std::move(listener); }
  // Answers every held WaitActor now, and later ones at once (the GCS is stopping).
  void ReleaseWaiters();

  // From the node table: a node that joined may take waiting actors; instances on a dead node died.
  void OnNodeChanged(const rpc::NodeInfo& node);
  // From the job table: a finished job's non-detached actors die.
  void OnJobChanged(const rpc::JobInfo& job);

  // Owner health checks (check ids are owner addresses).
  void OnNodeSuspected(const std::string&) override {}
  void OnNodeRecovered(const std::string&) override {}
  void OnNodeFailed(const std::string& owner_address) override;

  size_t size() const { return actors_.size(); }
  size_t waiters() const { return num_waiters_; }

 private:
  struct Waiter {
    rpc::ActorState known_state;
    int32_t known_num_restarts;
    std::function<void(StatusOr<rpc::ActorInfo>)> done;
    TimerId timer = 0;
  };
  struct Actor {
    rpc::ActorInfo info;       // decided
    rpc::ActorInfo published;  // durable: what waiters and readers see
    uint64_t attempt = 0;      // bumped whenever the current placement or instance is abandoned
    bool waiting_for_node = false;
    // Where the lease request of the current attempt waits ("" when none does): if that node dies before it
    // answers (a host powered off never does), the attempt starts over elsewhere.
    std::string leasing_node_address;
    int64_t refusals = 0;
    int64_t alive_since_ms = -1;  // monotonic; -1: not ALIVE in this GCS's lifetime (reloaded, or being made)
    int64_t restart_since_ms = -1;  // monotonic: when its last instance died, while a restart is under way
    std::map<uint64_t, Waiter> waiters;
  };

  static bool Live(const rpc::ActorInfo& info) { return info.state() != rpc::ACTOR_DEAD; }
  static std::string NameKey(const std::string& name_space, const std::string& name) {
    return name_space + "/" + name;
  }
  Actor* Find(const std::string& actor_id);
  // Stores the actor's decided row, then publishes it to waiters and calls then.
  void Commit(Actor& actor, std::function<void(Status)> then);
  void NotifyWaiters(Actor& actor);

  void Schedule(const std::string& actor_id);
  // A live node that fits creation, round robin; one outside avoid when there is one.
  std::optional<rpc::NodeInfo> PickNode(const rpc::TaskSpec& creation,
                                        const google::protobuf::RepeatedPtrField<std::string>& avoid);
  void RequestLease(const std::string& actor_id, uint64_t attempt, const std::string& node_address, bool spilled);
  void OnLease(const std::string& actor_id, uint64_t attempt, const std::string& node_address,
               StatusOr<rpc::RequestWorkerLeaseReply> reply);
  void OnCreated(const std::string& actor_id, uint64_t attempt, StatusOr<rpc::CreateActorReply> reply);
  void Watch(const std::string& actor_id, uint64_t attempt);
  void OnWatchBroken(const std::string& actor_id, uint64_t attempt, const std::string& why);
  // CreateActor broke: the node says whether the worker died in the constructor or runs but cannot be reached.
  void OnCreateBroken(const std::string& actor_id, uint64_t attempt, const std::string& why);
  // After asking the node to kill an unreachable worker: restarts once the node says it exited.
  // A half-made instance loaded after a GCS restart (its worker was recorded, its constructor may still run):
  // its worker is killed and a new instance placed only once its node says the worker exited; if the node
  // cannot say, its death (OnNodeChanged) restarts the actor.
  void ReclaimHalfMade(const std::string& actor_id, uint64_t attempt, int64_t tries);
  void ConfirmUnreachableGone(const std::string& actor_id, uint64_t attempt, const std::string& why,
                              int64_t tries);
  // 0 for an instance that lived past restart_stable_ms; else the backoff delay, counting the death in info.
  int64_t RestartDelayMs(Actor& actor);
  void RetryLater(const std::string& actor_id, uint64_t attempt);
  // The current instance (or the one being made) is gone: restart if allowed, else dead.
  void InstanceDied(Actor& actor, rpc::ActorDeathCause cause, const std::string& message, bool counts,
                    std::function<void(Status)> done = nullptr);
  void Die(Actor& actor, rpc::ActorDeathCause cause, const std::string& message,
           std::function<void(Status)> done = nullptr);
  // Kills the worker of the current or half-made instance, if there is one, and forgets it.
  void ReleaseWorker(rpc::ActorInfo& info);
  void WatchOwner(const rpc::ActorInfo& info);
  void ForgetOwnerIfUnused(const std::string& owner_address);
  void EvictOldDead();

  StoreClient& store_;
  Executor& executor_;
  Clock& clock_;
  ActorPeers& peers_;
  ActorManagerSettings settings_;
  health::HealthCheckManager owner_checks_;
  ExponentialBackoff backoff_;
  std::map<std::string, Actor> actors_;
  std::map<std::string, std::string> names_;     // namespace/name -> actor id (live actors)
  std::map<std::string, rpc::NodeInfo> nodes_;   // by node id, as last heard
  std::deque<std::string> dead_order_;            // oldest death first
  size_t place_cursor_ = 0;
  uint64_t next_waiter_ = 1;
  size_t num_waiters_ = 0;
  bool waiters_released_ = false;  // the GCS is stopping: WaitActor is answered at once
  std::function<void(Status)> on_storage_failure_;
  EventLog* events_ = nullptr;
  std::function<void(const rpc::ActorInfo&)> on_change_;
};

// The names (rpc/state_names.h), as gcs:: callers know them.
using halo::ActorStateName;
using halo::ActorDeathCauseName;

}  // namespace halo::gcs
