// How a node agent starts and stops worker processes and obtains the executables they run. Real processes
// and gRPC fetches in production; fakes in unit tests.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "common/status.h"

namespace halo::node {

class WorkerLauncher {
 public:
  virtual ~WorkerLauncher() = default;
  // Starts executable in worker mode with env added to the agent's own environment; returns its pid.
  virtual StatusOr<int> Start(const std::string& executable, const std::map<std::string, std::string>& env,
                              const std::string& worker_id) = 0;
  virtual void Kill(int pid) = 0;
};

class ExecutableStore {
 public:
  virtual ~ExecutableStore() = default;
  // done (on the agent's executor) gets the local path of the executable whose SHA-256 is sha256, fetched
  // from the driver's core worker at driver_address if this node does not have it yet.
  virtual void Fetch(const std::string& sha256, const std::string& driver_address,
                     std::function<void(StatusOr<std::string>)> done) = 0;
  // No live job needs it any more: the cached copy may go.
  virtual void Forget(const std::string& sha256) = 0;
};

}  // namespace halo::node
