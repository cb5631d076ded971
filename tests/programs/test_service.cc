// A service executable for the service tests: a greeter whose replicas say who they are.
//   GET /hello?name=ada   -> "<greeting>, ada"
//   GET /hello/pid        -> the replica's worker pid
//   GET /hello/sleep?ms=N -> sleeps N ms, then "slept"
// CheckHealth fails while the file <flag_dir>/<pid> exists, so a test can make one replica unhealthy.
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "halo/serve.h"

class Greeter {
 public:
  Greeter(std::string greeting, std::string flag_dir) : greeting_(std::move(greeting)), flag_dir_(std::move(flag_dir)) {}
  halo::serve::Response Handle(const halo::serve::Request& request) {
    if (request.path == "/hello/pid") return halo::serve::Response::Text(std::to_string(getpid()));
    if (request.path == "/hello/sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(request.Query("ms", "0"))));
      return halo::serve::Response::Text("slept");
    }
    return halo::serve::Response::Text(greeting_ + ", " + request.Query("name"));
  }
  bool CheckHealth() { return access((flag_dir_ + "/" + std::to_string(getpid())).c_str(), F_OK) != 0; }

 private:
  std::string greeting_;
  std::string flag_dir_;
};

Greeter* MakeGreeter(std::string greeting, std::string flag_dir) { return new Greeter(std::move(greeting), std::move(flag_dir)); }
HALO_DEPLOYMENT(MakeGreeter, &Greeter::Handle, &Greeter::CheckHealth);

int main(int argc, char** argv) { return halo::serve::Main(argc, argv); }
