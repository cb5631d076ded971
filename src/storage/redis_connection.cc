#include "storage/redis_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/logging.h"
#include "storage/sentinel_query.h"

namespace halo {

namespace asio = boost::asio;

namespace {
constexpr size_t kReadChunkBytes = 64 * 1024;
constexpr size_t kMaxRequestsPerWrite = 4096;
}  // namespace

std::shared_ptr<RedisConnection> RedisConnection::Create(asio::io_context& io, RedisOptions options) {
  return std::shared_ptr<RedisConnection>(new RedisConnection(io, std::move(options)));
}

RedisConnection::RedisConnection(asio::io_context& io, RedisOptions options)
    : io_(io),
      options_(std::move(options)),
      resolver_(io),
      connect_timer_(io),
      retry_timer_(io),
      unavailable_timer_(io),
      reply_timer_(io),
      backoff_(options_.retry_initial_ms, options_.retry_max_ms),
      read_buffer_(kReadChunkBytes) {
  endpoint_ = options_.uri.Endpoint();
}

const std::string& RedisConnection::ServerName() const {
  return options_.server_name.empty() ? options_.uri.host : options_.server_name;
}

RedisConnection::~RedisConnection() = default;

Status RedisConnection::BuildTlsContext() {
  if (!options_.uri.tls) return OkStatus();
  tls_context_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  if (!options_.ca_cert_path.empty()) {
    tls_context_->load_verify_file(options_.ca_cert_path, ec);
    if (ec) {
      return InvalidArgumentError(
          absl::StrCat("cannot load Redis CA certificate '", options_.ca_cert_path, "': ", ec.message()));
    }
  } else {
    tls_context_->set_default_verify_paths(ec);
  }
  if (!options_.client_cert_path.empty()) {
    tls_context_->use_certificate_chain_file(options_.client_cert_path, ec);
    if (ec) {
      return InvalidArgumentError(
          absl::StrCat("cannot load Redis client certificate '", options_.client_cert_path, "': ", ec.message()));
    }
  }
  if (!options_.client_key_path.empty()) {
    tls_context_->use_private_key_file(options_.client_key_path, asio::ssl::context::pem, ec);
    if (ec) {
      return InvalidArgumentError(
          absl::StrCat("cannot load Redis client key '", options_.client_key_path, "': ", ec.message()));
    }
  }
  tls_context_->set_verify_mode(asio::ssl::verify_peer);
  return OkStatus();
}

void RedisConnection::Start(std::function<void(Status)> done) {
  start_time_ = std::chrono::steady_clock::now();
  Status tls = BuildTlsContext();
  if (!tls.ok()) {
    state_ = State::kClosed;
    asio::post(io_, [done = std::move(done), tls] { done(tls); });
    return;
  }
  start_done_ = std::move(done);
  if (options_.uri.sentinel()) {
    std::weak_ptr<RedisConnection> weak = shared_from_this();
    watcher_ = SentinelWatcher::Start(io_, tls_context_, options_.uri, options_.connect_timeout_ms,
                                      options_.retry_max_ms, [weak](const StorageUri::HostPort& primary) {
                                        if (auto self = weak.lock()) self->OnPrimarySwitched(primary);
                                      });
  }
  Connect();
}

void RedisConnection::OnPrimarySwitched(const StorageUri::HostPort& primary) {
  if (state_ == State::kClosed || options_.uri.host.empty()) return;  // not found yet: being asked for now
  if (primary.host == options_.uri.host && primary.port == options_.uri.port) return;
  const std::string from = options_.uri.Endpoint();
  SetPrimary(primary.host, primary.port);
  use_announced_primary_ = true;
  if (state_ == State::kIdle) return;  // the next connection goes there
  OnConnectionError(absl::StrCat("the sentinels switched the primary of '", options_.uri.master_name, "' from ",
                                 from, " to ", primary.host, ":", primary.port),
                    true);
}

void RedisConnection::SetPrimary(const std::string& host, int port) {
  options_.uri.host = host;
  options_.uri.port = port;
  std::lock_guard<std::mutex> lock(endpoint_mutex_);
  endpoint_ = options_.uri.Endpoint();
}

std::string RedisConnection::CurrentEndpoint() const {
  std::lock_guard<std::mutex> lock(endpoint_mutex_);
  return endpoint_;
}

void RedisConnection::StopWatcher() {
  if (watcher_) watcher_->Stop();
  watcher_.reset();
}

bool RedisConnection::SocketOpen() const {
  return (tls_ && tls_->lowest_layer().is_open()) || (tcp_ && tcp_->is_open());
}

void RedisConnection::CloseSocket() {
  boost::system::error_code ignored;
  if (tls_) tls_->lowest_layer().close(ignored);
  if (tcp_) tcp_->close(ignored);
}

void RedisConnection::Connect() {
  CloseSocket();
  // Old sockets may still have aborted handlers queued; free them only after those have run.
  asio::post(io_, [old_tcp = std::move(tcp_), old_tls = std::move(tls_)] {});
  state_ = State::kConnecting;
  const uint64_t gen = ++generation_;
  reader_ = std::make_unique<RedisReplyReader>();
  writing_ = false;
  write_buffer_.clear();
  if (options_.uri.tls) {
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(io_, *tls_context_);
  } else {
    tcp_ = std::make_unique<asio::ip::tcp::socket>(io_);
  }
  if (options_.uri.sentinel() && use_announced_primary_) {
    // +switch-master named it: a sentinel asked now might not have heard of the switch yet.
    use_announced_primary_ = false;
    return ResolveAndConnect(gen);
  }
  if (options_.uri.sentinel()) return AskSentinels(gen, 0, false, "");
  ResolveAndConnect(gen);
}

void RedisConnection::AskSentinels(uint64_t gen, size_t index, bool some_know_none, std::string errors) {
  const auto& sentinels = options_.uri.sentinels;
  if (index == sentinels.size()) {
    // A master name no sentinel knows cannot be fixed by retrying at start; later it can (sentinels restarting).
    if (some_know_none) {
      return OnConnectionError(absl::StrCat("the sentinels at ", options_.uri.SentinelList(),
                                            " monitor no master named '", options_.uri.master_name, "'", errors),
                               /*retryable=*/!start_done_);
    }
    return OnConnectionError(absl::StrCat("no sentinel answered (", options_.uri.SentinelList(), ")", errors), true);
  }
  auto self = shared_from_this();
  AskSentinelForPrimary(
      io_, tls_context_, sentinels[(sentinel_start_ + index) % sentinels.size()], options_.uri.master_name, options_.connect_timeout_ms,
      [self, gen, index, some_know_none, errors](StatusOr<std::optional<StorageUri::HostPort>> answer) mutable {
        if (gen != self->generation_ || self->state_ != State::kConnecting) return;
        const auto& sentinels = self->options_.uri.sentinels;
        const auto& asked = sentinels[(self->sentinel_start_ + index) % sentinels.size()];
        if (answer.ok() && answer->has_value()) {
          const StorageUri::HostPort& primary = **answer;
          if (primary.host != self->options_.uri.host || primary.port != self->options_.uri.port) {
            HALO_LOG_INFO("Sentinel {}:{} names {}:{} the primary of '{}'", asked.host, asked.port, primary.host,
                          primary.port, self->options_.uri.master_name);
          }
          self->SetPrimary(primary.host, primary.port);
          return self->ResolveAndConnect(gen);
        }
        if (answer.ok()) {
          some_know_none = true;
        } else {
          absl::StrAppend(&errors, "; ", asked.host, ":", asked.port, ": ", answer.status().message());
        }
        self->AskSentinels(gen, index + 1, some_know_none, std::move(errors));
      });
}

void RedisConnection::ResolveAndConnect(uint64_t gen) {
  auto self = shared_from_this();
  connect_timer_.expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
  connect_timer_.async_wait([self, gen](const boost::system::error_code& ec) {
    if (ec || gen != self->generation_) return;
    if (self->state_ == State::kConnecting || self->state_ == State::kHandshaking) {
      self->OnConnectionError(absl::StrCat("no answer within ", self->options_.connect_timeout_ms, " ms"), true);
    }
  });
  resolver_.async_resolve(
      options_.uri.host, std::to_string(options_.uri.port),
      [self, gen](const boost::system::error_code& ec, asio::ip::tcp::resolver::results_type results) {
        if (gen != self->generation_ || self->state_ != State::kConnecting) return;
        if (ec) return self->OnConnectionError("cannot resolve host: " + ec.message(), true);
        auto& socket = self->tls_ ? self->tls_->next_layer() : *self->tcp_;
        asio::async_connect(socket, results,
                            [self, gen](const boost::system::error_code& ec, const asio::ip::tcp::endpoint&) {
                              if (gen != self->generation_ || self->state_ != State::kConnecting) return;
                              if (ec) return self->OnConnectionError(ec.message(), true);
                              self->OnTcpConnected();
                            });
      });
}

void RedisConnection::OnTcpConnected() {
  auto& socket = tls_ ? tls_->next_layer() : *tcp_;
  boost::system::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  if (!tls_) return BeginHandshake();
  SSL_set_tlsext_host_name(tls_->native_handle(), ServerName().c_str());
  tls_->set_verify_callback(asio::ssl::host_name_verification(ServerName()));
  auto self = shared_from_this();
  const uint64_t gen = generation_;
  tls_->async_handshake(asio::ssl::stream_base::client, [self, gen](const boost::system::error_code& ec) {
    if (gen != self->generation_ || self->state_ != State::kConnecting) return;
    if (ec) {
      std::string message = ec.message();
      bool verify_failed = message.find("certificate verify failed") != std::string::npos;
      if (verify_failed) {
        return self->OnConnectionError(
            absl::StrCat("TLS verification of Redis at ", self->options_.uri.Endpoint(), " (server name '",
                         self->ServerName(), "') failed: ", message),
            false);
      }
      return self->OnConnectionError("TLS handshake failed: " + message, true);
    }
    self->BeginHandshake();
  });
}

void RedisConnection::SendHandshake(std::vector<std::string> args, ReplyCallback done) {
  handshake_queue_.push_back(Request{FormatRedisCommand(args), std::move(done), true});
}

void RedisConnection::BeginHandshake() {
  state_ = State::kHandshaking;
  const uint64_t gen = generation_;
  auto self = shared_from_this();
  if (!options_.uri.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!options_.uri.username.empty()) auth.push_back(options_.uri.username);
    auth.push_back(options_.uri.password);
    SendHandshake(auth, [self, gen](StatusOr<RedisReply> reply) {
      if (gen != self->generation_ || reply.ok()) return;
      self->OnConnectionError(absl::StrCat("Redis at ", self->options_.uri.Endpoint(),
                                           " refused the credentials: ", reply.status().message()),
                              false);
    });
  }
  // Named, so an operator (and a test) can tell Halo's connections apart in CLIENT LIST. Refused names are fine.
  SendHandshake({"CLIENT", "SETNAME", "halo"}, [](StatusOr<RedisReply>) {});
  if (options_.uri.sentinel()) {
    // The sentinels may still name a primary that was demoted: only the primary takes our commands.
    SendHandshake({"ROLE"}, [self, gen](StatusOr<RedisReply> reply) {
      if (gen != self->generation_ || self->state_ != State::kHandshaking) return;
      const bool primary = reply.ok() && reply->type == RedisReply::Type::kArray && !reply->elements.empty() &&
                           reply->elements[0].str == "master";
      if (!primary) {
        self->OnConnectionError(
            absl::StrCat(self->options_.uri.Endpoint(), " is not the primary of '", self->options_.uri.master_name,
                         "' (ROLE: ",
                         reply.ok() && !reply->elements.empty() ? reply->elements[0].str
                                                                : std::string(reply.status().message()),
                         "); asking the sentinels again"),
            true);
      }
    });
  }
  if (options_.replicas_ack > 0) {
    // WAIT counts replicas up to this client's last write that changed something: on a new connection that is
    // nothing, and a write re-sent after a reconnect (or one that changes nothing) would be confirmed at once.
    // This write moves the client's offset past everything the server holds now.
    SendHandshake({"INCR", "halo:replication-barrier"}, [self, gen](StatusOr<RedisReply> reply) {
      if (gen != self->generation_ || self->state_ != State::kHandshaking || reply.ok()) return;
      self->OnConnectionError(absl::StrCat(self->options_.uri.Endpoint(), " refused the replication barrier (",
                                           reply.status().message(), ")"),
                              true);
    });
  }
  SendHandshake({"INFO", "cluster"}, [self, gen](StatusOr<RedisReply> reply) {
    if (gen != self->generation_ || self->state_ != State::kHandshaking) return;
    if (!reply.ok()) {
      std::string message(reply.status().message());
      bool auth = message.starts_with("NOAUTH") || message.starts_with("WRONGPASS");
      return self->OnConnectionError(
          absl::StrCat("Redis at ", self->options_.uri.Endpoint(),
                       auth ? " requires a password (give it in the URI: redis://user:password@host:port): "
                            : " failed the connection check: ",
                       message),
          !auth);
    }
    self->CheckClusterShape(*reply);
  });
  ReadMore();
  Pump();
}

