#include "serve/service_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace halo::serve {
namespace {

constexpr int64_t kMaxOngoingDefault = 100;
constexpr int64_t kHealthPeriodDefaultMs = 10000;
constexpr int64_t kHealthTimeoutDefaultMs = 30000;

// Walks one YAML map: refuses keys it does not know, and reads typed fields naming their path on error.
class Fields {
 public:
  Fields(const YAML::Node& node, std::string path, std::vector<std::string> known)
      : node_(node), path_(std::move(path)), known_(std::move(known)) {}

  Status Check() const {
    if (!node_.IsMap()) return Error(path_, "must be a mapping of keys to values");
    for (const auto& entry : node_) {
      const std::string key = entry.first.as<std::string>();
      if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        return Error(Path(key), absl::StrCat("unknown key (known: ", absl::StrJoin(known_, ", "), ")"));
      }
    }
    return OkStatus();
  }
  bool Has(const std::string& key) const { return static_cast<bool>(node_[key]); }
  YAML::Node Get(const std::string& key) const { return node_[key]; }
  std::string Path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  StatusOr<std::string> String(const std::string& key, bool required) const {
    YAML::Node value = node_[key];
    if (!value) {
      if (required) return Error(Path(key), "is required");
      return std::string();
    }
    if (!value.IsScalar()) return Error(Path(key), "must be a string");
    return value.as<std::string>();
  }
  StatusOr<int64_t> Int(const std::string& key, int64_t fallback, int64_t min, int64_t max) const {
    YAML::Node value = node_[key];
    if (!value) return fallback;
    int64_t out = 0;
    if (!value.IsScalar() || !YAML::convert<int64_t>::decode(value, out)) {
      return Error(Path(key), absl::StrCat("must be a whole number, not '", Dump(value), "'"));
    }
    if (out < min || out > max) return Error(Path(key), absl::StrCat("must be between ", min, " and ", max));
    return out;
  }
  // A number at path that is more than zero (or, allow_zero, not below it).
  static StatusOr<double> Number(const YAML::Node& value, const std::string& path, bool allow_zero) {
    double out = 0;
    if (!value.IsScalar() || !YAML::convert<double>::decode(value, out) || !(out == out)) {
      return Error(path, absl::StrCat("must be a number, not '", Dump(value), "'"));
    }
    if (allow_zero ? out < 0 : out <= 0) return Error(path, allow_zero ? "must not be negative" : "must be more than 0");
    return out;
  }

  static Status Error(const std::string& path, const std::string& what) {
    return InvalidArgumentError(absl::StrCat(path, ": ", what));
  }
  static std::string Dump(const YAML::Node& value) {
    std::ostringstream out;
    out << value;
    return out.str();
  }

 private:
  YAML::Node node_;
  std::string path_;
  std::vector<std::string> known_;
};

StatusOr<rpc::DeploymentConfig> ParseDeployment(const YAML::Node& node, const std::string& path) {
  Fields fields(node, path,
                {"name", "factory", "args", "num_replicas", "autoscaling", "max_ongoing_requests",
                 "health_check_period_ms", "health_check_timeout_ms", "resources"});
  HALO_RETURN_IF_ERROR(fields.Check());
  rpc::DeploymentConfig deployment;
  auto name = fields.String("name", true);
  if (!name.ok()) return name.status();
  if (name->empty()) return Fields::Error(fields.Path("name"), "must not be empty");
  deployment.set_name(*name);
  auto factory = fields.String("factory", true);
  if (!factory.ok()) return factory.status();
  if (factory->empty()) return Fields::Error(fields.Path("factory"), "must not be empty");
  deployment.set_factory(*factory);
  if (fields.Has("args")) {
    YAML::Node args = fields.Get("args");
    if (!args.IsSequence()) return Fields::Error(fields.Path("args"), "must be a list");
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].IsScalar()) {
        return Fields::Error(absl::StrCat(fields.Path("args"), "[", i, "]"), "must be a single value");
      }
      deployment.add_args(args[i].as<std::string>());
    }
  }
  if (fields.Has("num_replicas") && fields.Has("autoscaling")) {
    return Fields::Error(path, "give num_replicas or autoscaling, not both");
  }
  auto replicas = fields.Int("num_replicas", 1, 0, 10000);
  if (!replicas.ok()) return replicas.status();
  deployment.set_num_replicas(static_cast<int32_t>(*replicas));
  if (fields.Has("autoscaling")) {
    Fields scaling(fields.Get("autoscaling"), fields.Path("autoscaling"),
                   {"min_replicas", "max_replicas", "target_ongoing_requests"});
    HALO_RETURN_IF_ERROR(scaling.Check());
    auto min = scaling.Int("min_replicas", 1, 0, 10000);
    if (!min.ok()) return min.status();
    auto max = scaling.Int("max_replicas", *min, 1, 10000);
    if (!max.ok()) return max.status();
    if (*max < *min) return Fields::Error(scaling.Path("max_replicas"), "must not be below min_replicas");
    double target = 2;
    if (scaling.Has("target_ongoing_requests")) {
      auto read = Fields::Number(scaling.Get("target_ongoing_requests"), scaling.Path("target_ongoing_requests"),
                                 /*allow_zero=*/false);
      if (!read.ok()) return read.status();
      target = *read;
    }
    deployment.mutable_autoscaling()->set_min_replicas(static_cast<int32_t>(*min));
    deployment.mutable_autoscaling()->set_max_replicas(static_cast<int32_t>(*max));
    deployment.mutable_autoscaling()->set_target_ongoing_requests(target);
    deployment.set_num_replicas(static_cast<int32_t>(*min));
  }
  auto ongoing = fields.Int("max_ongoing_requests", kMaxOngoingDefault, 1, 1000000);
  if (!ongoing.ok()) return ongoing.status();
  deployment.set_max_ongoing_requests(*ongoing);
  auto period = fields.Int("health_check_period_ms", kHealthPeriodDefaultMs, 1, 86400000);
  if (!period.ok()) return period.status();
  deployment.set_health_check_period_ms(*period);
  auto timeout = fields.Int("health_check_timeout_ms", kHealthTimeoutDefaultMs, 1, 86400000);
  if (!timeout.ok()) return timeout.status();
  deployment.set_health_check_timeout_ms(*timeout);
  if (fields.Has("resources")) {
    YAML::Node resources = fields.Get("resources");
    if (!resources.IsMap()) return Fields::Error(fields.Path("resources"), "must be a mapping like {CPU: 0.5}");
    for (const auto& entry : resources) {
      const std::string resource = entry.first.as<std::string>();
      auto amount = Fields::Number(entry.second, fields.Path("resources") + "." + resource, /*allow_zero=*/true);
      if (!amount.ok()) return amount.status();
      if (*amount > 0) (*deployment.mutable_resources())[resource] = *amount;
    }
  } else {
    (*deployment.mutable_resources())["CPU"] = 1;
  }
  return deployment;
}

