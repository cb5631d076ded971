// A node's workers and the leases on them. Owners ask for a worker with some resources; the manager grants a
// worker of the owner's job when the resources are free here, redirects (spillback) to another live node that
// could run it when this one is busy or too small, or holds the request until resources free up. A request
// that no live node could ever run waits up to unschedulable_wait_ms for a node that fits to join (a node that
// died and is being replaced, an autoscaler), then is refused naming the resources. Workers are
// started from the job's executable (fetched once per node), prestarted on a job's first request, reused
// across leases, and killed when a lessee reports them failed. A worker that exits frees its lease; the exit
// is remembered so owners can ask why their call failed.
// Event-driven on one executor; time, randomness, process launching and executables are handed in.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/executor.h"
#include "common/random.h"
#include "node/worker_launcher.h"
#include "proto/node.pb.h"

namespace halo::node {

struct LeaseManagerSettings {
  std::string node_id;
  std::string node_address;
  std::string gcs_address;
  std::map<std::string, double> resources;  // what this node offers
  // HALO_<NAME> for every setting the node runs with: a worker runs with its node's settings (host among them).
  std::map<std::string, std::string> worker_env;
  std::string worker_lease_file;  // HALO_WORKER_LEASE_FILE of its workers (node/worker_lease_renewer)
  int64_t num_prestart_workers = 1;
  int64_t workers_max = 64;
  size_t waiting_requests_max = 10000;       // held at once; more are refused at once
  // A request no live node could ever run waits this long for one to join, then is refused (unschedulable).
  int64_t unschedulable_wait_ms = 30000;
  int64_t worker_start_timeout_ms = 30000;
  int64_t worker_idle_timeout_ms = 60000;
  int64_t worker_start_failures_max = 3;     // consecutive, per job: then waiting requests fail
  size_t worker_exits_remembered = 10000;
};

class LeaseManager {
 public:
  using ReplyFn = std::function<void(const rpc::RequestWorkerLeaseReply&)>;

  LeaseManager(Executor& executor, Clock& clock, RandomSource& random, WorkerLauncher& launcher,
               ExecutableStore& executables, LeaseManagerSettings settings);

  // Returns a request id (for CancelRequest). reply runs exactly once unless cancelled.
  uint64_t RequestLease(const rpc::RequestWorkerLeaseRequest& request, ReplyFn reply);
  // The requester went away. True if the request was still waiting (its reply will never run).
  bool CancelRequest(uint64_t request_id);
  void ReturnWorker(const std::string& lease_id, bool worker_failed);
  // A worker process announced itself. False if it is not one this manager started (it should exit).
  bool RegisterWorker(const std::string& worker_id, const std::string& address, int pid);
  // A leased worker's task waits for objects (blocked) or resumed: while it waits its lease's resources are
  // lent to other work, so tasks that wait on tasks they submitted cannot starve the node; on resuming they
  // are taken back even if that briefly oversubscribes the node.
  void SetWorkerBlocked(const std::string& worker_id, bool blocked);
  // The process exited (reaped by the agent).
  void OnWorkerExited(int pid, const std::string& description);
  // nullopt if the worker is unknown; "" if it is still running; else how it exited.
  std::optional<std::string> WorkerExit(const std::string& worker_id) const;
  // As WorkerExit, but a running worker is given up to wait_ms to exit first (a lessee asks right after its
  // call to the worker broke, usually a moment before the agent reaps the process).
  void AwaitWorkerExit(const std::string& worker_id, int64_t wait_ms,
                       std::function<void(std::optional<std::string>)> done);
  // The processes this node's work depends on: every job's driver and every lessee. The agent health-checks
  // them and calls OnPeerGone for one that stops answering.
  std::set<std::string> PeersToWatch() const;
  // A lessee gone: its leases end and their workers (maybe still running its tasks) are killed. A driver
  // gone: its job ends here: its workers are killed (except those hosting detached actors), its waiting
  // requests refused (except detached actors' restarts while the executable is here), and the job-ended
  // listener runs (the agent frees the job's objects).
  // Actor leases (for_actor) have no lessee: they end when the worker exits or the GCS returns them.
  void OnPeerGone(const std::string& address);
  // Objects of a job are stored here: its driver is watched even if no lease was asked for.
  void NoteJob(uint32_t job_id, const std::string& driver_address);
  void SetJobEndedListener(std::function<void(uint32_t job_id)> listener) { on_job_ended_ = std::move(listener); }
  // From the node agent's poll answers: which other nodes exist, what they offer, which are alive.
  void OnClusterUpdate(const rpc::PollNodeEventsReply& reply);
  // A draining node takes no new leases; waiting requests are redirected or refused.
  void SetDraining(bool draining);
  // Known once the agent's server listens; before any request.
  void SetNodeAddress(const std::string& address) { settings_.node_address = address; }
  // Kills every worker (the agent is stopping).
  void Shutdown();

