#include "gcs/service_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/logging.h"
#include "gcs/table_names.h"
#include "google/protobuf/util/message_differencer.h"

namespace halo::gcs {
namespace {

constexpr char kReplicaNamespace[] = "serve";

bool Live(rpc::ActorState state) { return state != rpc::ACTOR_DEAD; }

// A route prefix with its trailing slashes removed ("/" stays "/"), for comparing two services' routes.
std::string NormalPrefix(std::string prefix) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  return prefix;
}

}  // namespace

ServiceManager::ServiceManager(ServiceManagerDeps deps, ServiceManagerSettings settings)
    : deps_(deps), settings_(settings) {
  HALO_CHECK(deps_.store && deps_.executor && deps_.clock && deps_.random && deps_.actors && deps_.jobs &&
             deps_.nodes && deps_.executables)
      << "the service manager needs every dependency but the prober";
  incarnation_ = deps_.random->HexId(8);
  reconciler_ = std::make_unique<serve::DeploymentReconciler>(*deps_.executor, *deps_.clock, *this,
                                                              settings_.reconciler);
  routes_.set_incarnation(incarnation_);
  routes_.set_version(routes_version_);
}

ServiceManager::~ServiceManager() { *alive_ = false; }

void ServiceManager::SetEventLog(EventLog* events) {
  if (events == nullptr) return reconciler_->SetReplacedListener(nullptr);
  reconciler_->SetReplacedListener([events](const std::string& key, const std::string& actor_id, const std::string& why) {
    rpc::ClusterEvent event =
        MakeEvent(rpc::EVENT_REPLICA_REPLACED, absl::StrCat("replica ", actor_id, " of ", key, " is replaced: ", why));
    event.set_actor_id(actor_id);
    event.set_service(key);
    events->Record(std::move(event));
  });
}

Status ServiceManager::Initialize(const KeyValueMap& rows) {
  for (const auto& [name, row] : rows) {
    Service service;
    if (!service.record.ParseFromString(row)) {
      return DataLossError(absl::StrCat("the stored service '", name, "' is corrupt"));
    }
    service.written = row;
    services_[name] = std::move(service);
  }
  IndexReplicas();
  return OkStatus();
}

void ServiceManager::Start() {
  HALO_CHECK(!started_);
  started_ = true;
  for (const auto& [name, service] : services_) {
    reconciler_->Deploy(service.record.config(), service.record.version());
    for (const auto& replica : service.record.replicas()) {
      reconciler_->Adopt(name, replica.deployment(), replica.actor_id(), replica.version());
    }
  }
  if (!services_.empty()) {
    HALO_LOG_INFO("services: {} reloaded, their replicas handed back to the reconciler", services_.size());
  }
  RefreshRoutes();
  reconciler_->Start();
  deps_.executor->RunAfter(settings_.reconciler.interval_ms, [this, alive = alive_] {
    if (*alive) Tick();
  });
}

void ServiceManager::Tick() {
  const int64_t now_ms = deps_.clock->MonotonicMs();
  FeedOngoing(now_ms);
  ProbeDue(now_ms);
  for (auto& [name, service] : services_) {
    FinishRetiredJobs(name, service);
    Persist(name);
  }
  // Replicas the reconciler forgot (dead for good, stopped) leave the index with their rows.
  IndexReplicas();
  RefreshRoutes();
  deps_.executor->RunAfter(settings_.reconciler.interval_ms, [this, alive = alive_] {
    if (*alive) Tick();
  });
}

void ServiceManager::FinishRetiredJobs(const std::string& name, Service& service) {
  if (service.record.retiring_jobs().empty()) return;
  // Replicas listed in the row now, and those whose creation is under way (not listed by the reconciler yet).
  const rpc::ServiceRecord current = CurrentRecord(service);
  auto* retiring = service.record.mutable_retiring_jobs();
  for (int i = retiring->size() - 1; i >= 0; --i) {
    const rpc::RetiringJob job = retiring->Get(i);
    const bool still_runs = std::any_of(current.replicas().begin(), current.replicas().end(),
                                        [&](const rpc::ServiceReplica& r) { return r.version() < job.below_version(); });
    if (still_runs) continue;
    retiring->DeleteSubrange(i, 1);  // the row is written right after (Persist)
    HALO_LOG_INFO("service {}: no replica of job {} is left; the job is finished", name, job.job_id());
    deps_.jobs->HandleMarkJobFinished(
        job.job_id(), absl::StrCat("service ", name, " rolled over to version ", job.below_version()),
        [job_id = job.job_id()](Status status) {
          if (!status.ok()) HALO_LOG_WARN("cannot mark job {} finished: {}", job_id, std::string(status.message()));
        });
  }
}

