// Owns the cluster's identity. On first start over empty storage it creates a cluster id and records the
// storage format; on later starts it checks that the storage was written by a compatible format and keeps
// the stored id. Event-driven: runs on the GCS executor, touches storage only through StoreClient.
#pragma once

#include <functional>
#include <string>

#include "common/executor.h"
#include "common/random.h"
#include "storage/store_client.h"

namespace halo::gcs {

class ClusterManager {
 public:
  ClusterManager(StoreClient& store, Clock& clock, RandomSource& random)
      : store_(store), clock_(clock), random_(random) {}

  // meta: the loaded META table. done(Ok) once the identity is known and durable; FailedPrecondition if the
  // storage holds an incompatible format.
  void Initialize(const KeyValueMap& meta, std::function<void(Status)> done);

  const std::string& cluster_id() const { return cluster_id_; }
  int64_t created_ms() const { return created_ms_; }

 private:
  StoreClient& store_;
  Clock& clock_;
  RandomSource& random_;
  std::string cluster_id_;
  int64_t created_ms_ = 0;
};

}  // namespace halo::gcs
