// A steady stream of HTTP requests from real keep-alive TCP connections (Boost.Beast clients), with every
// outcome counted exactly: 200s whose body the test accepts, other statuses by code, and requests that got no
// answer at all (a reset, a close, or nothing within the read bound). Each client thread reconnects after a
// failure. Bounded: it runs until Stop, and every read has a deadline.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
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

class HttpLoad {
 public:
  // ports: the ingresses to spread clients over (client i uses ports[i % size]); accept: whether a 200's body
  // is right.
  HttpLoad(std::vector<int> ports, std::string target, int clients, std::function<bool(const std::string&)> accept)
      : ports_(std::move(ports)), target_(std::move(target)), accept_(std::move(accept)) {
    for (int i = 0; i < clients; ++i) threads_.emplace_back([this, i] { Run(ports_[i % ports_.size()]); });
  }
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
  void Run(int port) {
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
          socket->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
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

  std::vector<int> ports_;
  std::string target_;
  std::function<bool(const std::string&)> accept_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  LoadCounts counts_;
  std::vector<std::thread> threads_;
};

}  // namespace halo::testing