void RedisConnection::CheckClusterShape(const RedisReply& info) {
  if (info.str.find("cluster_enabled:1") == std::string::npos) return BecomeReady();
  auto self = shared_from_this();
  const uint64_t gen = generation_;
  SendHandshake({"CLUSTER", "INFO"}, [self, gen](StatusOr<RedisReply> reply) {
    if (gen != self->generation_ || self->state_ != State::kHandshaking) return;
    if (!reply.ok()) return self->OnConnectionError(std::string(reply.status().message()), true);
    int shards = 0;
    auto pos = reply->str.find("cluster_size:");
    if (pos != std::string::npos) shards = std::atoi(reply->str.c_str() + pos + 13);
    if (shards > 1) {
      return self->OnConnectionError(
          absl::StrCat("Redis at ", self->options_.uri.Endpoint(), " is a Redis Cluster with ", shards,
                       " shards; Halo needs a single primary (replicas are fine)"),
          false);
    }
    self->BecomeReady();
  });
  Pump();
}

void RedisConnection::BecomeReady() {
  state_ = State::kReady;
  connect_timer_.cancel();
  unavailable_timer_.cancel();
  unavailable_timer_armed_ = false;
  backoff_.Reset();
  if (!last_error_.empty()) {
    HALO_LOG_INFO("reconnected to Redis at {} after: {}", options_.uri.Endpoint(), last_error_);
  }
  if (lost_at_) {
    const int64_t outage_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - *lost_at_)
                                  .count();
    lost_at_.reset();
    reconnects_.fetch_add(1);
    if (reconnect_handler_) reconnect_handler_(last_error_, outage_ms);
  }
  if (start_done_) {
    auto done = std::move(start_done_);
    start_done_ = nullptr;
    done(OkStatus());
  }
  Pump();
}

