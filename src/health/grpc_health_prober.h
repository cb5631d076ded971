// HealthProber over gRPC: calls grpc.health.v1.Health/Check on the node agent with the probe's deadline,
// one channel per node (reconnecting quickly, so a healthy node is never left in a long reconnect backoff,
// and never abandoning a connection attempt sooner than the probe timeout).
// Results are posted back to the GCS executor.
#pragma once

#include <map>
#include <memory>

#include "common/executor.h"
#include "health/health_check_manager.h"

namespace halo::health {

class GrpcHealthProber : public HealthProber {
 public:
  explicit GrpcHealthProber(Executor& executor);
  ~GrpcHealthProber() override;
  void Probe(const std::string& node_id, const std::string& address, int64_t timeout_ms,
             std::function<void(bool healthy)> done) override;
  void Forget(const std::string& node_id) override;

 private:
  struct Connection;
  struct Guard;
  std::shared_ptr<Guard> guard_;
  std::map<std::string, std::shared_ptr<Connection>> connections_;
};

}  // namespace halo::health
