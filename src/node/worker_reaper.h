// Reaps the node agent's exited children (its workers) as SIGCHLD arrives and reports each exit, with how it
// ended ("exited with code 3", "killed by signal 9 (Killed)"), on the executor's loop. One reaper per
// process; it reaps every child, so nothing else in the process may wait for children.
#pragma once

#include <boost/asio/signal_set.hpp>

#include <functional>
#include <string>

#include "common/asio_executor.h"

namespace halo::node {

class WorkerReaper {
 public:
  WorkerReaper(AsioExecutor& executor, std::function<void(int pid, const std::string& description)> exited);
  // Reaps children that already exited, then every later exit, each reported on the loop. Call once.
  void Start();

 private:
  void ReapExited();
  void Arm();

  AsioExecutor& executor_;
  boost::asio::signal_set children_;
  std::function<void(int, const std::string&)> exited_;
};

}  // namespace halo::node
