#include "node/lease_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/logging.h"

namespace halo::node {
namespace {

std::string Describe(const std::map<std::string, double>& resources) {
  std::string out = "{";
  for (const auto& [name, amount] : resources) {
    if (out.size() > 1) out += ", ";
    absl::StrAppend(&out, name, ": ", amount);
  }
  return out + "}";
}

std::map<std::string, double> Needs(const rpc::RequestWorkerLeaseRequest& request) {
  std::map<std::string, double> need(request.resources().begin(), request.resources().end());
  return need;
}

}  // namespace

LeaseManager::LeaseManager(Executor& executor, Clock& clock, RandomSource& random, WorkerLauncher& launcher,
                           ExecutableStore& executables, LeaseManagerSettings settings)
    : executor_(executor),
      clock_(clock),
      random_(random),
      launcher_(launcher),
      executables_(executables),
      settings_(std::move(settings)),
      available_(settings_.resources) {}

uint64_t LeaseManager::RequestLease(const rpc::RequestWorkerLeaseRequest& request, ReplyFn reply) {
  Request entry;
  entry.id = next_request_id_++;
  entry.request = request;
  entry.reply = std::move(reply);
  if (waiting_.size() >= settings_.waiting_requests_max) {
    Refuse(entry, absl::StrCat("node ", settings_.node_id, " already holds ", waiting_.size(),
                               " waiting lease requests (node_lease_requests_max)"));
    return entry.id;
  }
  waiting_.push_back(std::move(entry));
  Dispatch();
  return next_request_id_ - 1;
}

bool LeaseManager::CancelRequest(uint64_t request_id) {
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if (it->id != request_id) continue;
    if (it->reserved) Release(Needs(it->request));
    waiting_.erase(it);
    Dispatch();
    return true;
  }
  return false;
}

