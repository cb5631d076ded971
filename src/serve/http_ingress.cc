#include "serve/http_ingress.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace halo::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(const std::string& text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return text;
}

bool SafeToRepeat(const std::string& method) { return method == "GET" || method == "HEAD"; }

}  // namespace

void SplitTarget(const std::string& target, std::string* path, std::map<std::string, std::string>* query) {
  const size_t mark = target.find('?');
  *path = Decode(target.substr(0, mark), /*plus_is_space=*/false);
  if (path->empty()) *path = "/";
  query->clear();
  if (mark == std::string::npos) return;
  const std::string text = target.substr(mark + 1);
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('&', start);
    if (end == std::string::npos) end = text.size();
    const std::string pair = text.substr(start, end - start);
    if (!pair.empty()) {
      const size_t equals = pair.find('=');
      const std::string name = Decode(pair.substr(0, equals), true);
      const std::string value = equals == std::string::npos ? "" : Decode(pair.substr(equals + 1), true);
      query->emplace(name, value);  // the first of repeated names wins
    }
    start = end + 1;
  }
}

struct HttpIngress::Io {
  // Declared first, destroyed last: sessions destroyed with the io_context still count themselves out.
  std::atomic<int64_t> connections{0};
  RouteTable* routes = nullptr;
  ReplicaCaller* caller = nullptr;
  IngressSettings settings;
  HttpIngress::AnswerObserver on_answer;  // set before Start; read on the io threads
  std::atomic<bool> stopped{false};
  net::io_context context;
  tcp::acceptor acceptor{context};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;

  void Accept(const std::shared_ptr<Io>& self);
};

class HttpIngress::Session : public std::enable_shared_from_this<Session> {
 public:
  // Owned by the handlers of its io_context (never the other way round); io outlives it.
  Session(const std::shared_ptr<Io>& io, tcp::socket socket)
      : io_(io.get()), io_weak_(io), stream_(std::move(socket)), timer_(stream_.get_executor()) {}
  ~Session() { io_->connections -= 1; }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(io_->settings.header_max_bytes));
    parser_->body_limit(static_cast<uint64_t>(io_->settings.body_max_bytes));
    stream_.expires_after(std::chrono::milliseconds(io_->settings.read_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, size_t) { self->OnRead(error); });
  }

  void OnRead(beast::error_code error) {
    if (error) {
      if (error == http::error::body_limit) {
        return Answer(413, absl::StrCat("the body is larger than ", io_->settings.body_max_bytes, " bytes"), true);
      }
      if (error == http::error::header_limit) {
        return Answer(431, absl::StrCat("the header is larger than ", io_->settings.header_max_bytes, " bytes"),
                      true);
      }
      const bool malformed = error.category() == http::make_error_code(http::error::bad_method).category() &&
                             error != http::error::end_of_stream && error != http::error::partial_message;
      if (malformed) return Answer(400, "the request is not valid HTTP/1.1: " + error.message(), true);
      return Close();  // closed by the peer, reset, or too slow (read_timeout_ms): nothing to answer
    }
    stream_.expires_never();
    http::request<http::string_body> message = parser_->release();
    keep_alive_ = message.keep_alive();
    request_ = Request{};
    request_.method = std::string(message.method_string());
    SplitTarget(std::string(message.target()), &request_.path, &request_.query);
    for (const auto& field : message) {
      request_.headers[Lower(std::string(field.name_string()))] = std::string(field.value());
    }
    request_.body = std::move(message.body());
    started_ = std::chrono::steady_clock::now();
    deployment_.clear();
    generation_ += 1;
    answered_ = false;
    attempts_ = 0;
    tried_.clear();
    deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(io_->settings.request_timeout_ms);
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this(), generation = generation_](beast::error_code error) {
      if (error || generation != self->generation_ || self->answered_) return;
      self->Answer(504, absl::StrCat("no answer within ", self->io_->settings.request_timeout_ms,
                                     " ms (serve_request_timeout_ms)"),
                   false);
    });
    Try();
  }

  void Try() {
    RouteTable::Pick pick = io_->routes->Choose(request_.path, tried_);
    deployment_ = pick.deployment;
    switch (pick.outcome) {
      case RouteTable::Outcome::kNoRoute: return Answer(404, "no route matches " + request_.path, false);
      case RouteTable::Outcome::kNoHealthyReplica:
        return Answer(503,
                      absl::StrCat("deployment ", pick.deployment, " has no healthy replica",
                                   attempts_ > 0 ? " it could reach" : ""),
                      false, /*retry_after=*/true);
      case RouteTable::Outcome::kAllBusy:
        return Answer(503, absl::StrCat("every replica of ", pick.deployment, " is at max_ongoing_requests"),
                      false, true);
      case RouteTable::Outcome::kPicked: break;
    }
    attempts_ += 1;
    tried_.insert(pick.replica.replica_id);
    const int64_t left_ms = std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now()).count());
    std::weak_ptr<Session> weak = shared_from_this();
    auto executor = stream_.get_executor();
    std::weak_ptr<Io> io_alive = io_weak_;
    io_->caller->Call(pick.replica, request_, left_ms,
                      [weak, executor, io_alive, generation = generation_, replica = pick.replica,
                       routes = io_->routes](ReplicaCaller::Result result) {
                        routes->Done(replica.replica_id);
                        std::shared_ptr<Io> io = io_alive.lock();
                        if (!io || io->stopped) return;  // answered after Stop: dropped
                        net::post(executor, [weak, generation, replica, result = std::move(result)]() mutable {
                          if (auto self = weak.lock()) self->OnResult(generation, replica, std::move(result));
                        });
                      });
  }

  void OnResult(uint64_t generation, const ReplicaInfo& replica, ReplicaCaller::Result result) {
    if (generation != generation_ || answered_) return;  // answered already (timed out)
    using Failure = ReplicaCaller::Failure;
    switch (result.failure) {
      case Failure::kNone: return Send(std::move(result.response));
      case Failure::kHandlerThrew: return Answer(500, "the handler raised " + result.error, false);
      case Failure::kNotDelivered:
        io_->routes->MarkUnhealthy(replica.replica_id);
        if (attempts_ < io_->settings.attempts_max) return Try();
        return Answer(503, absl::StrCat("no replica could be reached after ", attempts_, " tries: ", result.error),
                      false, true);
      case Failure::kLost:
        io_->routes->MarkUnhealthy(replica.replica_id);
        if (SafeToRepeat(request_.method) && attempts_ < io_->settings.attempts_max) return Try();
        return Answer(502, absl::StrCat("replica ", replica.replica_id, " died while handling the request",
                                        SafeToRepeat(request_.method) ? "" : " (not retried: not GET or HEAD)",
                                        ": ", result.error),
                      false);
    }
  }

  void Answer(int status, const std::string& why, bool close, bool retry_after = false) {
    Response response = Response::Text(why + "\n", status);
    if (retry_after) response.headers["retry-after"] = std::to_string(io_->settings.retry_after_s);
    close_after_ = close;
    Send(std::move(response));
  }

  void Send(Response response) {
    answered_ = true;
    timer_.cancel();
    if (io_->on_answer) {
      io_->on_answer(deployment_, response.status,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    }
    auto message = std::make_shared<http::response<http::string_body>>();
    message->version(11);
    message->result(static_cast<unsigned>(response.status));
    message->set(http::field::server, "halo");
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    const bool close = close_after_ || !keep_alive_;
    message->keep_alive(!close);
    message->prepare_payload();
    if (request_.method == "HEAD") message->body().clear();  // the length of what GET would send, no body
    stream_.expires_after(std::chrono::milliseconds(io_->settings.read_timeout_ms));
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message, close](beast::error_code error, size_t) {
                        if (error || close) return self->Close();
                        self->close_after_ = false;
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    timer_.cancel();
  }

  Io* io_;
  std::weak_ptr<Io> io_weak_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();  // the current request
  std::string deployment_;  // the current request's, once routed
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  bool keep_alive_ = true;
  bool close_after_ = false;
  bool answered_ = false;
  uint64_t generation_ = 0;
  int attempts_ = 0;
  std::set<std::string> tried_;
  std::chrono::steady_clock::time_point deadline_;
};

