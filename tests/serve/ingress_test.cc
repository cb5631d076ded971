// HttpIngress over real loopback TCP with a real HTTP client (Boost.Beast's) and raw sockets, in front of a
// fake ReplicaCaller: routing and answers, each failure's status, retries on another replica, keep-alive,
// timeouts, and bad HTTP that must not crash or stall it.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <mutex>
#include <thread>

#include "serve/http_ingress.h"

namespace halo::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Answers by replica: "echo" handlers, or a failure the test sets per replica id.
class FakeCaller : public ReplicaCaller {
 public:
  void Call(const ReplicaInfo& replica, const Request& request, int64_t timeout_ms,
            std::function<void(Result)> done) override {
    Failure failure;
    {
      std::lock_guard<std::mutex> lock(mutex);
      calls.push_back(replica.replica_id);
      auto it = failures.find(replica.replica_id);
      failure = it == failures.end() ? Failure::kNone : it->second;
      if (silent.count(replica.replica_id) > 0) {
        held.push_back(std::move(done));  // never answered (until the test ends)
        return;
      }
    }
    Result result;
    result.failure = failure;
    if (failure == Failure::kHandlerThrew) result.error = "std::runtime_error: boom";
    if (failure == Failure::kNotDelivered) result.error = "connection refused";
    if (failure == Failure::kLost) result.error = "socket closed";
    result.response = Response::Text(replica.replica_id + " " + request.method + " " + request.path + " name=" +
                                     request.Query("name") + " body=" + request.body);
    result.response.headers["x-replica"] = replica.replica_id;
    done(std::move(result));
  }
  std::vector<std::string> Calls() {
    std::lock_guard<std::mutex> lock(mutex);
    return calls;
  }
  ~FakeCaller() override {
    for (auto& done : held) done(Result{Failure::kLost, {}, "test over"});
  }

  std::mutex mutex;
  std::map<std::string, Failure> failures;
  std::set<std::string> silent;
  std::vector<std::string> calls;
  std::vector<std::function<void(Result)>> held;
};

DeploymentRoute Route(const std::string& prefix, std::vector<std::string> replicas, int64_t max_ongoing = 100) {
  DeploymentRoute route;
  route.route_prefix = prefix;
  route.deployment = "D" + prefix;
  route.max_ongoing_requests = max_ongoing;
  for (const auto& id : replicas) route.replicas.push_back(ReplicaInfo{id, id + ":1", true});
  return route;
}

class IngressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.port = 0;
    settings_.request_timeout_ms = 500;
    settings_.read_timeout_ms = 500;
    settings_.body_max_bytes = 1000;
    settings_.header_max_bytes = 2000;
    routes_.Replace({Route("/hello", {"r1", "r2"}), Route("/solo", {"s1"}, /*max_ongoing=*/1)});
    ingress_ = std::make_unique<HttpIngress>(routes_, caller_, settings_);
    ASSERT_TRUE(ingress_->Start().ok());
  }
  void TearDown() override { ingress_->Stop(); }

  // A connection whose reads give up after 10 s, so a stalled ingress fails the test instead of hanging it.
  tcp::socket Connect() {
    tcp::socket socket(context_);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(ingress_->port())));
    timeval bound{10, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
    return socket;
  }
  // One request on a connection of its own (or on *socket, kept open).
  http::response<http::string_body> Send(http::verb method, const std::string& target, std::string body = "",
                                         tcp::socket* socket = nullptr) {
    tcp::socket own = socket == nullptr ? Connect() : tcp::socket(context_);
    tcp::socket& use = socket == nullptr ? own : *socket;
    http::request<http::string_body> request(method, target, 11);
    request.set(http::field::host, "localhost");
    request.body() = std::move(body);
    request.prepare_payload();
    http::write(use, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(use, buffer, response);
    return response;
  }
  // Sends raw bytes and returns whatever comes back before the ingress closes the connection.
  std::string Raw(const std::string& bytes) {
    tcp::socket socket = Connect();
    net::write(socket, net::buffer(bytes));
    std::string out;
    beast::error_code error;
    char chunk[4096];
    for (int i = 0; i < 100; ++i) {
      size_t n = socket.read_some(net::buffer(chunk), error);
      if (error) break;
      out.append(chunk, n);
    }
    return out;
  }

  net::io_context context_;
  SeededRandom random_{5};
  RouteTable routes_{random_};
  FakeCaller caller_;
  IngressSettings settings_;
  std::unique_ptr<HttpIngress> ingress_;
};

TEST_F(IngressTest, RoutesToAReplicaWithTheDecodedRequest) {
  auto response = Send(http::verb::post, "/hello/there?name=ada%20lovelace&x=1", "payload");
  EXPECT_EQ(response.result_int(), 200u);
  const std::string body = response.body();
  EXPECT_NE(body.find("POST /hello/there name=ada lovelace body=payload"), std::string::npos) << body;
  EXPECT_FALSE(response[std::string("x-replica")].empty());
  EXPECT_EQ(Send(http::verb::get, "/nowhere").result_int(), 404u);
}

TEST_F(IngressTest, HeadGetsTheHeadersAndLengthButNoBody) {
  const std::string answer = Raw("HEAD /hello?name=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  const size_t end = answer.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << answer;
  EXPECT_EQ(answer.size(), end + 4) << "a body followed the headers of a HEAD answer: " << answer;
  EXPECT_NE(answer.find("Content-Length: "), std::string::npos) << answer;
  EXPECT_EQ(answer.find("Content-Length: 0\r\n"), std::string::npos) << answer;
}

TEST_F(IngressTest, KeepAliveServesManyRequestsOnOneConnection) {
  tcp::socket socket = Connect();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Send(http::verb::get, "/hello", "", &socket).result_int(), 200u) << i;
  EXPECT_EQ(ingress_->open_connections(), 1);
}

