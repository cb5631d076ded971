// service.yaml: a full file read with its defaults, and each kind of mistake refused with one line naming
// where it is.
#include <gtest/gtest.h>

#include "serve/service_config.h"

namespace halo::serve {
namespace {

constexpr char kGreeter[] = R"(
name: greeter
applications:
  - name: hello
    route_prefix: /hello/
    deployments:
      - name: Greeter
        factory: MakeGreeter
        args: ["hello", 3]
        num_replicas: 3
        max_ongoing_requests: 10
        health_check_period_ms: 1000
        health_check_timeout_ms: 3000
        resources: {CPU: 0.5, GPU: 0}
      - name: Scaled
        factory: MakeScaled
        autoscaling: {min_replicas: 1, max_replicas: 8, target_ongoing_requests: 4}
  - name: root
    deployments:
      - {name: Fallback, factory: MakeFallback}
)";

TEST(ServiceConfigTest, FullFileWithDefaults) {
  auto config = ParseServiceConfig(kGreeter);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name(), "greeter");
  ASSERT_EQ(config->applications_size(), 2);
  const rpc::ApplicationConfig& hello = config->applications(0);
  EXPECT_EQ(hello.route_prefix(), "/hello") << "a trailing slash is dropped";
  const rpc::DeploymentConfig& greeter = hello.deployments(0);
  EXPECT_EQ(greeter.factory(), "MakeGreeter");
  ASSERT_EQ(greeter.args_size(), 2);
  EXPECT_EQ(greeter.args(1), "3");
  EXPECT_EQ(greeter.num_replicas(), 3);
  EXPECT_FALSE(greeter.has_autoscaling());
  EXPECT_EQ(greeter.max_ongoing_requests(), 10);
  EXPECT_EQ(greeter.resources().at("CPU"), 0.5);
  EXPECT_EQ(greeter.resources().count("GPU"), 0u) << "a zero resource is not a requirement";
  const rpc::DeploymentConfig& scaled = hello.deployments(1);
  ASSERT_TRUE(scaled.has_autoscaling());
  EXPECT_EQ(scaled.autoscaling().max_replicas(), 8);
  EXPECT_EQ(scaled.autoscaling().target_ongoing_requests(), 4);
  EXPECT_EQ(scaled.num_replicas(), 1) << "starts at min_replicas";
  const rpc::DeploymentConfig& fallback = config->applications(1).deployments(0);
  EXPECT_EQ(config->applications(1).route_prefix(), "/");
  EXPECT_EQ(fallback.num_replicas(), 1);
  EXPECT_EQ(fallback.max_ongoing_requests(), 100);
  EXPECT_EQ(fallback.health_check_period_ms(), 10000);
  EXPECT_EQ(fallback.health_check_timeout_ms(), 30000);
  EXPECT_EQ(fallback.resources().at("CPU"), 1);
}

// Each mistake, and the start of the one line it must give.
struct Mistake {
  const char* yaml;
  const char* error;
};

TEST(ServiceConfigTest, EachMistakeIsOneLineNamingWhereItIs) {
  const Mistake mistakes[] = {
      {"name: s\napplications:\n  - name: a\n    deployments:\n      - {name: D, factory: F, num_replica: 2}\n",
       "applications[0].deployments[0].num_replica: unknown key"},
      {"name: s\nextra: 1\napplications: []\n", "extra: unknown key"},
      {"name: s\napplications:\n  - {name: a, route_prefix: /x, deployments: [{name: D, factory: F}]}\n"
       "  - {name: b, route_prefix: /x/, deployments: [{name: E, factory: G}]}\n",
       "applications[1].route_prefix: '/x' is used by another application"},
      {"name: s\napplications:\n  - {name: a, route_prefix: x, deployments: [{name: D, factory: F}]}\n",
       "applications[0].route_prefix: must start with '/'"},
      {"name: s\napplications:\n  - {name: a, deployments: [{name: D}]}\n",
       "applications[0].deployments[0].factory: is required"},
      {"name: s\napplications:\n  - {name: a, deployments: [{name: D, factory: F, num_replicas: lots}]}\n",
       "applications[0].deployments[0].num_replicas: must be a whole number"},
      {"name: s\napplications:\n  - {name: a, deployments: [{name: D, factory: F, num_replicas: 2, "
       "autoscaling: {max_replicas: 3}}]}\n",
       "applications[0].deployments[0]: give num_replicas or autoscaling, not both"},
      {"name: s\napplications:\n  - {name: a, deployments: [{name: D, factory: F, "
       "autoscaling: {min_replicas: 4, max_replicas: 2}}]}\n",
       "applications[0].deployments[0].autoscaling.max_replicas: must not be below min_replicas"},
      {"name: s\napplications:\n  - {name: a, deployments: [{name: D, factory: F, resources: {CPU: -1}}]}\n",
       "applications[0].deployments[0].resources.CPU: must not be negative"},
      {"name: s\napplications:\n  - {name: a, deployments: [{name: D, factory: F}, {name: D, factory: G}]}\n",
       "applications[0].deployments[1].name: 'D' is used twice"},
      {"name: s\napplications:\n  - {name: a, deployments: []}\n",
       "applications[0].deployments: must list at least one deployment"},
      {"applications: []\n", "name: is required"},
      {"name: [unclosed\n", "not valid YAML"},
      {"- just\n- a list\n", ": must be a mapping"},
  };
  for (const Mistake& mistake : mistakes) {
    auto config = ParseServiceConfig(mistake.yaml);
    ASSERT_FALSE(config.ok()) << "accepted:\n" << mistake.yaml;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(config.status().message());
    EXPECT_EQ(message.rfind(mistake.error, 0), 0u) << "got: " << message << "\nwanted: " << mistake.error;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "more than one line: " << message;
  }
}

TEST(ServiceConfigTest, MissingFileNamesThePath) {
  auto config = LoadServiceConfig("/nonexistent/service.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("/nonexistent/service.yaml"), std::string::npos);
}

}  // namespace
}  // namespace halo::serve