void RedisConnection::OnConnectionError(const std::string& what, bool retryable) {
  if (state_ == State::kIdle || state_ == State::kClosed) return;
  const bool was_ready = state_ == State::kReady;
  last_error_ = what;
  state_ = State::kIdle;
  CloseSocket();
  connect_timer_.cancel();
  writing_ = false;
  write_buffer_.clear();
  handshake_queue_.clear();
  // Re-send unanswered commands first, in their original order.
  while (!inflight_.empty()) {
    Request request = std::move(inflight_.back());
    inflight_.pop_back();
    if (!request.handshake) pending_.push_front(std::move(request));
  }
  // A WAIT confirms only its own connection's writes: those waiting on this one fail now (after this returns,
  // so no callback runs inside connection bookkeeping).
  std::vector<ReplyCallback> stale_waits;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->wait_generation != 0) {
      stale_waits.push_back(std::move(it->done));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  open_wait_.reset();
  if (!stale_waits.empty()) {
    asio::post(io_, [stale_waits = std::move(stale_waits)]() mutable {
      for (auto& done : stale_waits) {
        done(UnavailableError("the Redis connection was lost before replication of the write was confirmed"));
      }
    });
  }
  if (options_.uri.sentinel()) ++sentinel_start_;  // ask another sentinel first next time
  if (was_ready) {
    HALO_LOG_WARN("lost connection to Redis at {}: {}", options_.uri.Endpoint(), what);
    if (!lost_at_) lost_at_ = std::chrono::steady_clock::now();
  }

  if (!retryable) {
    Status status = FailedPreconditionError(what);
    if (start_done_) {
      auto done = std::move(start_done_);
      start_done_ = nullptr;
      state_ = State::kClosed;
      StopWatcher();
      FailAll(status);
      done(status);
    } else {
      Fatal(status);
    }
    return;
  }
  if (start_done_) {
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                         start_time_).count();
    if (elapsed >= options_.unavailable_timeout_ms) {
      Status status = UnavailableError(absl::StrCat("cannot reach Redis at ", options_.uri.Endpoint(), " within ",
                                                    options_.unavailable_timeout_ms, " ms: ", what));
      auto done = std::move(start_done_);
      start_done_ = nullptr;
      state_ = State::kClosed;
      retry_timer_.cancel();
      StopWatcher();
      FailAll(status);
      done(status);
      return;
    }
  } else if (!unavailable_timer_armed_) {
    unavailable_timer_armed_ = true;
    auto self = shared_from_this();
    unavailable_timer_.expires_after(std::chrono::milliseconds(options_.unavailable_timeout_ms));
    unavailable_timer_.async_wait([self](const boost::system::error_code& ec) {
      if (ec || self->state_ == State::kReady || self->state_ == State::kClosed) return;
      self->Fatal(UnavailableError(absl::StrCat("Redis at ", self->options_.uri.Endpoint(), " stayed unreachable for ",
                                                self->options_.unavailable_timeout_ms, " ms: ", self->last_error_)));
    });
  }
  ScheduleReconnect();
}

