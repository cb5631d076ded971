// A steady stream of HTTP requests from real keep-alive TCP connections (Boost.Beast clients), with every
// outcome counted exactly: 200s whose body the test accepts, other statuses by code, and requests that got no
// answer at all (a reset, a close, or nothing within the read bound). Each client thread reconnects after a
// failure. Bounded: it runs until Stop, and every read has a deadline.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace halo::testing {

struct LoadCounts {
  int64_t ok = 0;
  int64_t unexpected_body = 0;
  int64_t no_answer = 0;
  std::map<int, int64_t> statuses;  // non-200 answers by status
  std::vector<double> latencies_ms;
  std::string last_problem;
  int64_t total() const {
    int64_t sum = ok + unexpected_body + no_answer;
    for (const auto& [code, count] : statuses) sum += count;
    return sum;
  }
  double success_ratio() const { return total() == 0 ? 0 : static_cast<double>(ok) / static_cast<double>(total()); }
  std::string Describe() const {
    std::ostringstream out;
    out << total() << " requests: " << ok << " ok, " << unexpected_body << " unexpected body, " << no_answer
        << " without an answer";
    for (const auto& [code, count] : statuses) out << ", " << count << " x " << code;
    if (!last_problem.empty()) out << " (last problem: " << last_problem << ")";
    return out.str();
  }
};

// An ingress to send requests to: an IPv4 address and a port.
struct HttpEndpoint {
  HttpEndpoint(std::string host_address, int port_number) : host(std::move(host_address)), port(port_number) {}
  std::string host;
  int port;
};

inline std::vector<HttpEndpoint> LoopbackEndpoints(const std::vector<int>& ports) {
  std::vector<HttpEndpoint> endpoints;
  for (int port : ports) endpoints.push_back(HttpEndpoint{"127.0.0.1", port});
  return endpoints;
}

// What every service test asks of the load a scenario ran under: enough of it to judge, at least 99.9 %
// answered 200 with the right body, none unanswered, none with a wrong body. Prints the counts.
inline void ExpectServedThrough(const LoadCounts& counts, const std::string& scenario) {
  std::cout << "  " << scenario << ": " << counts.Describe() << std::endl;
  EXPECT_GT(counts.total(), 50) << scenario << ": too little load to judge: " << counts.Describe();
  EXPECT_GE(counts.success_ratio(), 0.999) << scenario << ": " << counts.Describe();
  EXPECT_EQ(counts.no_answer, 0) << scenario << ": " << counts.Describe();
  EXPECT_EQ(counts.unexpected_body, 0) << scenario << ": " << counts.Describe();
}

// One GET on a fresh connection: the status and body, or status 0 and the error when nothing came back
// within timeout_s.
struct HttpAnswer {
  int status = 0;
  std::string body;
};
inline HttpAnswer HttpGet(const HttpEndpoint& endpoint, const std::string& target, int timeout_s = 30) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace net = boost::asio;
  using tcp = net::ip::tcp;
  try {
    net::io_context context;
    tcp::socket socket(context);
    socket.connect(tcp::endpoint(net::ip::make_address(endpoint.host), static_cast<uint16_t>(endpoint.port)));
    timeval bound{timeout_s, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, endpoint.host);
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return HttpAnswer{static_cast<int>(response.result_int()), response.body()};
  } catch (const std::exception& error) {
    return HttpAnswer{0, error.what()};
  }
}

class HttpLoad {
 public:
  // endpoints: the ingresses to spread clients over (client i uses endpoints[i % size]); accept: whether a 200's
  // body is right.
  HttpLoad(std::vector<HttpEndpoint> endpoints, std::string target, int clients,
           std::function<bool(const std::string&)> accept)
      : endpoints_(std::move(endpoints)), target_(std::move(target)), accept_(std::move(accept)) {
    for (int i = 0; i < clients; ++i) threads_.emplace_back([this, i] { Run(endpoints_[i % endpoints_.size()]); });
  }
  // Ingresses on loopback.
  HttpLoad(const std::vector<int>& ports, std::string target, int clients,
           std::function<bool(const std::string&)> accept)
      : HttpLoad(LoopbackEndpoints(ports), std::move(target), clients, std::move(accept)) {}
  ~HttpLoad() { Stop(); }

  LoadCounts Stop() {
    stop_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    return counts_;
  }
  LoadCounts Snapshot() {
    std::lock_guard<std::mutex> lock(mutex_);
    return counts_;
  }

 private:
  void Run(const HttpEndpoint& endpoint) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    namespace net = boost::asio;
    using tcp = net::ip::tcp;
    net::io_context context;
    std::optional<tcp::socket> socket;
    beast::flat_buffer buffer;
    while (!stop_) {
      const auto started = std::chrono::steady_clock::now();
      try {
        if (!socket) {
          socket.emplace(context);
          socket->connect(tcp::endpoint(net::ip::make_address(endpoint.host), static_cast<uint16_t>(endpoint.port)));
          timeval bound{30, 0};
          setsockopt(socket->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
          buffer.clear();
        }
        http::request<http::empty_body> request(http::verb::get, target_, 11);
        request.set(http::field::host, "localhost");
        request.keep_alive(true);
        http::write(*socket, request);
        http::response<http::string_body> response;
        http::read(*socket, buffer, response);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
        std::lock_guard<std::mutex> lock(mutex_);
        counts_.latencies_ms.push_back(ms);
        if (response.result_int() == 200) {
          if (accept_(response.body())) {
            counts_.ok += 1;
          } else {
            counts_.unexpected_body += 1;
            counts_.last_problem = "body: " + response.body();
          }
        } else {
          counts_.statuses[static_cast<int>(response.result_int())] += 1;
          counts_.last_problem = std::to_string(response.result_int()) + ": " + response.body();
        }
        if (!response.keep_alive()) socket.reset();
      } catch (const std::exception& error) {
        socket.reset();
        std::lock_guard<std::mutex> lock(mutex_);
        counts_.no_answer += 1;
        counts_.last_problem = std::string("no answer: ") + error.what();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // no tight loop against a closed port
      }
    }
  }

  std::vector<HttpEndpoint> endpoints_;
  std::string target_;
  std::function<bool(const std::string&)> accept_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  LoadCounts counts_;
  std::vector<std::thread> threads_;
};

}  // namespace halo::testing