void LeaseManager::Dispatch() {
  if (dispatching_) return;
  dispatching_ = true;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (TryServe(*it)) {
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  dispatching_ = false;
}

bool LeaseManager::Fits(const std::map<std::string, double>& need, const std::map<std::string, double>& have) const {
  for (const auto& [name, amount] : need) {
    if (amount <= 0) continue;
    auto it = have.find(name);
    if (it == have.end() || it->second + 1e-9 < amount) return false;
  }
  return true;
}

std::optional<std::string> LeaseManager::SpillbackTarget(const std::map<std::string, double>& need) {
  std::vector<const PeerNode*> candidates;
  for (const auto& [id, peer] : peers_) {
    if (Fits(need, peer.resources)) candidates.push_back(&peer);
  }
  if (candidates.empty()) return std::nullopt;
  return candidates[spill_cursor_++ % candidates.size()]->address;
}

bool LeaseManager::TryServe(Request& request) {
  const std::map<std::string, double> need = Needs(request.request);
  const bool spilled = request.request.spilled();
  if (!request.reserved) {
    if (!Fits(need, settings_.resources)) {
      if (auto target = SpillbackTarget(need)) {
        rpc::RequestWorkerLeaseReply reply;
        reply.set_spillback_address(*target);
        request.reply(reply);
        return true;
      }
      const int64_t now = clock_.MonotonicMs();
      if (!request.unschedulable_since_ms) {
        request.unschedulable_since_ms = now;
        if (settings_.unschedulable_wait_ms > 0) {
          executor_.RunAfter(settings_.unschedulable_wait_ms, [this] { Dispatch(); });
        }
      }
      const int64_t waited_ms = now - *request.unschedulable_since_ms;
      if (waited_ms < settings_.unschedulable_wait_ms) return false;  // a node that fits may join
      Refuse(request, absl::StrCat("no live node offers ", Describe(need), " (node ", settings_.node_id,
                                   " offers ", Describe(settings_.resources), "; waited ", waited_ms,
                                   " ms for one to join, task_unschedulable_timeout_ms)"));
      return true;
    }
    if (draining_ || !Fits(need, available_)) {
      // Busy here: share the overflow between this node's queue and the other nodes that could run it.
      if (!spilled || draining_) {
        std::optional<std::string> target;
        const size_t choices = peers_.size() + (draining_ ? 0 : 1);
        if (choices > 0 && (draining_ || spill_cursor_++ % choices != 0)) target = SpillbackTarget(need);
        if (target) {
          rpc::RequestWorkerLeaseReply reply;
          reply.set_spillback_address(*target);
          request.reply(reply);
          return true;
        }
      }
      return false;
    }
    for (const auto& [name, amount] : need) available_[name] -= amount;
    request.reserved = true;
  }
  const uint32_t job_id = request.request.job_id();
  Job& job = jobs_[job_id];
  const bool detached_restart = request.request.detached() && !job.executable.empty();
  if (job.ended && !detached_restart) {
    Release(need);
    request.reserved = false;
    Refuse(request, absl::StrCat("job ", job_id, " has ended: its driver is gone"));
    return true;
  }
  if (!job.fetch_error.empty()) {
    Release(need);
    request.reserved = false;
    Refuse(request, job.fetch_error);
    if (ReservedWaitingFor(job_id) == 0) job.fetch_error.clear();  // the next request tries again
    return true;
  }
  if (job.start_failures >= settings_.worker_start_failures_max) {
    Release(need);
    request.reserved = false;
    Refuse(request, absl::StrCat("workers of job ", job_id, " failed to start ", job.start_failures,
                                 " times on node ", settings_.node_id, "; last: ", job.last_start_failure));
    if (ReservedWaitingFor(job_id) == 0) job.start_failures = 0;  // the next request tries again
    return true;
  }
  if (job.executable.empty()) {
    EnsureExecutable(job_id, request.request);
    return false;
  }
  if (Worker* worker = FindIdle(job_id)) {
    Grant(request, *worker);
    return true;
  }
  if (StartingFor(job_id) < ReservedWaitingFor(job_id)) {
    // At the cap, an idle worker of another job makes room, so one job's idle pool cannot starve another.
    if (static_cast<int64_t>(workers_.size()) >= settings_.workers_max) {
      for (auto& [id, other] : workers_) {
        if (other.job_id == job_id || other.state != WorkerState::kIdle) continue;
        launcher_.Kill(other.pid);
        RemoveWorker(id, "stopped to make room for another job's worker");
        break;
      }
    }
    if (static_cast<int64_t>(workers_.size()) < settings_.workers_max) StartWorkers(job_id, 1);
  }
  return false;
}

void LeaseManager::Grant(Request& request, Worker& worker) {
  if (worker.timer) {
    executor_.Cancel(*worker.timer);
    worker.timer.reset();
  }
  worker.state = WorkerState::kLeased;
  const std::string lease_id = random_.HexId(12);
  worker.detached_actor = request.request.detached();
  const std::string lessee = request.request.for_actor() ? std::string() : request.request.lessee_address();
  leases_[lease_id] = Lease{worker.id, Needs(request.request), false, lessee};
  rpc::RequestWorkerLeaseReply reply;
  reply.set_granted(true);
  reply.set_lease_id(lease_id);
  reply.set_worker_id(worker.id);
  reply.set_worker_address(worker.address);
  reply.set_worker_pid(worker.pid);
  reply.set_node_id(settings_.node_id);
  request.reply(reply);
}

void LeaseManager::Refuse(Request& request, const std::string& why) {
  rpc::RequestWorkerLeaseReply reply;
  reply.set_error(why);
  request.reply(reply);
}

void LeaseManager::ReleaseLease(const Lease& lease) {
  if (!lease.blocked) Release(lease.resources);
}

void LeaseManager::SetWorkerBlocked(const std::string& worker_id, bool blocked) {
  for (auto& [id, lease] : leases_) {
    if (lease.worker_id != worker_id || lease.blocked == blocked) continue;
    lease.blocked = blocked;
    if (blocked) {
      Release(lease.resources);
      Dispatch();
    } else {
      for (const auto& [name, amount] : lease.resources) available_[name] -= amount;
    }
    return;
  }
}

void LeaseManager::Release(const std::map<std::string, double>& resources) {
  for (const auto& [name, amount] : resources) {
    available_[name] += amount;
    // Given back more than was taken: some lease's resources were released twice.
    auto offered = settings_.resources.find(name);
    HALO_CHECK(available_[name] <= (offered == settings_.resources.end() ? 0.0 : offered->second) + 1e-6)
        << "node " << settings_.node_id << " has " << available_[name] << " " << name << " available";
  }
}

LeaseManager::Worker* LeaseManager::FindIdle(uint32_t job_id) {
  for (auto& [id, worker] : workers_) {
    if (worker.job_id == job_id && worker.state == WorkerState::kIdle) return &worker;
  }
  return nullptr;
}

int64_t LeaseManager::StartingFor(uint32_t job_id) const {
  int64_t count = 0;
  for (const auto& [id, worker] : workers_) {
    count += worker.job_id == job_id && worker.state == WorkerState::kStarting ? 1 : 0;
  }
  return count;
}

int64_t LeaseManager::ReservedWaitingFor(uint32_t job_id) const {
  int64_t count = 0;
  for (const auto& request : waiting_) count += request.reserved && request.request.job_id() == job_id ? 1 : 0;
  return count;
}

void LeaseManager::EnsureExecutable(uint32_t job_id, const rpc::RequestWorkerLeaseRequest& request) {
  Job& job = jobs_[job_id];
  if (job.fetching || !job.executable.empty()) return;
  job.fetching = true;
  job.executable_sha256 = request.executable_sha256();
  job.driver_address = request.driver_address();
  executables_.Fetch(request.executable_sha256(), request.driver_address(),
                     [this, job_id](StatusOr<std::string> path) {
                       Job& fetched = jobs_[job_id];
                       fetched.fetching = false;
                       if (!path.ok()) {
                         fetched.fetch_error = absl::StrCat("node ", settings_.node_id,
                                                            " could not fetch the executable of job ", job_id, ": ",
                                                            path.status().message());
                         HALO_LOG_WARN("{}", fetched.fetch_error);
                       } else {
                         fetched.executable = *path;
                         if (!fetched.prestarted) {
                           fetched.prestarted = true;
                           StartWorkers(job_id, settings_.num_prestart_workers);
                         }
                       }
                       Dispatch();
                     });
}

void LeaseManager::StartWorkers(uint32_t job_id, int64_t count) {
  const Job& job = jobs_[job_id];
  for (int64_t i = 0; i < count && static_cast<int64_t>(workers_.size()) < settings_.workers_max; ++i) {
    const std::string worker_id = random_.HexId(10);
    std::map<std::string, std::string> env = settings_.worker_env;
    const std::map<std::string, std::string> identity = {
        {"HALO_WORKER_MODE", "1"},
        {"HALO_WORKER_ID", worker_id},
        {"HALO_NODE_ID", settings_.node_id},
        {"HALO_NODE_ADDRESS", settings_.node_address},
        {"HALO_ADDRESS", settings_.gcs_address},
        {"HALO_JOB_ID", std::to_string(job_id)},
        {"HALO_EXECUTABLE_SHA256", job.executable_sha256},
        {"HALO_DRIVER_ADDRESS", job.driver_address},
        {"HALO_WORKER_LEASE_FILE", settings_.worker_lease_file},
    };
    for (const auto& [name, value] : identity) env.insert_or_assign(name, value);
    StatusOr<int> pid = launcher_.Start(job.executable, env, worker_id);
    if (!pid.ok()) {
      Job& failed = jobs_[job_id];
      failed.start_failures += 1;
      failed.last_start_failure = std::string(pid.status().message());
      continue;
    }
    Worker& worker = workers_[worker_id];
    worker.id = worker_id;
    worker.job_id = job_id;
    worker.pid = *pid;
    worker_by_pid_[*pid] = worker_id;
    worker.timer = executor_.RunAfter(settings_.worker_start_timeout_ms,
                                      [this, worker_id] { OnWorkerStartTimeout(worker_id); });
  }
}

bool LeaseManager::RegisterWorker(const std::string& worker_id, const std::string& address, int pid) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.state != WorkerState::kStarting || it->second.pid != pid) return false;
  Worker& worker = it->second;
  worker.address = address;
  jobs_[worker.job_id].start_failures = 0;
  MakeIdle(worker);
  Dispatch();
  return true;
}

