#include "common/asio_executor.h"

#include <boost/asio/post.hpp>
#include <chrono>

namespace halo {

int64_t SystemClock::MonotonicMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t SystemClock::WallMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

AsioExecutor::AsioExecutor()
    : work_(std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
          io_.get_executor())) {}

AsioExecutor::~AsioExecutor() { Stop(); }

void AsioExecutor::Post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

TimerId AsioExecutor::RunAfter(int64_t delay_ms, std::function<void()> fn) {
  TimerId id = next_timer_id_++;
  auto timer = std::make_unique<boost::asio::steady_timer>(io_, std::chrono::milliseconds(delay_ms));
  timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code& ec) {
    // A timer cancelled after it expired still completes with success: its id is gone, so it must not run.
    if (ec || timers_.erase(id) == 0) return;
    fn();
  });
  timers_.emplace(id, std::move(timer));
  return id;
}

void AsioExecutor::Cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  it->second->cancel();
  // The handler still runs (with operation_aborted) and needs the timer alive until then.
  auto* raw = it->second.release();
  timers_.erase(it);
  boost::asio::post(io_, [raw] { delete raw; });
}

void AsioExecutor::RunInThread() {
  thread_ = std::thread([this] { io_.run(); });
}

void AsioExecutor::Stop() {
  work_.reset();
  io_.stop();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

}  // namespace halo