  bool Idle() const { return leases_.empty(); }
  const std::map<std::string, double>& available() const { return available_; }
  size_t num_workers() const { return workers_.size(); }
  size_t num_leases() const { return leases_.size(); }
  size_t num_waiting() const { return waiting_.size(); }
  // Called after the last lease ends (a draining node then leaves).
  void SetIdleListener(std::function<void()> listener) { on_idle_ = std::move(listener); }

 private:
  enum class WorkerState { kStarting, kIdle, kLeased };
  struct Worker {
    std::string id;
    uint32_t job_id = 0;
    int pid = 0;
    std::string address;
    WorkerState state = WorkerState::kStarting;
    std::optional<TimerId> timer;  // start deadline, or idle timeout
    bool detached_actor = false;   // hosts a detached actor: stays when its job ends
  };
  struct Request {
    uint64_t id = 0;
    rpc::RequestWorkerLeaseRequest request;
    ReplyFn reply;
    bool reserved = false;  // resources set aside; waiting for a worker
    std::optional<int64_t> unschedulable_since_ms;  // no live node offered its resources since then
  };
  struct Job {
    std::string executable;  // local path once fetched
    std::string executable_sha256;
    std::string driver_address;
    bool fetching = false;
    std::string fetch_error;
    int64_t start_failures = 0;
    std::string last_start_failure;
    bool prestarted = false;
    bool ended = false;  // its driver is gone: no more work for it here
  };
  struct Lease {
    std::string worker_id;
    std::map<std::string, double> resources;
    bool blocked = false;  // its resources are lent out
    std::string lessee;    // address of the process holding it
  };
  // Gives a lease's resources back to the node unless they are already lent out.
  void ReleaseLease(const Lease& lease);
  struct PeerNode {
    std::string address;
    std::map<std::string, double> resources;
  };

  void Dispatch();
  // True when the request was answered (granted, redirected or refused).
  bool TryServe(Request& request);
  bool Fits(const std::map<std::string, double>& need, const std::map<std::string, double>& have) const;
  std::optional<std::string> SpillbackTarget(const std::map<std::string, double>& need);
  void Grant(Request& request, Worker& worker);
  void Refuse(Request& request, const std::string& why);
  void Release(const std::map<std::string, double>& resources);
  void StartWorkers(uint32_t job_id, int64_t count);
  void EnsureExecutable(uint32_t job_id, const rpc::RequestWorkerLeaseRequest& request);
  void OnWorkerStartTimeout(const std::string& worker_id);
  void RemoveWorker(const std::string& worker_id, const std::string& description);
  void MakeIdle(Worker& worker);
  void RememberExit(const std::string& worker_id, const std::string& description);
  Worker* FindIdle(uint32_t job_id);
  int64_t StartingFor(uint32_t job_id) const;
  int64_t ReservedWaitingFor(uint32_t job_id) const;

  Executor& executor_;
  Clock& clock_;
  RandomSource& random_;
  WorkerLauncher& launcher_;
  ExecutableStore& executables_;
  LeaseManagerSettings settings_;
  std::map<std::string, double> available_;
  std::unordered_map<std::string, Worker> workers_;
  std::unordered_map<int, std::string> worker_by_pid_;
  std::map<uint32_t, Job> jobs_;
  std::deque<Request> waiting_;
  std::unordered_map<std::string, Lease> leases_;
  std::map<std::string, PeerNode> peers_;  // other ALIVE nodes
  size_t spill_cursor_ = 0;
  std::unordered_map<std::string, std::string> exits_;
  std::unordered_map<std::string, std::vector<std::function<void(std::optional<std::string>)>>> exit_waiters_;
  std::deque<std::string> exit_order_;
  uint64_t next_request_id_ = 1;
  bool draining_ = false;
  bool dispatching_ = false;
  std::function<void()> on_idle_;
  std::function<void(uint32_t)> on_job_ended_;
};

}  // namespace halo::node