void ServiceManager::IndexReplicas() {
  replica_service_.clear();
  for (const auto& [name, service] : services_) {
    for (const auto& replica : service.record.replicas()) {
      replica_service_[replica.actor_id()] = ReplicaOf{name, replica.deployment()};
    }
  }
  for (auto it = health_.begin(); it != health_.end();) {
    if (replica_service_.count(it->first) > 0) {
      ++it;
      continue;
    }
    if (deps_.prober != nullptr) deps_.prober->Forget(it->first);
    it = health_.erase(it);
  }
}

const rpc::DeploymentConfig* ServiceManager::FindDeployment(const std::string& service,
                                                            const std::string& deployment) const {
  auto it = services_.find(service);
  if (it == services_.end()) return nullptr;
  for (const auto& application : it->second.record.config().applications()) {
    for (const auto& config : application.deployments()) {
      if (config.name() == deployment) return &config;
    }
  }
  return nullptr;
}

// ---- deploy and delete ----

void ServiceManager::HandleDeploy(rpc::DeployServiceRequest request, std::function<void(StatusOr<int64_t>)> done) {
  const rpc::ServiceConfig& config = request.config();
  if (config.name().empty()) return done(InvalidArgumentError("a service needs a name"));
  std::set<std::string> prefixes;
  for (const auto& application : config.applications()) {
    const std::string prefix = NormalPrefix(application.route_prefix());
    if (!prefixes.insert(prefix).second) {
      return done(InvalidArgumentError(absl::StrCat("route prefix '", prefix, "' is used twice in service '",
                                                    config.name(), "'")));
    }
    if (application.deployments().empty()) {
      return done(InvalidArgumentError(absl::StrCat("application '", application.name(), "' has no deployment")));
    }
    for (const auto& deployment : application.deployments()) {
      if (deployment.factory().empty() || deployment.handler().empty()) {
        return done(InvalidArgumentError(absl::StrCat(
            "deployment '", deployment.name(),
            "' lacks its factory or handler (deploy with `halo serve deploy`, which asks the executable)")));
      }
    }
  }
  for (const auto& [name, other] : services_) {
    if (name == config.name()) continue;
    for (const auto& application : other.record.config().applications()) {
      const std::string prefix = NormalPrefix(application.route_prefix());
      if (prefixes.count(prefix) > 0) {
        return done(InvalidArgumentError(
            absl::StrCat("route prefix '", prefix, "' is already served by service '", name, "'")));
      }
    }
  }
  auto existing = services_.find(config.name());
  if (existing != services_.end()) {
    const rpc::ServiceRecord& record = existing->second.record;
    if (record.executable_sha256() == request.executable_sha256() &&
        google::protobuf::util::MessageDifferencer::Equals(record.config(), config)) {
      return done(record.version());  // the same again: nothing to roll out
    }
  }
  const std::string sha = request.executable_sha256();
  deps_.executables->HandleInfo(sha, [this, alive = alive_, request = std::move(request),
                                      done = std::move(done)](StatusOr<rpc::GetExecutableInfoReply> info) mutable {
    if (!*alive) return;
    if (!info.ok()) return done(info.status());
    if (!info->present()) {
      return done(InvalidArgumentError(absl::StrCat("executable ", request.executable_sha256(),
                                                    " is not in the cluster's executable store (upload it first)")));
    }
    auto it = services_.find(request.config().name());
    if (it != services_.end() && it->second.record.executable_sha256() == request.executable_sha256()) {
      return FinishDeploy(std::move(request), it->second.record.job_id(), std::move(done));
    }
    // A new executable runs in workers of a job of its own (a node keeps one executable per job).
    // Named before the call: its other argument takes the request.
    const std::string job_entrypoint = absl::StrCat("service ", request.config().name(), " (", request.entrypoint(), ")");
    deps_.jobs->HandleAddJob(
        job_entrypoint, 0, "",
        [this, alive, request = std::move(request), done = std::move(done)](StatusOr<rpc::JobInfo> job) mutable {
          if (!*alive) return;
          if (!job.ok()) return done(job.status());
          FinishDeploy(std::move(request), job->job_id(), std::move(done));
        });
  });
}

