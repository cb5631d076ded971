// `halo serve validate CONFIG`: reads a service config the way `halo serve deploy` will, and prints what it
// would deploy, or the one line that names the mistake.
#include <google/protobuf/util/json_util.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "serve/service_config.h"

namespace halo::cli {

int RunServeValidate(const std::string& path, bool json) {
  auto config = serve::LoadServiceConfig(path);
  if (!config.ok()) return Fail(std::string(config.status().message()));
  if (json) {
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(*config, &out, options);
    std::cout << out;
    return 0;
  }
  std::cout << "service " << config->name() << ": " << config->applications_size() << " application(s)\n";
  for (const auto& application : config->applications()) {
    std::cout << "  " << application.name() << " at " << application.route_prefix() << "\n";
    for (const auto& deployment : application.deployments()) {
      std::vector<std::string> resources;
      for (const auto& [name, amount] : deployment.resources()) resources.push_back(absl::StrCat(name, "=", amount));
      const std::string replicas =
          deployment.has_autoscaling()
              ? absl::StrCat(deployment.autoscaling().min_replicas(), "-", deployment.autoscaling().max_replicas(),
                             " replicas (autoscaling, ", deployment.autoscaling().target_ongoing_requests(),
                             " ongoing requests each)")
              : absl::StrCat(deployment.num_replicas(), " replica(s)");
      std::cout << "    " << deployment.name() << ": " << deployment.factory() << "(" << absl::StrJoin(deployment.args(), ", ")
                << "), " << replicas << ", max_ongoing_requests " << deployment.max_ongoing_requests()
                << ", resources " << absl::StrJoin(resources, ",") << "\n";
    }
  }
  return 0;
}

}  // namespace halo::cli
