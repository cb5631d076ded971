// A service executable for the service tests: a greeter whose replicas say who they are. Under any route
// prefix (/hello here):
//   GET /hello?name=ada      -> "<greeting>, ada"
//   GET /hello/pid           -> the replica's worker pid
//   GET /hello/sleep?ms=N    -> sleeps N ms, then "slept"
//   GET /hello/big?bytes=N   -> N bytes: "0123456789" repeated
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
    if (EndsWith(request.path, "/pid")) return halo::serve::Response::Text(std::to_string(getpid()));
    if (EndsWith(request.path, "/sleep")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(request.Query("ms", "0"))));
      return halo::serve::Response::Text("slept");
    }
    if (EndsWith(request.path, "/big")) {
      const size_t bytes = std::stoul(request.Query("bytes", "0"));
      std::string body(bytes, '\0');
      for (size_t i = 0; i < bytes; ++i) body[i] = static_cast<char>('0' + i % 10);
      return halo::serve::Response::Text(std::move(body));
    }
    return halo::serve::Response::Text(greeting_ + ", " + request.Query("name"));
  }
  static bool EndsWith(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  bool CheckHealth() { return access((flag_dir_ + "/" + std::to_string(getpid())).c_str(), F_OK) != 0; }

 private:
  std::string greeting_;
  std::string flag_dir_;
};

Greeter* MakeGreeter(std::string greeting, std::string flag_dir) { return new Greeter(std::move(greeting), std::move(flag_dir)); }
HALO_DEPLOYMENT(MakeGreeter, &Greeter::Handle, &Greeter::CheckHealth);

int main(int argc, char** argv) { return halo::serve::Main(argc, argv); }
