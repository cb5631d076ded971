#include "node/worker_reaper.h"

#include <signal.h>
#include <sys/wait.h>

#include "common/process.h"

namespace halo::node {

WorkerReaper::WorkerReaper(AsioExecutor& executor,
                           std::function<void(int pid, const std::string& description)> exited)
    : executor_(executor), children_(executor.io_context(), SIGCHLD), exited_(std::move(exited)) {}

void WorkerReaper::Start() {
  Arm();
  // Children that ended before the handler was armed raised their SIGCHLD already.
  executor_.Post([this] { ReapExited(); });
}

void WorkerReaper::ReapExited() {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) exited_(pid, DescribeExit(status));
}

void WorkerReaper::Arm() {
  children_.async_wait([this](const boost::system::error_code& error, int) {
    if (error) return;  // the loop is stopping
    ReapExited();
    Arm();
  });
}

}  // namespace halo::node