void RedisConnection::ScheduleReconnect() {
  auto self = shared_from_this();
  retry_timer_.expires_after(std::chrono::milliseconds(backoff_.NextDelayMs()));
  retry_timer_.async_wait([self](const boost::system::error_code& ec) {
    if (ec || self->state_ != State::kIdle) return;
    self->Connect();
  });
}

void RedisConnection::FailAll(const Status& status) {
  std::deque<Request> failed;
  for (auto& r : inflight_) {
    if (!r.handshake) failed.push_back(std::move(r));
  }
  for (auto& r : pending_) failed.push_back(std::move(r));
  inflight_.clear();
  pending_.clear();
  handshake_queue_.clear();
  for (auto& r : failed) r.done(status);
}

void RedisConnection::Fatal(const Status& status) {
  if (state_ == State::kClosed) return;
  StopWatcher();
  HALO_LOG_ERROR("Redis storage failed: {}", std::string(status.message()));
  state_ = State::kClosed;
  connect_timer_.cancel();
  retry_timer_.cancel();
  unavailable_timer_.cancel();
  reply_timer_.cancel();
  CloseSocket();
  FailAll(status);
  if (fatal_handler_) {
    auto handler = std::move(fatal_handler_);
    fatal_handler_ = nullptr;
    handler(status);
  }
}

