#include "storage/sentinel_query.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <charconv>
#include <memory>

#include "absl/strings/str_cat.h"
#include "storage/redis_reply.h"

namespace halo {
namespace asio = boost::asio;
namespace {

class Query : public std::enable_shared_from_this<Query> {
 public:
  using Done = std::function<void(StatusOr<std::optional<StorageUri::HostPort>>)>;
  Query(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls, StorageUri::HostPort sentinel, std::string master_name,
        Done done)
      : tls_context_(tls),
        sentinel_(std::move(sentinel)),
        master_name_(std::move(master_name)),
        done_(std::move(done)),
        resolver_(io),
        timer_(io),
        read_buffer_(4096) {
    if (tls != nullptr) {
      tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(io, *tls);
    } else {
      tcp_ = std::make_unique<asio::ip::tcp::socket>(io);
    }
  }

  void Start(int64_t timeout_ms) {
    auto self = shared_from_this();
    timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    timer_.async_wait([self, timeout_ms](const boost::system::error_code& ec) {
      if (!ec) self->Finish(UnavailableError(absl::StrCat("no answer within ", timeout_ms, " ms")));
    });
    resolver_.async_resolve(sentinel_.host, std::to_string(sentinel_.port),
                            [self](const boost::system::error_code& ec, asio::ip::tcp::resolver::results_type found) {
                              if (self->finished_) return;
                              if (ec) return self->Finish(UnavailableError("cannot resolve: " + ec.message()));
                              asio::async_connect(self->Socket(), found,
                                                  [self](const boost::system::error_code& ec, const auto&) {
                                                    if (self->finished_) return;
                                                    if (ec) return self->Finish(UnavailableError(ec.message()));
                                                    self->Handshake();
                                                  });
                            });
  }

 private:
  asio::ip::tcp::socket& Socket() { return tls_ ? tls_->next_layer() : *tcp_; }

  void Handshake() {
    if (!tls_) return Ask();
    SSL_set_tlsext_host_name(tls_->native_handle(), sentinel_.host.c_str());
    tls_->set_verify_callback(asio::ssl::host_name_verification(sentinel_.host));
    auto self = shared_from_this();
    tls_->async_handshake(asio::ssl::stream_base::client, [self](const boost::system::error_code& ec) {
      if (self->finished_) return;
      if (ec) return self->Finish(UnavailableError("TLS handshake failed: " + ec.message()));
      self->Ask();
    });
  }

  void Ask() {
    request_ = FormatRedisCommand({"SENTINEL", "get-master-addr-by-name", master_name_});
    auto self = shared_from_this();
    auto written = [self](const boost::system::error_code& ec, size_t) {
      if (self->finished_) return;
      if (ec) return self->Finish(UnavailableError("write failed: " + ec.message()));
      self->Read();
    };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(request_), written);
    } else {
      asio::async_write(*tcp_, asio::buffer(request_), written);
    }
  }

  void Read() {
    auto self = shared_from_this();
    auto on_read = [self](const boost::system::error_code& ec, size_t n) {
      if (self->finished_) return;
      if (ec) return self->Finish(UnavailableError("read failed: " + ec.message()));
      Status fed = self->reader_.Feed(self->read_buffer_.data(), n);
      if (!fed.ok()) return self->Finish(fed);
      RedisReply reply;
      auto got = self->reader_.Next(&reply);
      if (!got.ok()) return self->Finish(got.status());
      if (!*got) return self->Read();
      self->Answer(reply);
    };
    if (tls_) {
      tls_->async_read_some(asio::buffer(read_buffer_), on_read);
    } else {
      tcp_->async_read_some(asio::buffer(read_buffer_), on_read);
    }
  }

  void Answer(const RedisReply& reply) {
    if (reply.IsError()) return Finish(RedisErrorStatus(reply.str));
    if (reply.type == RedisReply::Type::kNil) return Finish(std::optional<StorageUri::HostPort>());
    if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2) {
      return Finish(InternalError("a malformed answer to SENTINEL get-master-addr-by-name"));
    }
    StorageUri::HostPort primary;
    primary.host = reply.elements[0].str;
    const std::string& port = reply.elements[1].str;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), primary.port);
    if (primary.host.empty() || ec != std::errc() || ptr != port.data() + port.size()) {
      return Finish(InternalError(absl::StrCat("a malformed primary address '", primary.host, ":", port, "'")));
    }
    Finish(std::optional<StorageUri::HostPort>(primary));
  }

  void Finish(StatusOr<std::optional<StorageUri::HostPort>> result) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    boost::system::error_code ignored;
    Socket().close(ignored);
    auto done = std::move(done_);
    done(std::move(result));
  }

  std::shared_ptr<asio::ssl::context> tls_context_;  // kept alive while the stream uses it
  StorageUri::HostPort sentinel_;
  std::string master_name_;
  Done done_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::unique_ptr<asio::ip::tcp::socket> tcp_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
  std::string request_;
  std::vector<char> read_buffer_;
  RedisReplyReader reader_;
  bool finished_ = false;
};

}  // namespace

void AskSentinelForPrimary(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls, const StorageUri::HostPort& sentinel,
                           const std::string& master_name, int64_t timeout_ms,
                           std::function<void(StatusOr<std::optional<StorageUri::HostPort>>)> done) {
  auto query = std::make_shared<Query>(io, tls, sentinel, master_name, std::move(done));
  query->Start(timeout_ms);
}

}  // namespace halo
