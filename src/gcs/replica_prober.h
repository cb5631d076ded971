// How the GCS asks a service replica whether it is healthy: one call of its deployment's health method (the
// bool method HALO_DEPLOYMENT named) straight to the replica's worker. gRPC in production; fakes in tests.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/executor.h"
#include "common/status.h"

namespace halo::gcs {

class ReplicaProber {
 public:
  virtual ~ReplicaProber() = default;
  // done (on the executor) gets true when the method returned true, false when it returned false, threw, or
  // gave no answer within timeout_ms; an error when the call never reached that instance (refused by a
  // newer instance, worker unreachable), which says nothing of the replica's health.
  virtual void Probe(const std::string& worker_address, const std::string& actor_id, int32_t instance,
                     const std::string& method, int64_t timeout_ms, std::function<void(StatusOr<bool>)> done) = 0;
  // The replica is gone: whatever the prober keeps for it can go.
  virtual void Forget(const std::string& actor_id) = 0;
};

// caller_id: this GCS's name as the replicas' caller (unique per GCS incarnation).
std::unique_ptr<ReplicaProber> MakeGrpcReplicaProber(Executor& executor, std::string caller_id);

}  // namespace halo::gcs