void RedisConnection::Close() {
  StopWatcher();
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  start_done_ = nullptr;
  fatal_handler_ = nullptr;
  connect_timer_.cancel();
  retry_timer_.cancel();
  unavailable_timer_.cancel();
  reply_timer_.cancel();
  resolver_.cancel();
  CloseSocket();
  FailAll(UnavailableError("Redis connection closed"));
}

void RedisConnection::Send(std::vector<std::string> args, ReplyCallback done) {
  if (state_ == State::kClosed) {
    asio::post(io_, [done = std::move(done)] { done(UnavailableError("Redis connection is closed")); });
    return;
  }
  if (static_cast<int64_t>(pending_.size()) >= options_.pending_max) {
    asio::post(io_, [done = std::move(done), max = options_.pending_max] {
      done(ResourceExhaustedError(absl::StrCat("more than ", max, " storage operations are waiting for Redis")));
    });
    return;
  }
  pending_.push_back(Request{FormatRedisCommand(args), std::move(done), false});
  if (state_ == State::kReady) Pump();
}

void RedisConnection::SendReplicated(std::vector<std::string> args, ReplyCallback done) {
  if (options_.replicas_ack <= 0) return Send(std::move(args), std::move(done));
  auto self = shared_from_this();
  Send(std::move(args), [self, done = std::move(done)](StatusOr<RedisReply> reply) mutable {
    if (!reply.ok()) return done(std::move(reply));
    // Runs as the reply is read: generation_ is the connection the write was applied on.
    self->ConfirmReplication(self->generation_, *std::move(reply), std::move(done));
  });
}

