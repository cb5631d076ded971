#include "dashboard/http_api_server.h"

#include <atomic>
#include <optional>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/logging.h"

namespace halo::dashboard {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpApiServer::State {
  HttpApiSettings settings;
  Handler handler;
  std::atomic<int64_t> open{0};  // before io: sessions destroyed with io still count themselves out
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer retry{io};  // accepting again after a failed accept (out of descriptors)
  std::thread thread;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpApiServer::Handler& handler, const HttpApiSettings& settings,
          std::atomic<int64_t>& open)
      : stream_(std::move(socket)), handler_(handler), settings_(settings), open_(open) {
    open_.fetch_add(1);
  }
  ~Session() { open_.fetch_sub(1); }

  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(settings_.target_max_bytes + 8192));
    parser_->body_limit(0);
    stream_.expires_after(std::chrono::milliseconds(settings_.read_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, size_t) { self->OnRead(error); });
  }

 private:
  void OnRead(beast::error_code error) {
    if (error) return Close();
    const auto& request = parser_->get();
    const bool keep_alive = request.keep_alive();
    HttpReply reply;
    const std::string target(request.target());
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      reply = {405, "application/json", R"({"error":"only GET is served"})"};
    } else if (static_cast<int64_t>(target.size()) > settings_.target_max_bytes) {
      reply = {414, "application/json", R"({"error":"the target is too long"})"};
    } else {
      const size_t question = target.find('?');
      reply = handler_(target.substr(0, question), question == std::string::npos ? "" : target.substr(question + 1));
    }
    response_ = std::make_unique<http::response<http::string_body>>(static_cast<http::status>(reply.status),
                                                                    request.version());
    response_->set(http::field::content_type, reply.content_type);
    response_->set(http::field::cache_control, "no-store");
    response_->keep_alive(keep_alive);
    if (request.method() != http::verb::head) response_->body() = std::move(reply.body);
    response_->prepare_payload();
    http::async_write(stream_, *response_, [self = shared_from_this(), keep_alive](beast::error_code error, size_t) {
      if (error || !keep_alive) return self->Close();
      self->Read();
    });
  }
  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::unique_ptr<http::response<http::string_body>> response_;
  HttpApiServer::Handler& handler_;
  const HttpApiSettings& settings_;
  std::atomic<int64_t>& open_;
};

void Accept(HttpApiServer::State* state) {
  state->acceptor.async_accept([state](beast::error_code error, tcp::socket socket) {
    if (error == asio::error::operation_aborted) return;
    if (error) {
      // Out of descriptors, say: try again shortly rather than spin.
      state->retry.expires_after(std::chrono::milliseconds(100));
      state->retry.async_wait([state](beast::error_code waited) {
        if (!waited) Accept(state);
      });
      return;
    }
    if (state->open.load() >= state->settings.connections_max) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Session>(std::move(socket), state->handler, state->settings, state->open)->Read();
    }
    Accept(state);
  });
}

}  // namespace

StatusOr<std::unique_ptr<HttpApiServer>> HttpApiServer::Start(HttpApiSettings settings, Handler handler) {
  HALO_CHECK(handler != nullptr) << "an HTTP API server needs a handler";
  auto state = std::make_unique<State>();
  state->settings = std::move(settings);
  state->handler = std::move(handler);
  beast::error_code error;
  const auto address = asio::ip::make_address(state->settings.host, error);
  if (error) return InvalidArgumentError(absl::StrCat("'", state->settings.host, "' is not an IP address"));
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(state->settings.port));
  state->acceptor.open(endpoint.protocol(), error);
  if (!error) state->acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) state->acceptor.bind(endpoint, error);
  if (!error) state->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return FailedPreconditionError(
        absl::StrCat("cannot serve HTTP on ", state->settings.host, ":", state->settings.port, ": ", error.message()));
  }
  Accept(state.get());
  State* raw = state.get();
  state->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<HttpApiServer>(new HttpApiServer(std::move(state)));
}

HttpApiServer::HttpApiServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

HttpApiServer::~HttpApiServer() {
  state_->io.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

int HttpApiServer::port() const { return state_->acceptor.local_endpoint().port(); }

std::string QueryValue(const std::string& query, const std::string& name) {
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string::npos ? "" : pair.substr(eq + 1);
    start = end + 1;
  }
  return "";
}

}  // namespace halo::dashboard
