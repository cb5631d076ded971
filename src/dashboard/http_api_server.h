// A small HTTP/1.1 server for the dashboard (Boost.Beast on one io thread of its own): GET only, one request
// per connection read within read_timeout_ms, at most connections_max open connections (more are closed at
// once). Each GET is answered by the handler, called on the io thread (it may block up to its own bound).
// Anything but GET or HEAD gets 405; a target longer than target_max_bytes gets 414; bytes that are not HTTP
// close the connection.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace halo::dashboard {

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct HttpApiSettings {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  int64_t read_timeout_ms = 10000;
  int64_t connections_max = 64;
  int64_t target_max_bytes = 4096;
};

class HttpApiServer {
 public:
  // handler(path, query): path without the query ("/api/nodes"), query the part after '?' ("" when none).
  using Handler = std::function<HttpReply(const std::string& path, const std::string& query)>;

  // Listens and serves on its own thread; an error names the address it could not bind.
  static StatusOr<std::unique_ptr<HttpApiServer>> Start(HttpApiSettings settings, Handler handler);
  ~HttpApiServer();  // stops: open connections are closed, the thread joined

  int port() const;

  struct State;  // the io context, acceptor and thread (http_api_server.cc)

 private:
  explicit HttpApiServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The value of name in a query string ("after=5&limit=2"), or "" when absent.
std::string QueryValue(const std::string& query, const std::string& name);

}  // namespace halo::dashboard
