// Requests/s and latency of a trivial handler over HTTP, driven by wrk (Debian's), three ways:
//   plain            a plain Boost.Beast server answering in-process (no Halo): the floor;
//   ingress-echo     Halo's HttpIngress with an in-process caller that answers at once: the ingress alone;
//   ingress-replica  Halo's HttpIngress in front of a real replica (an actor of a HALO_DEPLOYMENT class on a
//                    cluster; --address): what a service costs end to end on one machine.
// Each mode runs --rounds times (wrk -t1 -c<connections> -d<duration>s --latency); prints each round and the
// medians as `name: value unit` lines. This binary is also the replica's worker (worker mode).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <regex>
#include <thread>

#include "common/random.h"
#include "halo/serve.h"
#include "rpc/gcs_client.h"
#include "serve/actor_replica_caller.h"
#include "serve/http_ingress.h"
#include "rpc/cluster_security.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class Greeter {
 public:
  halo::serve::Response Handle(const halo::serve::Request& request) {
    return halo::serve::Response::Text("hello, " + request.Query("name"));
  }
};
Greeter* MakeBenchGreeter() { return new Greeter(); }
HALO_DEPLOYMENT(MakeBenchGreeter, &Greeter::Handle);

// The floor: a keep-alive Beast server on one thread that answers every request with the same text.
class PlainSession : public std::enable_shared_from_this<PlainSession> {
 public:
  explicit PlainSession(tcp::socket socket) : stream_(std::move(socket)) {}
  void Read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code error, size_t) {
      if (error) return;
      std::string target(self->request_.target());
      const size_t name = target.find("name=");
      auto response = std::make_shared<http::response<http::string_body>>(http::status::ok, 11);
      response->set(http::field::content_type, "text/plain; charset=utf-8");
      response->body() = "hello, " + (name == std::string::npos ? std::string() : target.substr(name + 5));
      response->keep_alive(self->request_.keep_alive());
      response->prepare_payload();
      http::async_write(self->stream_, *response, [self, response](beast::error_code error, size_t) {
        if (!error && response->keep_alive()) self->Read();
      });
    });
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
};

void PlainAccept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](beast::error_code error, tcp::socket socket) {
    if (error) return;
    std::make_shared<PlainSession>(std::move(socket))->Read();
    PlainAccept(acceptor);
  });
}

class EchoCaller : public halo::serve::ReplicaCaller {
 public:
  void Call(const halo::serve::ReplicaInfo&, const halo::serve::Request& request, int64_t,
            std::function<void(Result)> done) override {
    Result result;
    result.response = halo::serve::Response::Text("hello, " + request.Query("name"));
    done(std::move(result));
  }
};

