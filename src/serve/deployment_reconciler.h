// Keeps every deployment of the deployed services at its target, one decision round every interval_ms:
// - replicas that died for good, or whose health checks fail, are stopped and replaced;
// - a new version (a redeploy) rolls out one replica at a time: a new-version replica is started, and an old
//   one stopped only once the new one is ALIVE, so capacity never drops below the target;
// - a replica on a draining node is replaced the same way (start the new one elsewhere, then stop the old);
// - new replicas are asked to avoid the nodes that already hold one of the deployment (spreading);
// - with autoscaling, the target is ceil(ongoing requests / target_ongoing_requests) within [min, max];
//   it goes up at once and down only after it has wanted less for downscale_delay_ms.
// At most max_starts_per_round replicas are being started per deployment at once. Event-driven on one
// executor; the replicas (actors) are reached through ReplicaDirectory, time through the Clock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/executor.h"
#include "common/status.h"
#include "proto/core.pb.h"
#include "proto/serve.pb.h"

namespace halo::serve {

// What the reconciler knows of one replica from the actor directory and the ingresses.
struct ReplicaView {
  rpc::ActorState state = rpc::PENDING_CREATION;
  std::string node_id;         // where it lives ("" while placed)
  bool healthy = true;         // its health check answers
  bool node_draining = false;  // its node is leaving
};

class ReplicaDirectory {
 public:
  virtual ~ReplicaDirectory() = default;
  // Starts a replica (a detached actor) of deployment; done gets its actor id. avoid_nodes: a placement wish.
  virtual void Create(const std::string& service, const rpc::DeploymentConfig& deployment, int64_t version,
                      const std::set<std::string>& avoid_nodes, std::function<void(StatusOr<std::string>)> done) = 0;
  virtual void Stop(const std::string& actor_id) = 0;
  // nullopt: the directory no longer knows it (gone).
  virtual std::optional<ReplicaView> Describe(const std::string& actor_id) const = 0;
};

struct ReconcilerSettings {
  int64_t interval_ms = 500;
  int64_t downscale_delay_ms = 30000;
  int64_t max_starts_per_round = 4;
};

// One deployment as `halo serve status` shows it.
struct DeploymentStatus {
  std::string service;
  std::string deployment;
  int64_t version = 0;
  int64_t target = 0;
  int64_t healthy = 0;   // ALIVE and answering health checks, current version
  int64_t starting = 0;
  int64_t replaced = 0;  // replicas stopped because they died, failed health checks or drained
  std::vector<std::string> actor_ids;
  std::set<std::string> nodes;
};

// One replica the reconciler keeps, as the GCS stores it to hand back with Adopt after a restart.
struct ReplicaMember {
  std::string deployment;
  std::string actor_id;
  int64_t version = 0;
};

class DeploymentReconciler {
 public:
  DeploymentReconciler(Executor& executor, Clock& clock, ReplicaDirectory& replicas, ReconcilerSettings settings);
  // Rounds and answers still queued on the executor are dropped.
  ~DeploymentReconciler();

  // Deploys (or redeploys, with a higher version) a service; its deployments absent from the new config are
  // stopped. Replicas it already has (recovered from storage) can be handed back with Adopt.
  void Deploy(const rpc::ServiceConfig& config, int64_t version);
  void Adopt(const std::string& service, const std::string& deployment, const std::string& actor_id, int64_t version);
  void Delete(const std::string& service);
  // The ingresses' count of requests in flight to a replica (autoscaling).
  void ReportOngoing(const std::string& actor_id, int64_t ongoing);
  // Hears of every replica replaced: deployment key (service/deployment), its actor id and why. Optional.
  using ReplacedListener =
      std::function<void(const std::string& key, const std::string& actor_id, const std::string& why)>;
  void SetReplacedListener(ReplacedListener listener) { on_replaced_ = std::move(listener); }
  // Starts the rounds. One round also runs at once.
  void Start();
  void ReconcileNow();

  std::vector<DeploymentStatus> Status() const;
  // The replicas of every deployment (ALIVE ones first), for routes.
  std::vector<std::string> Replicas(const std::string& service, const std::string& deployment) const;
  // Every replica the service's deployments keep (not those whose Create is unanswered).
  std::vector<ReplicaMember> Members(const std::string& service) const;

 private:
  struct Replica {
    std::string actor_id;
    int64_t version = 0;
    int64_t ongoing = 0;
  };
  struct Deployment {
    std::string service;
    rpc::DeploymentConfig config;
    int64_t version = 0;
    std::vector<Replica> replicas;
    int64_t starting = 0;  // Create calls not answered yet
    int64_t replaced = 0;
    int64_t autoscale_target = -1;
    int64_t last_target = 0;
    std::optional<int64_t> wants_fewer_since_ms;
  };
  static std::string Key(const std::string& service, const std::string& deployment) {
    return service + "/" + deployment;
  }
  void Reconcile(Deployment& deployment);
  int64_t Target(Deployment& deployment, int64_t now_ms);
  void StartOne(const std::string& key, Deployment& deployment, const std::set<std::string>& avoid);
  void StopReplica(Deployment& deployment, size_t index);
  void Schedule();

  Executor& executor_;
  Clock& clock_;
  ReplicaDirectory& directory_;
  ReconcilerSettings settings_;
  std::map<std::string, Deployment> deployments_;  // by service/deployment
  bool started_ = false;
  ReplacedListener on_replaced_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace halo::serve