void ServiceManager::FinishDeploy(rpc::DeployServiceRequest request, uint32_t job_id,
                                  std::function<void(StatusOr<int64_t>)> done) {
  const std::string name = request.config().name();
  Service& service = services_[name];
  const int64_t version = service.record.version() + 1;
  if (service.record.version() > 0 && service.record.job_id() != job_id) {
    // The replicas of the earlier executable keep serving until the rollout replaces them; their job ends then.
    rpc::RetiringJob* retiring = service.record.add_retiring_jobs();
    retiring->set_job_id(service.record.job_id());
    retiring->set_below_version(version);
  }
  service.record.set_version(version);
  *service.record.mutable_config() = request.config();
  service.record.set_executable_sha256(request.executable_sha256());
  service.record.set_job_id(job_id);
  service.record.set_entrypoint(request.entrypoint());
  service.record.set_deployed_time_ms(deps_.clock->WallMs());
  // The reconciler hears of the version only once it is durable: a deploy acknowledged is never lost.
  Persist(name, [this, alive = alive_, name, version, done = std::move(done)](Status status) {
    if (!*alive) return;
    if (!status.ok()) return done(status);
    auto it = services_.find(name);
    if (it == services_.end()) return done(FailedPreconditionError(absl::StrCat("service '", name, "' was deleted meanwhile")));
    HALO_LOG_INFO("service {} deployed at version {}", name, version);
    reconciler_->Deploy(it->second.record.config(), version);
    RefreshRoutes();
    done(version);
  });
}

void ServiceManager::HandleDelete(const std::string& name, std::function<void(Status)> done) {
  auto it = services_.find(name);
  if (it == services_.end()) return done(NotFoundError(absl::StrCat("no service '", name, "' is deployed")));
  reconciler_->Delete(name);  // stops every replica
  std::vector<uint32_t> job_ids = {it->second.record.job_id()};
  for (const auto& retiring : it->second.record.retiring_jobs()) job_ids.push_back(retiring.job_id());
  services_.erase(it);
  for (auto r = replica_service_.begin(); r != replica_service_.end();) {
    r = r->second.service == name ? replica_service_.erase(r) : std::next(r);
  }
  RefreshRoutes();
  deps_.store->AsyncDelete(kServiceTable, name,
                           [this, alive = alive_, name, job_ids, done = std::move(done)](StatusOr<bool> deleted) {
                             if (!*alive) return;
                             if (!deleted.ok()) return done(deleted.status());
                             HALO_LOG_INFO("service {} deleted", name);
                             for (uint32_t job_id : job_ids) {
                               deps_.jobs->HandleMarkJobFinished(job_id, absl::StrCat("service ", name, " deleted"),
                                                                 [](Status) {});
                             }
                             done(OkStatus());
                           });
}

// ---- the rows ----

rpc::ServiceRecord ServiceManager::CurrentRecord(const Service& service) const {
  rpc::ServiceRecord record = service.record;
  record.clear_replicas();
  std::set<std::string> listed;
  if (started_) {
    for (const auto& member : reconciler_->Members(record.config().name())) {
      rpc::ServiceReplica* replica = record.add_replicas();
      replica->set_deployment(member.deployment);
      replica->set_actor_id(member.actor_id);
      replica->set_version(member.version);
      listed.insert(member.actor_id);
    }
  } else {
    for (const auto& replica : service.record.replicas()) {
      *record.add_replicas() = replica;
      listed.insert(replica.actor_id());
    }
  }
  for (const auto& replica : service.record.replicas()) {
    if (service.creating.count(replica.actor_id()) > 0 && listed.count(replica.actor_id()) == 0) {
      *record.add_replicas() = replica;
    }
  }
  return record;
}

void ServiceManager::Persist(const std::string& name, std::function<void(Status)> then) {
  auto it = services_.find(name);
  if (it == services_.end()) {
    if (then) then(OkStatus());
    return;
  }
  rpc::ServiceRecord record = CurrentRecord(it->second);
  std::string row = record.SerializeAsString();
  if (row == it->second.written) {
    if (then) then(OkStatus());
    return;
  }
  it->second.written = row;
  *it->second.record.mutable_replicas() = record.replicas();
  deps_.store->AsyncPut(kServiceTable, name, std::move(row), true,
                        [this, alive = alive_, name, then = std::move(then)](StatusOr<bool> written) {
                          if (!*alive) return;
                          if (!written.ok()) {
                            HALO_LOG_ERROR("cannot store service {}: {}", name, std::string(written.status().message()));
                          }
                          if (then) then(written.status());
                          if (!written.ok() && on_storage_failure_) on_storage_failure_(written.status());
                        });
}

