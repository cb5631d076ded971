// The two injected interfaces every manager runs on: a Clock and an Executor. Production wires them to an
// asio event loop (AsioExecutor); the simulator wires them to virtual time. A manager never reads the time or
// starts a timer any other way.
#pragma once

#include <cstdint>
#include <functional>

namespace halo {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds; only differences are meaningful.
  virtual int64_t MonotonicMs() const = 0;
  // Wall-clock milliseconds since the Unix epoch, for timestamps shown to users.
  virtual int64_t WallMs() const = 0;
};

using TimerId = uint64_t;

// Runs closures one at a time, in the order posted. Thread-safety: Post may be called from any thread;
// RunAfter and Cancel only from the executor's own thread.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Post(std::function<void()> fn) = 0;
  // Runs fn once after delay_ms unless cancelled first. Returns an id for Cancel.
  virtual TimerId RunAfter(int64_t delay_ms, std::function<void()> fn) = 0;
  // Cancelling a timer that already fired or was cancelled is a no-op.
  virtual void Cancel(TimerId id) = 0;
};

}  // namespace halo