void LeaseManager::MakeIdle(Worker& worker) {
  if (worker.timer) executor_.Cancel(*worker.timer);
  worker.state = WorkerState::kIdle;
  worker.timer = executor_.RunAfter(settings_.worker_idle_timeout_ms, [this, id = worker.id] {
    auto it = workers_.find(id);
    if (it == workers_.end() || it->second.state != WorkerState::kIdle) return;
    it->second.timer.reset();
    int64_t of_job = 0;
    for (const auto& [other_id, other] : workers_) of_job += other.job_id == it->second.job_id ? 1 : 0;
    if (of_job > settings_.num_prestart_workers) {
      launcher_.Kill(it->second.pid);
      RemoveWorker(id, "stopped after being idle");
    } else {
      MakeIdle(it->second);
    }
  });
}

void LeaseManager::OnWorkerStartTimeout(const std::string& worker_id) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.state != WorkerState::kStarting) return;
  it->second.timer.reset();
  launcher_.Kill(it->second.pid);
  Job& job = jobs_[it->second.job_id];
  job.start_failures += 1;
  job.last_start_failure = absl::StrCat("worker ", worker_id, " did not register within ",
                                        settings_.worker_start_timeout_ms, " ms");
  RemoveWorker(worker_id, job.last_start_failure);
  Dispatch();
}