// ---- replicas (ReplicaDirectory) ----

void ServiceManager::Create(const std::string& service_name, const rpc::DeploymentConfig& deployment, int64_t version,
                            const std::set<std::string>& avoid_nodes, std::function<void(StatusOr<std::string>)> done) {
  auto it = services_.find(service_name);
  if (it == services_.end()) {
    return deps_.executor->Post([done = std::move(done), service_name] {
      done(NotFoundError(absl::StrCat("service '", service_name, "' is gone")));
    });
  }
  Service& service = it->second;
  const std::string actor_id = absl::StrCat("5e", deps_.random->HexId(13));
  rpc::ActorInfo info;
  info.set_actor_id(actor_id);
  info.set_namespace_(kReplicaNamespace);
  info.set_job_id(service.record.job_id());
  info.set_detached(true);
  info.set_max_restarts(-1);
  info.set_max_task_retries(0);
  info.set_class_name(absl::StrCat("serve:", service_name, "/", deployment.name()));
  info.set_executable_sha256(service.record.executable_sha256());
  for (const auto& node : avoid_nodes) info.add_avoid_node_ids(node);
  rpc::TaskSpec* creation = info.mutable_creation();
  creation->set_task_id(actor_id);
  creation->set_job_id(service.record.job_id());
  creation->set_function_name(deployment.factory());
  creation->set_name(info.class_name());
  for (const auto& [resource, amount] : deployment.resources()) {
    if (amount > 0) (*creation->mutable_resources())[resource] = amount;
  }
  for (const auto& packed : deployment.packed_args()) creation->add_args()->set_value(packed);

  rpc::ServiceReplica* replica = service.record.add_replicas();
  replica->set_deployment(deployment.name());
  replica->set_actor_id(actor_id);
  replica->set_version(version);
  HALO_CHECK(replica_service_.count(actor_id) == 0) << "replica id " << actor_id << " made twice";
  service.creating.insert(actor_id);
  replica_service_[actor_id] = ReplicaOf{service_name, deployment.name()};
  // The row names the replica before its actor exists.
  Persist(service_name, [this, alive = alive_, service_name, actor_id, info = std::move(info),
                         done = std::move(done)](Status stored) mutable {
    if (!*alive) return;
    auto forget = [this, service_name, actor_id] {
      auto it = services_.find(service_name);
      if (it != services_.end()) it->second.creating.erase(actor_id);
    };
    if (!stored.ok()) {
      forget();
      return done(stored);
    }
    deps_.actors->HandleRegister(std::move(info), /*dependencies_ready=*/true,
                                 [this, alive, forget, actor_id, done = std::move(done)](Status registered) {
                                   if (!*alive) return;
                                   forget();
                                   if (!registered.ok()) return done(registered);
                                   done(actor_id);
                                 });
  });
}

void ServiceManager::Stop(const std::string& actor_id) {
  health_.erase(actor_id);
  if (deps_.prober != nullptr) deps_.prober->Forget(actor_id);
  deps_.actors->HandleKill(actor_id, /*no_restart=*/true, /*out_of_scope=*/false,
                           [actor_id](Status status) {
                             if (!status.ok() && status.code() != absl::StatusCode::kNotFound) {
                               HALO_LOG_WARN("could not stop replica {}: {}", actor_id, std::string(status.message()));
                             }
                           });
  // The reconciler drops it from its list right after this call: the row is rewritten at the next tick.
}

std::optional<serve::ReplicaView> ServiceManager::Describe(const std::string& actor_id) const {
  const rpc::ActorInfo* actor = deps_.actors->Published(actor_id);
  if (actor == nullptr) return std::nullopt;
  serve::ReplicaView view;
  view.state = actor->state();
  view.node_id = actor->state() == rpc::ACTOR_ALIVE ? actor->node_id() : "";
  auto health = health_.find(actor_id);
  view.healthy = health == health_.end() || health->second.instance != actor->num_restarts() ||
                 health->second.failures < settings_.health_failure_threshold;
  if (!view.node_id.empty()) {
    const rpc::NodeInfo* node = deps_.nodes->Find(view.node_id);
    view.node_draining = node != nullptr && node->state() == rpc::DRAINING;
  }
  return view;
}

