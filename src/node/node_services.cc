#include "node/node_services.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace halo::node {

grpc::ServerUnaryReactor* HealthServiceImpl::Check(grpc::CallbackServerContext* context,
                                                   const grpc::health::v1::HealthCheckRequest*,
                                                   grpc::health::v1::HealthCheckResponse* response) {
  response->set_status(serving_.load() ? grpc::health::v1::HealthCheckResponse::SERVING
                                       : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* NodeAgentServiceImpl::GetNodeStatus(grpc::CallbackServerContext* context,
                                                              const rpc::GetNodeStatusRequest*,
                                                              rpc::GetNodeStatusReply* reply) {
  auto* reactor = context->DefaultReactor();
  executor_.Post([this, reactor, reply] {
    *reply->mutable_node() = agent_.self();
    reply->mutable_node()->set_state(agent_.last_known_state());
    reply->set_cluster_id(agent_.cluster_id());
    reply->set_gcs_connected(agent_.gcs_connected());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

namespace {

template <typename Value, typename Parse>
StatusOr<std::map<std::string, Value>> ParsePairs(const std::string& text, const char* setting, Parse parse) {
  std::map<std::string, Value> out;
  if (text.empty()) return out;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    std::vector<std::string> parts = absl::StrSplit(item, absl::MaxSplits('=', 1));
    Value value{};
    if (parts.size() != 2 || parts[0].empty() || !parse(parts[1], &value)) {
      return InvalidArgumentError(absl::StrCat("setting '", setting, "': '", std::string(item),
                                               "' is not NAME=", std::is_same_v<Value, double> ? "AMOUNT" : "VALUE",
                                               " (expected a comma-separated list like ",
                                               std::is_same_v<Value, double> ? "CPU=4,memory=8e9" : "zone=a,tier=gpu",
                                               ")"));
    }
    out[parts[0]] = value;
  }
  return out;
}

}  // namespace

StatusOr<std::map<std::string, double>> ParseResources(const std::string& text) {
  return ParsePairs<double>(text, "resources", [](const std::string& s, double* v) {
    return absl::SimpleAtod(s, v) && std::isfinite(*v) && *v >= 0;
  });
}

StatusOr<std::map<std::string, std::string>> ParseLabels(const std::string& text) {
  return ParsePairs<std::string>(text, "labels", [](const std::string& s, std::string* v) {
    *v = s;
    return true;
  });
}

}  // namespace halo::node
