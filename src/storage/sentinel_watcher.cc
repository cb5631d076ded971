#include "storage/sentinel_watcher.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <charconv>

#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "storage/redis_reply.h"
#include "storage/sentinel_query.h"

namespace halo {
namespace asio = boost::asio;
namespace {

class Watcher final : public SentinelWatcher, public std::enable_shared_from_this<Watcher> {
 public:
  Watcher(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls, StorageUri uri, int64_t connect_timeout_ms,
          int64_t retry_max_ms, OnSwitch on_switch)
      : io_(io),
        tls_context_(tls),
        uri_(std::move(uri)),
        connect_timeout_ms_(connect_timeout_ms),
        retry_max_ms_(retry_max_ms),
        on_switch_(std::move(on_switch)),
        resolver_(io),
        timer_(io),
        read_buffer_(4096) {}

  void Connect() {
    if (stopped_) return;
    const uint64_t gen = ++generation_;
    CloseSocket();
    reader_ = std::make_unique<RedisReplyReader>();
    if (tls_context_ != nullptr) {
      tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(io_, *tls_context_);
    } else {
      tcp_ = std::make_unique<asio::ip::tcp::socket>(io_);
    }
    const auto& sentinel = uri_.sentinels[index_ % uri_.sentinels.size()];
    auto self = shared_from_this();
    timer_.expires_after(std::chrono::milliseconds(connect_timeout_ms_));
    timer_.async_wait([self, gen](const boost::system::error_code& ec) {
      if (!ec && gen == self->generation_ && !self->subscribed_) self->Retry(gen);
    });
    resolver_.async_resolve(sentinel.host, std::to_string(sentinel.port),
                            [self, gen](const boost::system::error_code& ec, asio::ip::tcp::resolver::results_type r) {
                              if (gen != self->generation_ || self->stopped_) return;
                              if (ec) return self->Retry(gen);
                              asio::async_connect(self->Socket(), r, [self, gen](const boost::system::error_code& ec,
                                                                                  const auto&) {
                                if (gen != self->generation_ || self->stopped_) return;
                                if (ec) return self->Retry(gen);
                                self->Handshake(gen);
                              });
                            });
  }

  void Stop() override {
    stopped_ = true;
    ++generation_;
    timer_.cancel();
    resolver_.cancel();
    CloseSocket();
  }

 private:
  asio::ip::tcp::socket& Socket() { return tls_ ? tls_->next_layer() : *tcp_; }

  void CloseSocket() {
    boost::system::error_code ignored;
    if (tls_) tls_->lowest_layer().close(ignored);
    if (tcp_) tcp_->close(ignored);
    // Handlers of the old socket may still be queued: free it after them.
    asio::post(io_, [old_tcp = std::move(tcp_), old_tls = std::move(tls_)] {});
    subscribed_ = false;
  }

  void Handshake(uint64_t gen) {
    if (!tls_) return Subscribe(gen);
    const auto& host = uri_.sentinels[index_ % uri_.sentinels.size()].host;
    SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str());
    tls_->set_verify_callback(asio::ssl::host_name_verification(host));
    auto self = shared_from_this();
    tls_->async_handshake(asio::ssl::stream_base::client, [self, gen](const boost::system::error_code& ec) {
      if (gen != self->generation_ || self->stopped_) return;
      if (ec) return self->Retry(gen);
      self->Subscribe(gen);
    });
  }