// ---- health checks and load ----

void ServiceManager::ProbeDue(int64_t now_ms) {
  if (deps_.prober == nullptr) return;
  for (const auto& [actor_id, replica] : replica_service_) {
    const rpc::ActorInfo* actor = deps_.actors->Published(actor_id);
    if (actor == nullptr || actor->state() != rpc::ACTOR_ALIVE || actor->address().empty()) continue;
    const rpc::DeploymentConfig* config = FindDeployment(replica.service, replica.deployment);
    if (config == nullptr || config->health_method().empty()) continue;
    Health& health = health_[actor_id];
    if (health.instance != actor->num_restarts()) {
      health = Health{actor->num_restarts(), 0, false, now_ms + config->health_check_period_ms()};
      continue;  // a new instance gets one period before its first check
    }
    if (health.probing || now_ms < health.next_probe_ms) continue;
    health.probing = true;
    health.next_probe_ms = now_ms + config->health_check_period_ms();
    const int32_t instance = actor->num_restarts();
    deps_.prober->Probe(actor->address(), actor_id, instance, config->health_method(),
                        config->health_check_timeout_ms(),
                        [this, alive = alive_, actor_id, instance](StatusOr<bool> healthy) {
                          if (!*alive) return;
                          auto it = health_.find(actor_id);
                          if (it == health_.end() || it->second.instance != instance) return;
                          it->second.probing = false;
                          if (!healthy.ok()) return;  // never reached it: no verdict
                          if (*healthy) {
                            it->second.failures = 0;
                            return;
                          }
                          it->second.failures += 1;
                          HALO_LOG_WARN("replica {} failed its health check ({} in a row)", actor_id,
                                        it->second.failures);
                        });
  }
}

void ServiceManager::HandleReportOngoing(const rpc::ReportOngoingRequest& request) {
  LoadReport& report = loads_[request.node_id()];
  report.received_ms = deps_.clock->MonotonicMs();
  report.ongoing.clear();
  for (const auto& [actor_id, ongoing] : request.ongoing()) {
    if (replica_service_.count(actor_id) > 0) report.ongoing[actor_id] = ongoing;
  }
}

void ServiceManager::FeedOngoing(int64_t now_ms) {
  std::map<std::string, int64_t> total;
  for (auto it = loads_.begin(); it != loads_.end();) {
    if (now_ms - it->second.received_ms > settings_.ongoing_report_stale_ms) {
      it = loads_.erase(it);
      continue;
    }
    for (const auto& [actor_id, ongoing] : it->second.ongoing) total[actor_id] += ongoing;
    ++it;
  }
  for (const auto& [actor_id, replica] : replica_service_) {
    auto found = total.find(actor_id);
    reconciler_->ReportOngoing(actor_id, found == total.end() ? 0 : found->second);
  }
}

// ---- routes ----

rpc::GetRoutesReply ServiceManager::Routes() const {
  rpc::GetRoutesReply reply;
  reply.set_incarnation(incarnation_);
  for (const auto& [name, service] : services_) {
    for (const auto& application : service.record.config().applications()) {
      if (application.deployments().empty()) continue;
      const rpc::DeploymentConfig& first = application.deployments(0);  // the application's entry
      rpc::DeploymentRouteInfo* route = reply.add_routes();
      route->set_service(name);
      route->set_application(application.name());
      route->set_deployment(first.name());
      route->set_route_prefix(application.route_prefix());
      route->set_max_ongoing_requests(first.max_ongoing_requests());
      route->set_handler(first.handler());
      for (const auto& actor_id : reconciler_->Replicas(name, first.name())) {
        const rpc::ActorInfo* actor = deps_.actors->Published(actor_id);
        if (actor == nullptr || actor->state() != rpc::ACTOR_ALIVE || actor->address().empty()) continue;
        std::optional<serve::ReplicaView> view = Describe(actor_id);
        rpc::ReplicaRoute* replica = route->add_replicas();
        replica->set_actor_id(actor_id);
        replica->set_address(actor->address());
        replica->set_instance(actor->num_restarts());
        replica->set_healthy(view && view->healthy);
      }
    }
  }
  return reply;
}

