// The HTTP/1.1 front door of services (Boost.Beast on Asio): keep-alive connections; each request is routed by
// the RouteTable and handed to a replica through a ReplicaCaller, never through the GCS. What a client sees:
//   404  no route matches the path;
//   503  (with Retry-After) every replica is at max_ongoing_requests, none is healthy, or none could be reached;
//   504  no answer within request_timeout_ms;
//   500  the handler threw (the body names the exception's type and message);
//   502  the replica died while handling a request that is not safe to repeat (not GET or HEAD);
//   413  the body is larger than body_max_bytes; 431 the header larger than header_max_bytes;
//   400  the bytes are not HTTP (the connection is then closed).
// A request no replica accepted (it could not be reached) is tried on another, up to attempts_max replicas; one a
// replica accepted and then lost is tried again only for GET and HEAD. A connection that takes longer than
// read_timeout_ms to send its next whole request (idle, or slowloris) is closed; past connections_max open
// connections, new ones are closed at once. The ingress runs on io threads of its own; the RouteTable and the
// ReplicaCaller must outlive it, and a ReplicaCaller's late answers after Stop are dropped.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "halo/serve.h"
#include "serve/route_table.h"

namespace halo::serve {

struct IngressSettings {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0 picks a free port
  int io_threads = 1;
  int64_t request_timeout_ms = 60000;
  int64_t read_timeout_ms = 10000;  // for one whole request, the keep-alive wait before it included
  int64_t header_max_bytes = 16 * 1024;
  int64_t body_max_bytes = 10 * 1024 * 1024;
  int64_t connections_max = 10000;
  int attempts_max = 3;
  int retry_after_s = 1;
};

// How the ingress reaches a replica. done runs once, on any thread.
class ReplicaCaller {
 public:
  enum class Failure {
    kNone,          // the handler answered: response
    kNotDelivered,  // the replica could not be reached: it never saw the request
    kLost,          // the replica took the request and died (or its connection broke) before answering
    kHandlerThrew,  // error: "Type: message"
  };
  struct Result {
    Failure failure = Failure::kNone;
    Response response;
    std::string error;
  };
  virtual ~ReplicaCaller() = default;
  virtual void Call(const ReplicaInfo& replica, const Request& request, int64_t timeout_ms,
                    std::function<void(Result)> done) = 0;
};

class HttpIngress {
 public:
  HttpIngress(RouteTable& routes, ReplicaCaller& caller, IngressSettings settings);
  ~HttpIngress();
  // Hears of every answer sent: the deployment it was routed to ("" when none: no route, or not HTTP), its
  // status and the seconds from the whole request read to the answer. Called on the io threads. Before Start.
  using AnswerObserver = std::function<void(const std::string& deployment, int status, double seconds)>;
  void SetAnswerObserver(AnswerObserver observer);
  // Binds host:port and starts serving. Errors name the address (port in use, bad host).
  Status Start();
  // The port served (the chosen one when settings.port was 0). Valid after Start.
  int port() const { return port_; }
  // Closes the listener and every connection; waits for the io threads. Idempotent.
  void Stop();

  int64_t open_connections() const;

  class Session;  // one connection
  struct Io;      // what sessions share: the io_context, settings, routes, caller, the connection count

 private:
  std::shared_ptr<Io> io_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  bool stopped_ = false;
};

// "/a/b?x=1&name=ada%20l" -> path "/a/b", query {x: 1, name: "ada l"} ('+' is a space in the query).
void SplitTarget(const std::string& target, std::string* path, std::map<std::string, std::string>* query);

}  // namespace halo::serve