void LeaseManager::RemoveWorker(const std::string& worker_id, const std::string& description) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  if (it->second.timer) executor_.Cancel(*it->second.timer);
  bool freed_lease = false;
  if (it->second.state == WorkerState::kLeased) {
    for (auto lease = leases_.begin(); lease != leases_.end(); ++lease) {
      if (lease->second.worker_id != worker_id) continue;
      ReleaseLease(lease->second);
      leases_.erase(lease);
      freed_lease = true;
      break;
    }
  }
  RememberExit(worker_id, description);
  workers_.erase(it);
  if (freed_lease && leases_.empty() && on_idle_) on_idle_();
}

void LeaseManager::ReturnWorker(const std::string& lease_id, bool worker_failed) {
  auto lease = leases_.find(lease_id);
  if (lease == leases_.end()) return;
  const std::string worker_id = lease->second.worker_id;
  ReleaseLease(lease->second);
  leases_.erase(lease);
  auto it = workers_.find(worker_id);
  if (it != workers_.end()) {
    if (worker_failed) {
      launcher_.Kill(it->second.pid);
      RemoveWorker(worker_id, "killed after its lessee saw it fail");
    } else {
      MakeIdle(it->second);
    }
  }
  Dispatch();
  if (leases_.empty() && on_idle_) on_idle_();
}

void LeaseManager::OnWorkerExited(int pid, const std::string& description) {
  auto by_pid = worker_by_pid_.find(pid);
  if (by_pid == worker_by_pid_.end()) return;
  const std::string worker_id = by_pid->second;
  worker_by_pid_.erase(by_pid);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) {
    RememberExit(worker_id, description);  // the exit of a worker already removed says more than why
    return;
  }
  if (it->second.state == WorkerState::kStarting) {
    Job& job = jobs_[it->second.job_id];
    job.start_failures += 1;
    job.last_start_failure = absl::StrCat("worker ", worker_id, " exited before registering: ", description);
  }
  HALO_LOG_INFO("worker {} (pid {}) exited: {}", worker_id, pid, description);
  RemoveWorker(worker_id, description);
  Dispatch();
}

void LeaseManager::AwaitWorkerExit(const std::string& worker_id, int64_t wait_ms,
                                   std::function<void(std::optional<std::string>)> done) {
  std::optional<std::string> now = WorkerExit(worker_id);
  if (!now || !now->empty()) return done(now);
  auto& waiters = exit_waiters_[worker_id];
  waiters.push_back(std::move(done));
  const size_t index = waiters.size() - 1;
  executor_.RunAfter(wait_ms, [this, worker_id, index] {
    auto it = exit_waiters_.find(worker_id);
    if (it == exit_waiters_.end() || index >= it->second.size() || !it->second[index]) return;
    auto waiter = std::move(it->second[index]);
    it->second[index] = nullptr;
    waiter(WorkerExit(worker_id));
  });
}

