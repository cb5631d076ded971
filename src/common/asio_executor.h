// Production Executor and Clock: one boost::asio::io_context, run by one thread (RunInThread) or by the
// caller (io_context().run()). Everything posted runs on that thread, in order.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/executor.h"

namespace halo {

class SystemClock : public Clock {
 public:
  int64_t MonotonicMs() const override;
  int64_t WallMs() const override;
};

class AsioExecutor : public Executor {
 public:
  AsioExecutor();
  ~AsioExecutor() override;
  AsioExecutor(const AsioExecutor&) = delete;
  AsioExecutor& operator=(const AsioExecutor&) = delete;

  void Post(std::function<void()> fn) override;
  TimerId RunAfter(int64_t delay_ms, std::function<void()> fn) override;
  void Cancel(TimerId id) override;

  boost::asio::io_context& io_context() { return io_; }
  // Starts a thread that runs the io_context until Stop().
  void RunInThread();
  // Stops the loop and joins the thread started by RunInThread (if any). Idempotent.
  void Stop();
  // True on the thread that runs the loop (code there must never wait for the loop).
  bool InLoopThread() { return io_.get_executor().running_in_this_thread(); }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  TimerId next_timer_id_ = 1;
  std::unordered_map<TimerId, std::unique_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace halo