void ServiceManager::RefreshRoutes() {
  rpc::GetRoutesReply fresh = Routes();
  fresh.set_version(routes_version_);
  if (fresh.SerializeAsString() == routes_.SerializeAsString()) return;
  routes_version_ += 1;
  fresh.set_version(routes_version_);
  routes_ = std::move(fresh);
  AnswerWaiters();
}

void ServiceManager::OnActorChanged(const rpc::ActorInfo& actor) {
  if (replica_service_.count(actor.actor_id()) == 0 || routes_refresh_posted_) return;
  // Coalesced: one refresh for the changes of one turn of the executor.
  routes_refresh_posted_ = true;
  deps_.executor->Post([this, alive = alive_] {
    if (!*alive) return;
    routes_refresh_posted_ = false;
    RefreshRoutes();
  });
}

void ServiceManager::HandleGetRoutes(const rpc::GetRoutesRequest& request,
                                     std::function<void(StatusOr<rpc::GetRoutesReply>)> done) {
  const bool current = request.incarnation() == incarnation_ && request.known_version() == routes_version_;
  if (!current || request.wait_ms() <= 0 || waiters_released_ ||
      static_cast<int64_t>(waiters_.size()) >= settings_.route_waiters_max) {
    return done(routes_);
  }
  const uint64_t id = next_waiter_++;
  RouteWaiter& waiter = waiters_[id];
  waiter.done = std::move(done);
  waiter.timer = deps_.executor->RunAfter(std::min(request.wait_ms(), settings_.routes_wait_max_ms),
                                          [this, alive = alive_, id] {
                                            if (!*alive) return;
                                            auto it = waiters_.find(id);
                                            if (it == waiters_.end()) return;
                                            auto answer = std::move(it->second.done);
                                            waiters_.erase(it);
                                            answer(routes_);
                                          });
}

void ServiceManager::AnswerWaiters() {
  std::map<uint64_t, RouteWaiter> ready;
  ready.swap(waiters_);
  for (auto& [id, waiter] : ready) {
    deps_.executor->Cancel(waiter.timer);
    waiter.done(routes_);
  }
}

void ServiceManager::ReleaseWaiters() {
  waiters_released_ = true;
  AnswerWaiters();
}

// ---- status ----

StatusOr<rpc::GetServiceStatusReply> ServiceManager::ServiceStatus(const std::string& name) const {
  if (!name.empty() && services_.count(name) == 0) {
    return NotFoundError(absl::StrCat("no service '", name, "' is deployed"));
  }
  rpc::GetServiceStatusReply reply;
  const std::vector<serve::DeploymentStatus> deployments = reconciler_->Status();
  for (const auto& [service_name, service] : services_) {
    if (!name.empty() && service_name != name) continue;
    rpc::ServiceStatusInfo* info = reply.add_services();
    info->set_name(service_name);
    info->set_version(service.record.version());
    info->set_executable_sha256(service.record.executable_sha256());
    info->set_entrypoint(service.record.entrypoint());
    info->set_deployed_time_ms(service.record.deployed_time_ms());
    for (const auto& application : service.record.config().applications()) {
      for (const auto& config : application.deployments()) {
        rpc::DeploymentStatusInfo* out = info->add_deployments();
        out->set_name(config.name());
        out->set_route_prefix(application.route_prefix());
        for (const auto& status : deployments) {
          if (status.service != service_name || status.deployment != config.name()) continue;
          out->set_target(status.target);
          out->set_healthy(status.healthy);
          out->set_starting(status.starting);
          out->set_replaced(status.replaced);
          for (const auto& node : status.nodes) out->add_nodes(node);
        }
        for (const auto& replica : service.record.replicas()) {
          if (replica.deployment() != config.name()) continue;
          const rpc::ActorInfo* actor = deps_.actors->Published(replica.actor_id());
          if (actor == nullptr || !Live(actor->state())) continue;
          rpc::ReplicaStatusInfo* one = out->add_replicas();
          one->set_actor_id(replica.actor_id());
          one->set_state(ActorStateName(actor->state()));
          one->set_node_id(actor->node_id());
          one->set_restarts(actor->num_restarts());
          std::optional<serve::ReplicaView> view = Describe(replica.actor_id());
          one->set_healthy(view && view->healthy);
          one->set_version(replica.version());
        }
      }
    }
  }
  return reply;
}

}  // namespace halo::gcs
