// One pipelined connection to a Redis server over Boost.Asio, plain TCP or TLS (OpenSSL), speaking RESP
// through hiredis' reader and formatter. It never blocks its io_context thread.
//
// Promises:
// - Commands are written in the order Send was called and each callback gets its own reply, in order.
// - After a dropped connection (server restarted, idle timeout) it reconnects with bounded exponential
//   backoff and re-sends, in order, every command whose reply had not arrived. Commands must therefore be
//   idempotent (HSET, HDEL, HGET... are).
// - Start() retries until storage_unavailable_timeout_ms, then fails with a message saying why. Errors that
//   retrying cannot fix (wrong password, TLS verification failure, a multi-shard Redis Cluster) fail at once.
// - Once started, if the server stays unreachable longer than unavailable_timeout_ms, every queued command
//   fails and the fatal handler is called once.
// - A connection with commands outstanding that reads nothing for reply_timeout_ms (a hung or paused
//   server) is treated as dropped: reopened, and the commands re-sent.
// - At most pending_max commands wait; beyond that Send fails at once with ResourceExhausted.
// - With Redis Sentinel (uri.sentinel()), every connection starts by asking the sentinels, in turn, which server
//   is the primary, and checks that the server it reached says it is the primary (ROLE). A server that refuses a
//   write as a replica (READONLY) is left as a dropped connection would be: the sentinels are asked again and
//   the unanswered commands re-sent to the primary they name. The sentinels' +switch-master notice does the same
//   at once, also while the old primary still answers (cut off from the sentinels only).
// - SendReplicated acknowledges a write only once Redis's WAIT confirms that replicas_ack replicas have it (on
//   the same connection), within replicas_ack_timeout_ms; otherwise the write is reported failed, never
//   acknowledged.
// Thread-safety: all methods must be called on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "storage/redis_reply.h"
#include "storage/sentinel_watcher.h"
#include "storage/storage_uri.h"

namespace halo {

struct RedisOptions {
  StorageUri uri;
  std::string ca_cert_path;
  std::string client_cert_path;
  std::string client_key_path;
  std::string server_name;  // SNI and verification; empty: uri.host
  int64_t connect_timeout_ms = 2000;
  int64_t unavailable_timeout_ms = 30000;
  int64_t reply_timeout_ms = 10000;
  int64_t retry_initial_ms = 50;
  int64_t retry_max_ms = 1000;
  int64_t pending_max = 100000;
  int64_t replicas_ack = 0;               // SendReplicated: replicas that must have a write before it is acknowledged
  int64_t replicas_ack_timeout_ms = 1000;  // how long WAIT may wait for them
};

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  using ReplyCallback = std::function<void(StatusOr<RedisReply>)>;

  static std::shared_ptr<RedisConnection> Create(boost::asio::io_context& io, RedisOptions options);
  ~RedisConnection();

  // Connects (retrying as promised above); done runs once, on the io thread.
  void Start(std::function<void(Status)> done);
  void SetFatalHandler(std::function<void(Status)> handler) { fatal_handler_ = std::move(handler); }
  // Hears of each connection made again after a ready one was lost: the error that ended it, and how long
  // the server was out of reach (ms). On the io thread.
  void SetReconnectHandler(std::function<void(const std::string& error, int64_t outage_ms)> handler) {
    reconnect_handler_ = std::move(handler);
  }
  // Queues a command. An error reply from the server arrives as an error Status with its text.
  void Send(std::vector<std::string> args, ReplyCallback done);
  // Queues a write, acknowledged (done with its reply) only once replicas_ack replicas have it; with
  // replicas_ack 0, Send.
  void SendReplicated(std::vector<std::string> args, ReplyCallback done);
  // Fails every queued command and closes the socket; no callbacks after the ones this triggers.
  void Close();

  // On the io thread only (the current primary changes with Sentinel).
  const RedisOptions& options() const { return options_; }
  // The server it talks to (with Sentinel, the primary last found), from any thread.
  std::string CurrentEndpoint() const;
  // Connections it made again after losing a ready one (any thread).
  int64_t reconnects() const { return reconnects_.load(); }

 private:
  struct Request {
    std::string bytes;
    ReplyCallback done;
    bool handshake = false;  // part of connection set-up; dropped, not re-sent, on disconnect
    uint64_t wait_generation = 0;  // a WAIT: meaningful only on this connection generation, failed on any other
  };
  // Writes whose replies arrived on one connection, waiting for one WAIT's count.
  struct WaitBatch {
    uint64_t generation = 0;
    std::vector<std::pair<RedisReply, ReplyCallback>> writes;
  };
  enum class State { kIdle, kConnecting, kHandshaking, kReady, kClosed };

  RedisConnection(boost::asio::io_context& io, RedisOptions options);
  Status BuildTlsContext();
  void Connect();
  void AskSentinels(uint64_t gen, size_t index, bool some_know_none, std::string errors);
  void ResolveAndConnect(uint64_t gen);
  const std::string& ServerName() const;
  void ConfirmReplication(uint64_t gen, RedisReply reply, ReplyCallback done);
  void OnPrimarySwitched(const StorageUri::HostPort& primary);
  void OnTcpConnected();
  void BeginHandshake();
  void CheckClusterShape(const RedisReply& info);
  void BecomeReady();
  void OnConnectionError(const std::string& what, bool retryable);
  void ScheduleReconnect();
  void FailAll(const Status& status);
  void StopWatcher();
  void SetPrimary(const std::string& host, int port);
  void Fatal(const Status& status);
  void Pump();
  void ReadMore();
  void OnReply(RedisReply reply);
  void CloseSocket();
  void ArmReplyWatchdog(std::chrono::milliseconds delay);
  void CheckReplyProgress();
  void SendHandshake(std::vector<std::string> args, ReplyCallback done);
  bool SocketOpen() const;

  boost::asio::io_context& io_;
  RedisOptions options_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<boost::asio::ip::tcp::socket> tcp_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer unavailable_timer_;
  boost::asio::steady_timer reply_timer_;
  bool reply_timer_armed_ = false;
  std::chrono::steady_clock::time_point last_progress_;
  ExponentialBackoff backoff_;

  State state_ = State::kIdle;
  uint64_t generation_ = 0;  // bumped on every connection attempt; stale handlers compare and bail
  std::deque<Request> handshake_queue_;  // set-up commands of the current connection, not yet written
  std::deque<Request> pending_;   // not yet written
  std::deque<Request> inflight_;  // written, reply not yet read
  std::string write_buffer_;
  bool writing_ = false;
  std::vector<char> read_buffer_;
  std::unique_ptr<RedisReplyReader> reader_;
  std::string last_error_;
  bool unavailable_timer_armed_ = false;
  std::chrono::steady_clock::time_point start_time_;
  std::function<void(Status)> start_done_;
  std::function<void(Status)> fatal_handler_;
  std::function<void(const std::string&, int64_t)> reconnect_handler_;
  std::optional<std::chrono::steady_clock::time_point> lost_at_;  // a ready connection was lost then
  std::atomic<int64_t> reconnects_{0};
  std::shared_ptr<WaitBatch> open_wait_;  // the WAIT not yet written that new replicated writes join
  std::shared_ptr<SentinelWatcher> watcher_;  // with Sentinel: follows +switch-master
  bool use_announced_primary_ = false;        // the next connection goes where +switch-master said
  size_t sentinel_start_ = 0;                 // the sentinel asked first; moves on after a failed connection
  mutable std::mutex endpoint_mutex_;
  std::string endpoint_;                      // options_.uri.Endpoint(), for other threads
};

}  // namespace halo
