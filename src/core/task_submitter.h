// Runs an owner's tasks: waits for each task's argument objects and inlines their values, leases workers from
// the local node agent (following spillback to other nodes), pushes tasks to leased workers in batches sized
// to the task duration, and records each result in the ObjectTable exactly once. A task whose worker or node
// dies is retried while max_retries allows; an exception from the task's own code only if retry_exceptions.
// Leases are reused while work of the same resource shape remains and returned after lease_idle_ms idle.
// Event-driven on one executor; time, peers and the object table are handed in.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
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

namespace halo::core {

struct SubmitterSettings {
  std::string local_node_address;
  uint32_t job_id = 0;
  std::string executable_sha256;
  std::string driver_address;
  std::string lessee_address;  // this process' server: a node takes back its leases if it stops answering
  int64_t batch_max = 200;
  int64_t batches_in_flight_max = 2;
  int64_t lease_requests_in_flight_max = 8;
  int64_t lease_idle_ms = 100;
  int64_t node_unreachable_timeout_ms = 10000;
  int64_t retry_initial_ms = 100;
  int64_t retry_max_ms = 2000;
  int64_t rpc_timeout_ms = 10000;
  int64_t inline_max_bytes = 100 * 1024;
};

class TaskSubmitter {
 public:
  TaskSubmitter(Executor& executor, Clock& clock, ObjectTable& objects, CoreRpcClients& clients,
                SubmitterSettings settings);

  // The task's return object (named by its task id) must already be pending in the table, and the caller must
  // hold one table reference per ref argument; the submitter keeps them while the task runs, then releases
  // them, or hands them to the result's lineage when the result stays in a node's store.
  void Submit(rpc::TaskSpec spec);
  // Rebuilds a stored object whose copies are all gone by rerunning its task (which first rebuilds its own
  // lost arguments). An object made by Put fails with OBJECT_LOST; one whose task has no retries left fails
  // with RECONSTRUCTION_FAILED.
  void Rebuild(const std::string& object_id, const std::string& why);
  // The two halves of Rebuild. ResetLost is thread-safe (it touches only the object table): it makes a lost
  // object pending again and returns its lineage (nullopt: nothing to rerun; an object that can never be
  // rebuilt here has failed with OBJECT_LOST). Rerun, on the executor, reruns that lineage (or fails the
  // object with RECONSTRUCTION_FAILED when its task has no retries left).
  std::optional<rpc::TaskSpec> ResetLost(const std::string& object_id, const std::string& why);
  void Rerun(const std::string& object_id, rpc::TaskSpec lineage, const std::string& why);
  // The GCS declared the node dead: tasks running there fail over now rather than wait for their calls.
  void OnNodeDead(const std::string& node_id);
  // Fails every task not yet finished (shutdown).
  void FailAll(const std::string& why);

  // Hears of every rerun that rebuilds a lost object (on the executor). Optional.
  using RebuildListener =
      std::function<void(const std::string& object_id, const rpc::TaskSpec& spec, const std::string& why)>;
  void SetRebuildListener(RebuildListener listener) { on_rebuild_ = std::move(listener); }

  size_t leases() const;
  // Thread-safe counters.
  int64_t retries() const { return retries_.load(); }
  int64_t rebuilds() const { return rebuilds_.load(); }
  int64_t objects_lost() const { return objects_lost_.load(); }
  int64_t rebuilds_completed() const { return rebuilds_completed_.load(); }
  int64_t rebuild_ms_total() const { return rebuild_ms_total_.load(); }
  int64_t failures() const { return failures_.load(); }