StatusOr<rpc::ApplicationConfig> ParseApplication(const YAML::Node& node, const std::string& path) {
  Fields fields(node, path, {"name", "route_prefix", "deployments"});
  HALO_RETURN_IF_ERROR(fields.Check());
  rpc::ApplicationConfig application;
  auto name = fields.String("name", true);
  if (!name.ok()) return name.status();
  if (name->empty()) return Fields::Error(fields.Path("name"), "must not be empty");
  application.set_name(*name);
  auto prefix = fields.String("route_prefix", false);
  if (!prefix.ok()) return prefix.status();
  std::string route = prefix->empty() ? "/" : *prefix;
  if (route.front() != '/') return Fields::Error(fields.Path("route_prefix"), "must start with '/'");
  if (route.size() > 1 && route.back() == '/') route.pop_back();
  application.set_route_prefix(route);
  YAML::Node deployments = fields.Get("deployments");
  if (!deployments || !deployments.IsSequence() || deployments.size() == 0) {
    return Fields::Error(fields.Path("deployments"), "must list at least one deployment");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < deployments.size(); ++i) {
    const std::string where = absl::StrCat(fields.Path("deployments"), "[", i, "]");
    auto deployment = ParseDeployment(deployments[i], where);
    if (!deployment.ok()) return deployment.status();
    if (!names.insert(deployment->name()).second) {
      return Fields::Error(where + ".name", "'" + deployment->name() + "' is used twice in this application");
    }
    *application.add_deployments() = std::move(*deployment);
  }
  return application;
}

}  // namespace

StatusOr<rpc::ServiceConfig> ParseServiceConfig(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& error) {
    return InvalidArgumentError(absl::StrCat("not valid YAML: ", error.what()));
  }
  try {
    Fields fields(root, "", {"name", "applications"});
    HALO_RETURN_IF_ERROR(fields.Check());
    rpc::ServiceConfig service;
    auto name = fields.String("name", true);
    if (!name.ok()) return name.status();
    if (name->empty()) return Fields::Error("name", "must not be empty");
    service.set_name(*name);
    YAML::Node applications = fields.Get("applications");
    if (!applications || !applications.IsSequence() || applications.size() == 0) {
      return Fields::Error("applications", "must list at least one application");
    }
    std::set<std::string> names, routes;
    for (size_t i = 0; i < applications.size(); ++i) {
      const std::string where = absl::StrCat("applications[", i, "]");
      auto application = ParseApplication(applications[i], where);
      if (!application.ok()) return application.status();
      if (!names.insert(application->name()).second) {
        return Fields::Error(where + ".name", "'" + application->name() + "' is used twice");
      }
      if (!routes.insert(application->route_prefix()).second) {
        return Fields::Error(where + ".route_prefix",
                             "'" + application->route_prefix() + "' is used by another application");
      }
      *service.add_applications() = std::move(*application);
    }
    return service;
  } catch (const YAML::Exception& error) {
    return InvalidArgumentError(absl::StrCat("not a service config: ", error.what()));
  }
}

StatusOr<rpc::ServiceConfig> LoadServiceConfig(const std::string& path) {
  std::ifstream file(path);
  if (!file) return NotFoundError(absl::StrCat(path, ": cannot be read"));
  std::ostringstream text;
  text << file.rdbuf();
  auto config = ParseServiceConfig(text.str());
  if (!config.ok()) return Status(config.status().code(), absl::StrCat(path, ": ", config.status().message()));
  return config;
}

}  // namespace halo::serve
