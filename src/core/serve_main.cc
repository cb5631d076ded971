// halo::serve::Main: what a service's executable does when it is started.
//   - by a node agent (HALO_WORKER_MODE): halo::Init, which serves the replicas and never returns;
//   - by `halo serve deploy` as `EXE --halo-serve-convert FACTORY [ARG...]`: converts the config's arguments
//     to the factory's parameter types and prints, one per line, "halo-serve-handler NAME",
//     "halo-serve-health NAME" and "halo-serve-arg HEX" (each packed argument), exit 0; or one line
//     "halo-serve-error MESSAGE", exit 2;
//   - otherwise: lists its deployments and says how to deploy it, exit 2.
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "absl/strings/escaping.h"
#include "halo/serve.h"

namespace halo::serve {

int Main(int argc, char** argv) {
  const auto& deployments = internal::Deployments();
  const char* worker_mode = std::getenv("HALO_WORKER_MODE");
  if (worker_mode != nullptr && std::string(worker_mode) == "1") {
    halo::Init(argc, argv);
    return 0;
  }
  if (argc >= 3 && std::strcmp(argv[1], "--halo-serve-convert") == 0) {
    const std::string factory = argv[2];
    auto it = deployments.find(factory);
    if (it == deployments.end()) {
      std::string known;
      for (const auto& [name, deployment] : deployments) known += (known.empty() ? "" : ", ") + name;
      std::cout << "halo-serve-error this executable defines no deployment factory '" << factory
                << "' (HALO_DEPLOYMENT factories here: " << (known.empty() ? "none" : known) << ")" << std::endl;
      return 2;
    }
    std::vector<std::string> args(argv + 3, argv + argc);
    std::string error;
    auto packed = it->second.convert_args(args, &error);
    if (!packed) {
      std::cout << "halo-serve-error factory " << factory << ": " << error << std::endl;
      return 2;
    }
    std::cout << "halo-serve-handler " << it->second.handler << "\n";
    if (!it->second.health.empty()) std::cout << "halo-serve-health " << it->second.health << "\n";
    for (const auto& arg : *packed) std::cout << "halo-serve-arg " << absl::BytesToHexString(arg) << "\n";
    std::cout << std::flush;
    return 0;
  }
  std::cerr << "This is a Halo service executable. Deploy it with\n"
            << "  halo serve deploy " << (argc > 0 ? argv[0] : "EXECUTABLE") << " --config service.yaml\n"
            << "Its deployment factories:";
  for (const auto& [name, deployment] : deployments) std::cerr << " " << name;
  std::cerr << std::endl;
  return 2;
}

}  // namespace halo::serve