void HttpIngress::Io::Accept(const std::shared_ptr<Io>& self) {
  std::weak_ptr<Io> weak = self;
  acceptor.async_accept(net::make_strand(context), [this, weak](beast::error_code error, tcp::socket socket) {
    std::shared_ptr<Io> io = weak.lock();
    if (!io || error == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!error) {
      if (connections.load() >= settings.connections_max) {
        beast::error_code ignored;
        socket.close(ignored);  // over the bound: closed at once
      } else {
        connections += 1;
        std::make_shared<Session>(io, std::move(socket))->Start();
      }
    }
    Accept(io);
  });
}

HttpIngress::HttpIngress(RouteTable& routes, ReplicaCaller& caller, IngressSettings settings)
    : io_(std::make_shared<Io>()) {
  io_->routes = &routes;
  io_->caller = &caller;
  io_->settings = std::move(settings);
}

HttpIngress::~HttpIngress() { Stop(); }

int64_t HttpIngress::open_connections() const { return io_ ? io_->connections.load() : 0; }

void HttpIngress::SetAnswerObserver(AnswerObserver observer) { io_->on_answer = std::move(observer); }

Status HttpIngress::Start() {
  const IngressSettings& s = io_->settings;
  beast::error_code error;
  const net::ip::address address = net::ip::make_address(s.host, error);
  if (error) return InvalidArgumentError(absl::StrCat("serve ingress: '", s.host, "' is not an IP address"));
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(s.port));
  io_->acceptor.open(endpoint.protocol(), error);
  if (!error) io_->acceptor.set_option(net::socket_base::reuse_address(true), error);
  if (!error) io_->acceptor.bind(endpoint, error);
  if (!error) io_->acceptor.listen(net::socket_base::max_listen_connections, error);
  if (error) {
    return UnavailableError(absl::StrCat("serve ingress cannot listen on ", s.host, ":", s.port, ": ",
                                         error.message()));
  }
  port_ = io_->acceptor.local_endpoint().port();
  io_->work.emplace(io_->context.get_executor());
  io_->Accept(io_);
  for (int i = 0; i < std::max(1, s.io_threads); ++i) {
    threads_.emplace_back([io = io_] { io->context.run(); });
  }
  return OkStatus();
}

void HttpIngress::Stop() {
  if (stopped_) return;
  stopped_ = true;
  io_->stopped = true;
  io_->work.reset();
  io_->context.stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  beast::error_code ignored;
  io_->acceptor.close(ignored);
  // Dropping the io_context closes every connection (their sessions go with its handlers); a caller's late
  // answer finds it gone.
  io_.reset();
}

}  // namespace halo::serve