struct Figures {
  double requests_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

double ToMs(const std::string& value, const std::string& unit) {
  const double number = std::stod(value);
  if (unit == "us") return number / 1000;
  if (unit == "s") return number * 1000;
  return number;  // ms
}

// Runs wrk against port and reads its summary.
Figures RunWrk(int port, int connections, int duration_s) {
  const std::string command = "wrk -t1 -c" + std::to_string(connections) + " -d" + std::to_string(duration_s) +
                              "s --latency 'http://127.0.0.1:" + std::to_string(port) + "/hello?name=ada' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run wrk (install-deps.sh bench installs it)");
  std::string output;
  std::array<char, 4096> chunk{};
  size_t n;
  while ((n = fread(chunk.data(), 1, chunk.size(), pipe)) > 0) output.append(chunk.data(), n);
  const int status = pclose(pipe);
  if (status != 0) throw std::runtime_error("wrk failed: " + output);
  Figures figures;
  std::smatch match;
  if (std::regex_search(output, match, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) {
    figures.requests_per_s = std::stod(match[1]);
  }
  if (std::regex_search(output, match, std::regex(R"(\n\s+50%\s+([0-9.]+)(us|ms|s))"))) {
    figures.p50_ms = ToMs(match[1], match[2]);
  }
  if (std::regex_search(output, match, std::regex(R"(\n\s+99%\s+([0-9.]+)(us|ms|s))"))) {
    figures.p99_ms = ToMs(match[1], match[2]);
  }
  if (std::regex_search(output, match, std::regex(R"(Non-2xx or 3xx responses:\s+([0-9]+))"))) {
    throw std::runtime_error("wrk saw " + std::string(match[1]) + " failed responses:\n" + output);
  }
  if (figures.requests_per_s == 0) throw std::runtime_error("could not read wrk's output:\n" + output);
  return figures;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

void Report(const std::string& mode, const std::vector<Figures>& rounds) {
  std::vector<double> rps, p50, p99;
  for (const auto& round : rounds) {
    rps.push_back(round.requests_per_s);
    p50.push_back(round.p50_ms);
    p99.push_back(round.p99_ms);
  }
  std::printf("%s_requests_per_s: %.0f requests/s (median of %zu; min %.0f, max %.0f)\n", mode.c_str(), Median(rps),
              rps.size(), *std::min_element(rps.begin(), rps.end()), *std::max_element(rps.begin(), rps.end()));
  std::printf("%s_p50_ms: %.3f ms (median)\n", mode.c_str(), Median(p50));
  std::printf("%s_p99_ms: %.3f ms (median)\n", mode.c_str(), Median(p99));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("HALO_WORKER_MODE") != nullptr) halo::Init(argc, argv);  // the replica's worker
  CLI::App app{"serve_ingress_bench: a trivial handler over HTTP, driven by wrk"};
  // The cluster this bench starts and this process share one token.
  setenv(halo::rpc::kTokenEnvironment, halo::rpc::NewClusterToken().c_str(), /*overwrite=*/0);
  std::string modes = "plain,ingress-echo,ingress-replica";
  std::string address;
  int rounds = 3, connections = 16, duration_s = 5;
  app.add_option("--modes", modes, "comma-separated: plain, ingress-echo, ingress-replica");
  app.add_option("--address", address, "the cluster's GCS (ingress-replica)");
  app.add_option("--rounds", rounds)->check(CLI::Range(1, 100));
  app.add_option("--connections", connections)->check(CLI::Range(1, 10000));
  app.add_option("--duration-s", duration_s)->check(CLI::Range(1, 3600));
  CLI11_PARSE(app, argc, argv);
  try {
    for (const std::string& mode : {std::string("plain"), std::string("ingress-echo"), std::string("ingress-replica")}) {
      if (modes.find(mode) == std::string::npos) continue;
      std::vector<Figures> figures;
      if (mode == "plain") {
        net::io_context context;
        tcp::acceptor acceptor(context, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        PlainAccept(acceptor);
        std::thread server([&] { context.run(); });
        for (int i = 0; i < rounds; ++i) figures.push_back(RunWrk(acceptor.local_endpoint().port(), connections, duration_s));
        context.stop();
        server.join();
      } else {
        halo::SeededRandom random(1);
        halo::serve::RouteTable routes(random);
        halo::serve::DeploymentRoute route;
        route.route_prefix = "/hello";
        route.deployment = "Greeter";
        route.max_ongoing_requests = 1000;
        std::unique_ptr<halo::serve::ReplicaCaller> caller;
        std::optional<halo::ActorHandle<Greeter>> replica;
        if (mode == "ingress-echo") {
          route.replicas.push_back(halo::serve::ReplicaInfo{"echo", "in-process", true, 0});
          caller = std::make_unique<EchoCaller>();
        } else {
          if (address.empty()) throw std::runtime_error("ingress-replica needs --address of a running cluster");
          std::string flag = "--address";
          char program[] = "serve_ingress_bench";
          char* init_argv[] = {program, flag.data(), address.data(), nullptr};
          halo::Init(3, init_argv);
          replica = halo::Actor(MakeBenchGreeter).Remote();
          halo::GcsClient gcs(address, 5000);
          halo::rpc::ActorInfo alive;
          for (int i = 0; i < 600 && alive.address().empty(); ++i) {
            auto actors = gcs.ListActors();
            for (const auto& actor : actors.ok() ? *actors : std::vector<halo::rpc::ActorInfo>{}) {
              if (actor.actor_id() == replica->ID() && actor.state() == halo::rpc::ACTOR_ALIVE) alive = actor;
            }
            if (alive.address().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
          if (alive.address().empty()) throw std::runtime_error("the replica never came up");
          route.replicas.push_back(halo::serve::ReplicaInfo{alive.actor_id(), alive.address(), true,
                                                            alive.num_restarts()});
          caller = std::make_unique<halo::serve::ActorReplicaCaller>(
              halo::serve::internal::Deployments().at("MakeBenchGreeter").handler, "bench-ingress");
        }
        routes.Replace({route});
        halo::serve::IngressSettings settings;
        settings.port = 0;
        halo::serve::HttpIngress ingress(routes, *caller, settings);
        halo::Status started = ingress.Start();
        if (!started.ok()) throw std::runtime_error(std::string(started.message()));
        for (int i = 0; i < rounds; ++i) figures.push_back(RunWrk(ingress.port(), connections, duration_s));
        ingress.Stop();
        if (replica) halo::Shutdown();
      }
      for (size_t i = 0; i < figures.size(); ++i) {
        std::fprintf(stderr, "%s round %zu: %.0f requests/s, p50 %.3f ms, p99 %.3f ms\n", mode.c_str(), i + 1,
                     figures[i].requests_per_s, figures[i].p50_ms, figures[i].p99_ms);
      }
      Report(mode, figures);
    }
  } catch (const std::exception& error) {
    std::cerr << "serve_ingress_bench: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