void RedisConnection::ConfirmReplication(uint64_t gen, RedisReply reply, ReplyCallback done) {
  if (open_wait_ && open_wait_->generation == gen) {
    open_wait_->writes.emplace_back(std::move(reply), std::move(done));
    return;
  }
  auto batch = std::make_shared<WaitBatch>();
  batch->generation = gen;
  batch->writes.emplace_back(std::move(reply), std::move(done));
  open_wait_ = batch;
  const int64_t needed = options_.replicas_ack;
  const int64_t timeout_ms = options_.replicas_ack_timeout_ms;
  Request wait{FormatRedisCommand({"WAIT", std::to_string(needed), std::to_string(timeout_ms)}),
               [batch, needed, timeout_ms](StatusOr<RedisReply> acks) {
                 Status failed;
                 if (!acks.ok()) {
                   failed = Status(acks.status().code(),
                                   absl::StrCat("replication not confirmed: ", acks.status().message()));
                 } else if (acks->integer < needed) {
                   failed = UnavailableError(absl::StrCat("the write reached ", acks->integer, " of the ", needed,
                                                          " replicas storage_replicas_ack asks for within ",
                                                          timeout_ms, " ms; it is not acknowledged"));
                 }
                 for (auto& [write_reply, write_done] : batch->writes) {
                   if (failed.ok()) {
                     write_done(std::move(write_reply));
                   } else {
                     write_done(failed);
                   }
                 }
               },
               false, gen};
  if (state_ == State::kClosed) {
    wait.done(UnavailableError("Redis connection is closed"));
    return;
  }
  // Ahead of commands not yet written: it confirms only what was written before it anyway.
  pending_.push_front(std::move(wait));
  if (state_ == State::kReady) Pump();
}

void RedisConnection::Pump() {
  if (writing_ || !SocketOpen()) return;
  if (state_ != State::kHandshaking && state_ != State::kReady) return;
  if (inflight_.empty()) last_progress_ = std::chrono::steady_clock::now();  // the wait for replies starts now
  size_t count = 0;
  while (!handshake_queue_.empty()) {
    write_buffer_ += handshake_queue_.front().bytes;
    inflight_.push_back(std::move(handshake_queue_.front()));
    handshake_queue_.pop_front();
    ++count;
  }
  while (state_ == State::kReady && !pending_.empty() && count < kMaxRequestsPerWrite) {
    // OnConnectionError removed every WAIT of an older connection.
    HALO_CHECK(pending_.front().wait_generation == 0 || pending_.front().wait_generation == generation_)
        << "a WAIT of connection " << pending_.front().wait_generation << " on connection " << generation_;
    if (open_wait_ && pending_.front().wait_generation != 0) open_wait_.reset();  // on the wire now
    write_buffer_ += pending_.front().bytes;
    inflight_.push_back(std::move(pending_.front()));
    pending_.pop_front();
    ++count;
  }
  if (write_buffer_.empty()) return;
  ArmReplyWatchdog(std::chrono::milliseconds(options_.reply_timeout_ms));
  writing_ = true;
  auto self = shared_from_this();
  const uint64_t gen = generation_;
  auto on_written = [self, gen](const boost::system::error_code& ec, size_t) {
    if (gen != self->generation_) return;
    self->writing_ = false;
    if (ec) return self->OnConnectionError("write failed: " + ec.message(), true);
    self->write_buffer_.clear();
    self->Pump();
  };
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(write_buffer_), on_written);
  } else {
    asio::async_write(*tcp_, asio::buffer(write_buffer_), on_written);
  }
}