TEST_F(IngressTest, HandlerExceptionIs500NamingIt) {
  caller_.failures = {{"r1", ReplicaCaller::Failure::kHandlerThrew}, {"r2", ReplicaCaller::Failure::kHandlerThrew}};
  auto response = Send(http::verb::get, "/hello");
  EXPECT_EQ(response.result_int(), 500u);
  EXPECT_NE(response.body().find("std::runtime_error: boom"), std::string::npos) << response.body();
}

TEST_F(IngressTest, UnreachableReplicaIsSkippedAndTheRequestGoesToAnother) {
  caller_.failures = {{"r1", ReplicaCaller::Failure::kNotDelivered}};
  for (int i = 0; i < 10; ++i) {
    auto response = Send(http::verb::post, "/hello", "x");
    ASSERT_EQ(response.result_int(), 200u) << response.body();
    EXPECT_EQ(response[std::string("x-replica")], "r2");
  }
  int to_r1 = 0;
  for (const auto& id : caller_.Calls()) to_r1 += id == "r1";
  EXPECT_EQ(to_r1, 1) << "a replica that could not be reached kept getting requests";
}

TEST_F(IngressTest, LostRequestIsRetriedOnlyWhenSafeToRepeat) {
  caller_.failures = {{"r1", ReplicaCaller::Failure::kLost}, {"r2", ReplicaCaller::Failure::kLost}};
  auto post = Send(http::verb::post, "/hello", "x");
  EXPECT_EQ(post.result_int(), 502u) << post.body();
  EXPECT_EQ(caller_.Calls().size(), 1u) << "a POST that a replica took was sent again";
  routes_.Replace({Route("/hello", {"r1", "r2"})});  // the resync says both are healthy again
  caller_.failures = {{"r1", ReplicaCaller::Failure::kLost}};
  caller_.calls.clear();
  auto get = Send(http::verb::get, "/hello");
  // Either r2 first, or r1 lost it and r2 answered the retry.
  EXPECT_EQ(get.result_int(), 200u) << get.body();
  EXPECT_EQ(get[std::string("x-replica")], "r2");
}

TEST_F(IngressTest, NoAnswerInTimeIs504AndTheConnectionStaysUsable) {
  caller_.silent = {"s1"};
  tcp::socket socket = Connect();
  const auto start = std::chrono::steady_clock::now();
  auto response = Send(http::verb::get, "/solo", "", &socket);
  EXPECT_EQ(response.result_int(), 504u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(settings_.request_timeout_ms));
  // s1 still holds its one ongoing request (max_ongoing 1): the next is refused with Retry-After.
  auto busy = Send(http::verb::get, "/solo", "", &socket);
  EXPECT_EQ(busy.result_int(), 503u);
  EXPECT_EQ(busy[http::field::retry_after], "1");
}

TEST_F(IngressTest, NoHealthyReplicaIs503WithRetryAfter) {
  routes_.MarkUnhealthy("r1");
  routes_.MarkUnhealthy("r2");
  auto response = Send(http::verb::get, "/hello");
  EXPECT_EQ(response.result_int(), 503u);
  EXPECT_EQ(response[http::field::retry_after], "1");
}

TEST_F(IngressTest, OversizedBodyIs413AndOversizedHeaderIs431) {
  EXPECT_EQ(Send(http::verb::post, "/hello", std::string(5000, 'b')).result_int(), 413u);
  const std::string big_header = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(5000, 'h') + "\r\n\r\n";
  EXPECT_NE(Raw(big_header).find("HTTP/1.1 431"), std::string::npos);
  EXPECT_EQ(Send(http::verb::get, "/hello").result_int(), 200u) << "the ingress stopped serving";
}

TEST_F(IngressTest, GarbageIs400AndSlowOrSilentClientsAreCut) {
  EXPECT_NE(Raw("\x16\x03\x01 not http at all\r\n\r\n").find("HTTP/1.1 400"), std::string::npos);
  EXPECT_NE(Raw("GET /hello HTTP/9.9\r\n\r\n").find("HTTP/1.1 400"), std::string::npos);
  // Slowloris: half a header, then nothing: closed after read_timeout_ms, without an answer.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Raw("GET /hello HTTP/1.1\r\nHost: x\r\n"), "");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(settings_.read_timeout_ms - 50));
  EXPECT_LT(took, std::chrono::milliseconds(settings_.read_timeout_ms + 5000));
  // A silent connection is cut too, and the ingress still serves.
  EXPECT_EQ(Raw(""), "");
  EXPECT_EQ(Send(http::verb::get, "/hello").result_int(), 200u);
  for (int i = 0; i < 500 && ingress_->open_connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ingress_->open_connections(), 0) << "closed connections were not counted out";
}

TEST(IngressStartTest, BadHostOrPortInUseIsOneClearError) {
  SeededRandom random(1);
  RouteTable routes(random);
  FakeCaller caller;
  IngressSettings settings;
  settings.host = "not-an-ip";
  HttpIngress bad(routes, caller, settings);
  Status status = bad.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("not-an-ip"), std::string::npos) << status;
  settings.host = "127.0.0.1";
  settings.port = 0;
  HttpIngress first(routes, caller, settings);
  ASSERT_TRUE(first.Start().ok());
  settings.port = first.port();
  HttpIngress second(routes, caller, settings);
  Status taken = second.Start();
  EXPECT_FALSE(taken.ok());
  EXPECT_NE(taken.message().find(std::to_string(first.port())), std::string::npos) << taken;
}

}  // namespace
}  // namespace halo::serve