  void Subscribe(uint64_t gen) {
    request_ = FormatRedisCommand({"SUBSCRIBE", "+switch-master"});
    auto self = shared_from_this();
    auto written = [self, gen](const boost::system::error_code& ec, size_t) {
      if (gen != self->generation_ || self->stopped_) return;
      if (ec) return self->Retry(gen);
      self->Read(gen);
    };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(request_), written);
    } else {
      asio::async_write(*tcp_, asio::buffer(request_), written);
    }
  }

  void Read(uint64_t gen) {
    auto self = shared_from_this();
    auto on_read = [self, gen](const boost::system::error_code& ec, size_t n) {
      if (gen != self->generation_ || self->stopped_) return;
      if (ec || !self->reader_->Feed(self->read_buffer_.data(), n).ok()) return self->Retry(gen);
      for (;;) {
        RedisReply reply;
        auto got = self->reader_->Next(&reply);
        if (!got.ok()) return self->Retry(gen);
        if (!*got) break;
        self->OnMessage(reply);
        if (gen != self->generation_ || self->stopped_) return;  // the handler may have stopped us
      }
      self->Read(gen);
    };
    if (tls_) {
      tls_->async_read_some(asio::buffer(read_buffer_), on_read);
    } else {
      tcp_->async_read_some(asio::buffer(read_buffer_), on_read);
    }
  }

  void OnMessage(const RedisReply& reply) {
    if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 3) return;
    if (reply.elements[0].str == "subscribe") {
      subscribed_ = true;
      retry_ms_ = 0;
      timer_.cancel();
      // A switch while no subscription was open went unheard: ask for the primary now.
      std::weak_ptr<Watcher> weak = shared_from_this();
      AskSentinelForPrimary(io_, tls_context_, uri_.sentinels[index_ % uri_.sentinels.size()], uri_.master_name,
                            connect_timeout_ms_,
                            [weak](StatusOr<std::optional<StorageUri::HostPort>> answer) {
                              auto self = weak.lock();
                              if (!self || self->stopped_ || !answer.ok() || !answer->has_value()) return;
                              self->on_switch_(**answer);
                            });
      return;
    }
    if (reply.elements[0].str != "message") return;
    // "<master name> <old ip> <old port> <new ip> <new port>"
    std::vector<std::string> words = absl::StrSplit(reply.elements[2].str, ' ', absl::SkipEmpty());
    if (words.size() != 5 || words[0] != uri_.master_name) return;
    StorageUri::HostPort primary;
    primary.host = words[3];
    auto [ptr, ec] = std::from_chars(words[4].data(), words[4].data() + words[4].size(), primary.port);
    if (ec != std::errc() || ptr != words[4].data() + words[4].size()) return;
    HALO_LOG_INFO("Sentinel switched the primary of '{}' to {}:{}", uri_.master_name, primary.host, primary.port);
    on_switch_(primary);
  }

  void Retry(uint64_t gen) {
    if (gen != generation_ || stopped_) return;
    ++generation_;
    CloseSocket();
    ++index_;  // the next sentinel
    retry_ms_ = std::min<int64_t>(retry_max_ms_, retry_ms_ == 0 ? 100 : retry_ms_ * 2);
    auto self = shared_from_this();
    timer_.expires_after(std::chrono::milliseconds(retry_ms_));
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) self->Connect();
    });
  }

  asio::io_context& io_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  StorageUri uri_;
  const int64_t connect_timeout_ms_;
  const int64_t retry_max_ms_;
  OnSwitch on_switch_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::unique_ptr<asio::ip::tcp::socket> tcp_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
  std::unique_ptr<RedisReplyReader> reader_;
  std::string request_;
  std::vector<char> read_buffer_;
  uint64_t generation_ = 0;
  size_t index_ = 0;
  int64_t retry_ms_ = 0;
  bool subscribed_ = false;
  bool stopped_ = false;
};

}  // namespace

std::shared_ptr<SentinelWatcher> SentinelWatcher::Start(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls, StorageUri uri,
                                                        int64_t connect_timeout_ms, int64_t retry_max_ms,
                                                        OnSwitch on_switch) {
  auto watcher = std::make_shared<Watcher>(io, tls, std::move(uri), connect_timeout_ms, retry_max_ms,
                                           std::move(on_switch));
  asio::post(io, [watcher] { watcher->Connect(); });
  return watcher;
}

}  // namespace halo
