// A service: replicas of Greeter behind every node's HTTP ingress. Deploy it with examples/greeter.yaml:
//   build/bin/halo serve deploy build/bin/greeter_service --config examples/greeter.yaml
//   curl 'http://127.0.0.1:8000/hello?name=ada'        -> hello, ada
//   curl 'http://127.0.0.1:8000/hello/whoami'          -> the replica's pid, so you can see the replicas change
#include <unistd.h>

#include <string>

#include <halo/serve.h>

class Greeter {
 public:
  explicit Greeter(std::string greeting) : greeting_(std::move(greeting)) {}
  halo::serve::Response Handle(const halo::serve::Request& request) {
    if (request.path == "/hello/whoami") return halo::serve::Response::Text(std::to_string(getpid()) + "\n");
    if (request.method == "POST") return halo::serve::Response::Text(greeting_ + ", " + request.body + "\n");
    return halo::serve::Response::Text(greeting_ + ", " + request.Query("name", "stranger") + "\n");
  }
  bool CheckHealth() { return true; }

 private:
  std::string greeting_;
};

Greeter* MakeGreeter(std::string greeting) { return new Greeter(std::move(greeting)); }
HALO_DEPLOYMENT(MakeGreeter, &Greeter::Handle, &Greeter::CheckHealth);

int main(int argc, char** argv) { return halo::serve::Main(argc, argv); }