void RedisConnection::ReadMore() {
  auto self = shared_from_this();
  const uint64_t gen = generation_;
  auto on_read = [self, gen](const boost::system::error_code& ec, size_t n) {
    if (gen != self->generation_ || self->state_ == State::kIdle || self->state_ == State::kClosed) return;
    if (ec) {
      bool closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
      return self->OnConnectionError(closed ? "connection closed by the server" : "read failed: " + ec.message(),
                                     true);
    }
    self->last_progress_ = std::chrono::steady_clock::now();
    Status fed = self->reader_->Feed(self->read_buffer_.data(), n);
    if (!fed.ok()) return self->OnConnectionError(std::string(fed.message()), true);
    while (gen == self->generation_ && (self->state_ == State::kHandshaking || self->state_ == State::kReady)) {
      RedisReply reply;
      auto got = self->reader_->Next(&reply);
      if (!got.ok()) return self->OnConnectionError(std::string(got.status().message()), true);
      if (!*got) break;
      self->OnReply(std::move(reply));
    }
    if (gen == self->generation_ && (self->state_ == State::kHandshaking || self->state_ == State::kReady)) {
      self->ReadMore();
    }
  };
  if (tls_) {
    tls_->async_read_some(asio::buffer(read_buffer_), on_read);
  } else {
    tcp_->async_read_some(asio::buffer(read_buffer_), on_read);
  }
}

void RedisConnection::ArmReplyWatchdog(std::chrono::milliseconds delay) {
  if (reply_timer_armed_) return;
  reply_timer_armed_ = true;
  auto self = shared_from_this();
  reply_timer_.expires_after(delay);
  reply_timer_.async_wait([self](const boost::system::error_code& ec) {
    self->reply_timer_armed_ = false;
    if (!ec) self->CheckReplyProgress();
  });
}

void RedisConnection::CheckReplyProgress() {
  if ((state_ != State::kReady && state_ != State::kHandshaking) || inflight_.empty()) return;
  const auto limit = std::chrono::milliseconds(options_.reply_timeout_ms);
  const auto idle = std::chrono::steady_clock::now() - last_progress_;
  if (idle >= limit) {
    return OnConnectionError(
        absl::StrCat("no reply within storage_reply_timeout_ms (", options_.reply_timeout_ms, " ms)"), true);
  }
  ArmReplyWatchdog(std::chrono::ceil<std::chrono::milliseconds>(limit - idle));
}

void RedisConnection::OnReply(RedisReply reply) {
  if (inflight_.empty()) return OnConnectionError("Redis sent a reply nobody asked for", true);
  if (reply.IsError() && options_.uri.sentinel() && reply.str.rfind("READONLY", 0) == 0 &&
      !inflight_.front().handshake) {
    // Demoted since we connected (a failover): this command and every one after it go to the new primary.
    return OnConnectionError(absl::StrCat(options_.uri.Endpoint(), " is a replica now (", reply.str, ")"), true);
  }
  Request request = std::move(inflight_.front());
  inflight_.pop_front();
  if (reply.IsError()) {
    request.done(RedisErrorStatus(reply.str));
  } else {
    request.done(std::move(reply));
  }
}

}  // namespace halo
