// Where the ingress sends a request: each application's route prefix leads to one deployment, and each
// deployment has replicas (actors) with their addresses, health and ongoing requests. A request goes to the
// deployment whose prefix is the longest match on whole path segments ("/hello" matches "/hello" and
// "/hello/x", not "/helloworld"; "/" matches everything), and within it to the healthy replica with fewer
// ongoing requests of two picked at random (the power of two choices), skipping replicas already at
// max_ongoing_requests and those a caller has excluded (tried already).
// Thread-safe: routes change from the node's executor while ingress threads pick.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/random.h"

namespace halo::serve {

struct ReplicaInfo {
  std::string replica_id;  // the actor's id
  std::string address;     // its worker's address
  bool healthy = true;
  int32_t instance = 0;    // the actor's num_restarts: its worker refuses calls meant for another instance
  std::string handler;     // the deployment's handler method ("&Greeter::Handle"); "": the caller's default
};

struct DeploymentRoute {
  std::string service;
  std::string application;
  std::string deployment;
  std::string route_prefix;  // "/hello", or "/" for everything
  int64_t max_ongoing_requests = 100;
  std::vector<ReplicaInfo> replicas;
};

class RouteTable {
 public:
  explicit RouteTable(RandomSource& random) : random_(random) {}

  // Replaces every route (a resync from the GCS). Ongoing counts of replicas that stay are kept.
  void Replace(std::vector<DeploymentRoute> routes);
  // A replica turned out dead or unreachable (its connection broke): skipped until the next Replace says
  // otherwise.
  void MarkUnhealthy(const std::string& replica_id);

  enum class Outcome { kPicked, kNoRoute, kNoHealthyReplica, kAllBusy };
  struct Pick {
    Outcome outcome = Outcome::kNoRoute;
    std::string route_prefix;
    std::string deployment;
    ReplicaInfo replica;  // kPicked: the chosen one, whose ongoing count was taken (give it back with Done)
  };
  // Chooses a replica for path, except those in exclude.
  Pick Choose(const std::string& path, const std::set<std::string>& exclude = {});
  // The request picked for replica_id finished (however it ended).
  void Done(const std::string& replica_id);

  int64_t ongoing(const std::string& replica_id) const;
  // Requests in flight to every replica of the table.
  std::map<std::string, int64_t> AllOngoing() const;
  size_t routes() const;

 private:
  struct Replica {
    ReplicaInfo info;
    int64_t ongoing = 0;
  };
  struct Route {
    DeploymentRoute route;
    std::vector<std::string> replica_ids;
  };
  static bool Matches(const std::string& prefix, const std::string& path);

  RandomSource& random_;
  mutable std::mutex mutex_;
  std::vector<Route> routes_;
  std::map<std::string, Replica> replicas_;  // by replica id
};

}  // namespace halo::serve