 private:
  struct Lease {
    std::string id;
    std::string worker_id;
    std::string worker_address;
    std::string node_address;
    std::string node_id;
    int batches_in_flight = 0;
    std::optional<TimerId> idle_timer;
    bool node_suspect = false;  // a call to its node failed: nothing more is sent; returned once idle
  };
  struct Shape {
    std::string key;
    std::map<std::string, double> resources;
    std::deque<rpc::TaskSpec> queue;
    std::map<std::string, Lease> leases;  // by lease id
    int lease_requests_in_flight = 0;
    std::optional<int64_t> node_unreachable_since_ms;
    bool retry_scheduled = false;
  };
  struct Batch {
    std::string shape_key;
    std::string lease_id;
    std::vector<rpc::TaskSpec> tasks;
  };
  struct Resolving {
    rpc::TaskSpec spec;
    int unresolved = 0;
    std::optional<internal::ErrorInfo> failed;
  };

  // Waits for the spec's ref arguments, inlining values and attaching the copies' locations of stored ones.
  void Resolve(rpc::TaskSpec spec);
  void OnArgumentReady(const std::string& task_id, int index, const ObjectLookup& lookup);
  void ReleasePins(const std::string& task_id) { pins_.Release(task_id); }
  void Enqueue(rpc::TaskSpec spec);
  void Pump(Shape& shape);
  void SendBatch(Shape& shape, Lease& lease);
  void OnPushed(uint64_t batch_id, StatusOr<rpc::PushTasksReply> reply);
  // node_id: the node whose loss failed the batch ("" when the worker alone died).
  void FailBatch(uint64_t batch_id, rpc::ErrorKind kind, const std::string& message, const std::string& node_id);
  // A call to this node failed: its other leases get no more work (their workers are likely gone with it).
  void SuspectNode(const std::string& node_id);
  void RequestLease(Shape& shape, const std::string& node_address, bool spilled);
  void OnLeaseReply(const std::string& shape_key, const std::string& node_address,
                    StatusOr<rpc::RequestWorkerLeaseReply> reply);
  void DropLease(Shape& shape, const std::string& lease_id, bool worker_failed);
  // A task that already spent a retry on the loss of lost_node_id is requeued without spending another:
  // one node death costs each task at most one retry.
  void RetryOrFail(Shape& shape, rpc::TaskSpec spec, rpc::ErrorKind kind, const std::string& message,
                   const std::string& where, const std::string& lost_node_id = "");
  void Finish(const rpc::TaskSpec& spec, const rpc::TaskResult& result);
  void FailQueued(Shape& shape, internal::ErrorInfo::Kind kind, const std::string& message);

  Executor& executor_;
  Clock& clock_;
  ObjectTable& objects_;
  CoreRpcClients& clients_;
  SubmitterSettings settings_;
  ExponentialBackoff backoff_;
  std::map<std::string, Shape> shapes_;
  std::unordered_map<std::string, Resolving> resolving_;
  ArgumentPins pins_;  // per unfinished task: the argument objects it holds references to
  std::set<std::string> dead_nodes_;
  // Per unfinished task that failed with its node: that node (a later failure there costs no retry).
  std::unordered_map<std::string, std::string> charged_node_loss_;
  std::unordered_map<uint64_t, Batch> batches_;
  RunTimeEstimates run_times_;  // by function name
  uint64_t next_batch_id_ = 1;
  std::atomic<int64_t> retries_ = 0;
  std::atomic<int64_t> rebuilds_ = 0;
  std::atomic<int64_t> objects_lost_ = 0;
  std::atomic<int64_t> rebuilds_completed_ = 0;
  std::atomic<int64_t> rebuild_ms_total_ = 0;
  std::map<std::string, int64_t> rebuilding_since_ms_;  // by task id: reruns under way that rebuild an object
  RebuildListener on_rebuild_;
  std::atomic<int64_t> failures_ = 0;
};

// "CPU=1,GPU=0.5": the canonical key of a resource shape.
std::string ShapeKey(const std::map<std::string, double>& resources);
internal::ErrorInfo::Kind ToErrorKind(rpc::ErrorKind kind);
internal::ErrorInfo ToErrorInfo(const rpc::TaskError& error);
rpc::ErrorKind ToRpcErrorKind(internal::ErrorInfo::Kind kind);

}  // namespace halo::core