void LeaseManager::RememberExit(const std::string& worker_id, const std::string& description) {
  if (exits_.count(worker_id) == 0) exit_order_.push_back(worker_id);
  exits_[worker_id] = description;
  auto waiting = exit_waiters_.find(worker_id);
  if (waiting != exit_waiters_.end()) {
    auto waiters = std::move(waiting->second);
    exit_waiters_.erase(waiting);
    for (auto& waiter : waiters) {
      if (waiter) waiter(description);
    }
  }
  while (exit_order_.size() > settings_.worker_exits_remembered) {
    exits_.erase(exit_order_.front());
    exit_order_.pop_front();
  }
}

std::optional<std::string> LeaseManager::WorkerExit(const std::string& worker_id) const {
  if (workers_.count(worker_id) > 0) return std::string();
  auto it = exits_.find(worker_id);
  if (it == exits_.end()) return std::nullopt;
  return it->second;
}

void LeaseManager::OnClusterUpdate(const rpc::PollNodeEventsReply& reply) {
  auto apply = [this](const rpc::NodeInfo& node, bool removed) {
    if (node.node_id() == settings_.node_id) return;
    if (removed || node.state() != rpc::ALIVE) {
      peers_.erase(node.node_id());
      return;
    }
    PeerNode& peer = peers_[node.node_id()];
    peer.address = node.address();
    peer.resources = std::map<std::string, double>(node.resources().begin(), node.resources().end());
  };
  if (reply.snapshot()) {
    peers_.clear();
    for (const auto& node : reply.nodes()) apply(node, false);
  }
  for (const auto& event : reply.events()) apply(event.node(), event.kind() == rpc::NodeEvent::REMOVED);
  Dispatch();
}

void LeaseManager::NoteJob(uint32_t job_id, const std::string& driver_address) {
  Job& job = jobs_[job_id];
  if (job.driver_address.empty()) job.driver_address = driver_address;
}

std::set<std::string> LeaseManager::PeersToWatch() const {
  std::set<std::string> peers;
  for (const auto& [id, job] : jobs_) {
    if (!job.ended && !job.driver_address.empty()) peers.insert(job.driver_address);
  }
  for (const auto& [id, lease] : leases_) {
    if (!lease.lessee.empty()) peers.insert(lease.lessee);
  }
  return peers;
}

void LeaseManager::OnPeerGone(const std::string& address) {
  std::vector<std::string> lost_leases;
  for (const auto& [id, lease] : leases_) {
    if (lease.lessee == address) lost_leases.push_back(id);
  }
  for (const auto& id : lost_leases) {
    HALO_LOG_INFO("lease {} ends: its holder at {} stopped answering", id, address);
    ReturnWorker(id, /*worker_failed=*/true);
  }
  for (auto& [job_id, job] : jobs_) {
    if (job.ended || job.driver_address != address) continue;
    job.ended = true;
    HALO_LOG_INFO("job {} ends on this node: its driver at {} stopped answering", job_id, address);
    std::vector<std::string> doomed;
    bool hosts_detached = false;
    for (const auto& [id, worker] : workers_) {
      if (worker.job_id != job_id) continue;
      if (worker.detached_actor) {
        hosts_detached = true;
      } else {
        doomed.push_back(id);
      }
    }
    for (const auto& id : doomed) {
      launcher_.Kill(workers_[id].pid);
      RemoveWorker(id, "stopped: its job ended");
    }
    if (on_job_ended_) on_job_ended_(job_id);
    if (hosts_detached) continue;  // keeps the executable: a detached actor may restart here
    bool still_needed = false;
    for (const auto& [other_id, other] : jobs_) {
      still_needed |= !other.ended && other.executable_sha256 == job.executable_sha256;
    }
    if (!still_needed && !job.executable_sha256.empty()) executables_.Forget(job.executable_sha256);
    job.executable.clear();
  }
  Dispatch();
}

void LeaseManager::SetDraining(bool draining) {
  draining_ = draining;
  Dispatch();
}

void LeaseManager::Shutdown() {
  for (auto& [id, worker] : workers_) {
    if (worker.timer) executor_.Cancel(*worker.timer);
    launcher_.Kill(worker.pid);
  }
}

}  // namespace halo::node
