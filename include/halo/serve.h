// Services: an HTTP request as a deployment's handler sees it and the response it returns. A handler is an
// ordinary method, `halo::serve::Response Handle(const halo::serve::Request&)`, of a class whose instances
// (replicas) Halo runs as actors behind the HTTP ingress every node serves.
#pragma once

#include <map>
#include <string>
#include <utility>

namespace halo::serve {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query: "/hello/world"
  std::map<std::string, std::string> query;    // decoded ?name=ada&x=1
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  // The query parameter's value, or fallback when it is absent.
  std::string Query(const std::string& name, const std::string& fallback = "") const {
    auto it = query.find(name);
    return it == query.end() ? fallback : it->second;
  }
  // The header's value (name in any case), or fallback when it is absent.
  std::string Header(const std::string& name, const std::string& fallback = "") const;
};

struct Response {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;

  static Response Text(std::string body, int status = 200) {
    return Response{status, {{"content-type", "text/plain; charset=utf-8"}}, std::move(body)};
  }
  static Response Json(std::string json, int status = 200) {
    return Response{status, {{"content-type", "application/json"}}, std::move(json)};
  }
};

inline std::string Request::Header(const std::string& name, const std::string& fallback) const {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  auto it = headers.find(lower);
  return it == headers.end() ? fallback : it->second;
}

}  // namespace halo::serve
