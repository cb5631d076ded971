// The ingress in front of real replicas: actors of a HALO_DEPLOYMENT class on a real cluster (head and node
// agent on loopback, this test process as driver and, started by the node agents, as the workers), reached
// through ActorReplicaCaller over their workers' gRPC. Requests keep succeeding when a replica's worker is
// SIGKILLed; a handler's exception is a 500 naming it; config arguments convert to the factory's types.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <future>
#include <iostream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/process.h"
#include "halo/serve.h"
#include "integration/driver_cluster.h"
#include "rpc/gcs_client.h"
#include "serve/actor_replica_caller.h"
#include "serve/http_ingress.h"
#include "support/test_env.h"

namespace {

class Greeter {
 public:
  explicit Greeter(std::string greeting) : greeting_(std::move(greeting)) {}
  halo::serve::Response Handle(const halo::serve::Request& request) {
    if (request.path == "/hello/throw") throw std::invalid_argument("no greeting for you");
    if (request.path == "/hello/pid") return halo::serve::Response::Text(std::to_string(getpid()));
    if (request.path == "/hello/slow") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(request.Query("ms", "0"))));
    }
    return halo::serve::Response::Text(greeting_ + ", " + request.Query("name"));
  }
  bool CheckHealth() { return true; }

 private:
  std::string greeting_;
};
Greeter* MakeGreeter(std::string greeting) { return new Greeter(std::move(greeting)); }
HALO_DEPLOYMENT(MakeGreeter, &Greeter::Handle, &Greeter::CheckHealth);

// A factory with typed parameters, for the argument conversion.
Greeter* MakeCounted(std::string greeting, int times, double ratio, bool loud) {
  return new Greeter(greeting + std::to_string(times) + std::to_string(ratio) + (loud ? "!" : ""));
}
HALO_DEPLOYMENT(MakeCounted, &Greeter::Handle);

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

http::response<http::string_body> Get(int port, const std::string& target) {
  net::io_context context;
  tcp::socket socket(context);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
  timeval bound{30, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
  http::request<http::string_body> request(http::verb::get, target, 11);
  request.set(http::field::host, "localhost");
  http::write(socket, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  return response;
}

TEST(ServeArgsTest, ConfigArgumentsConvertToTheFactorysTypesOrSayWhichDoesNot) {
  const auto& deployments = halo::serve::internal::Deployments();
  ASSERT_EQ(deployments.count("MakeCounted"), 1u);
  const auto& counted = deployments.at("MakeCounted");
  EXPECT_EQ(counted.handler, "&Greeter::Handle");
  EXPECT_EQ(counted.health, "");
  EXPECT_EQ(deployments.at("MakeGreeter").health, "&Greeter::CheckHealth");
  std::string error;
  auto packed = counted.convert_args({"hi", "3", "0.5", "true"}, &error);
  ASSERT_TRUE(packed.has_value()) << error;
  ASSERT_EQ(packed->size(), 4u);
  EXPECT_EQ(halo::internal::Unpack<int>((*packed)[1]), 3);
  EXPECT_EQ(halo::internal::Unpack<double>((*packed)[2]), 0.5);
  EXPECT_FALSE(counted.convert_args({"hi", "three", "0.5", "true"}, &error).has_value());
  EXPECT_EQ(error, "argument 1 ('three') is not a whole number");
  EXPECT_FALSE(counted.convert_args({"hi"}, &error).has_value());
  EXPECT_EQ(error, "takes 4 argument(s), the config gives 1");
  EXPECT_FALSE(counted.convert_args({"hi", "3", "0.5", "yes"}, &error).has_value());
  EXPECT_EQ(error, "argument 3 ('yes') is not true or false");
}

// The ingress under test: a RouteTable, an ActorReplicaCaller for MakeGreeter's replicas and an HttpIngress
// over them on a free loopback port (started by the test).
struct TestIngress {
  TestIngress(uint64_t seed, const std::string& caller_id, int64_t request_timeout_ms)
      : random(seed),
        routes(random),
        caller(halo::serve::internal::Deployments().at("MakeGreeter").handler, caller_id),
        ingress(routes, caller, Settings(request_timeout_ms)) {}
  static halo::serve::IngressSettings Settings(int64_t request_timeout_ms) {
    halo::serve::IngressSettings settings;
    settings.port = 0;
    settings.request_timeout_ms = request_timeout_ms;
    return settings;
  }
  halo::SeededRandom random;
  halo::serve::RouteTable routes;
  halo::serve::ActorReplicaCaller caller;
  halo::serve::HttpIngress ingress;
};

class ServeReplicaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new halo::testing::DriverCluster({"--num-cpus", "2"}, 1, {"--num-cpus", "2"});
    cluster_->Start();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  // The actor's directory entry once it is ALIVE with an address.
  static halo::rpc::ActorInfo WaitAlive(const std::string& actor_id) {
    halo::GcsClient gcs(cluster_->head().address(), 5000);
    halo::rpc::ActorInfo found;
    halo::testing::WaitUntil(
        [&] {
          auto actors = gcs.ListActors();
          if (!actors.ok()) return false;
          for (const auto& actor : *actors) {
            if (actor.actor_id() == actor_id && actor.state() == halo::rpc::ACTOR_ALIVE && !actor.address().empty()) {
              found = actor;
              return true;
            }
          }
          return false;
        },
        std::chrono::seconds(30));
    return found;
  }
  static halo::testing::DriverCluster* cluster_;
};
halo::testing::DriverCluster* ServeReplicaTest::cluster_ = nullptr;

TEST_F(ServeReplicaTest, RequestsReachRealReplicasAndSurviveOneBeingKilled) {
  auto first = halo::Actor(MakeGreeter).Remote(std::string("hello"));
  auto second = halo::Actor(MakeGreeter).Remote(std::string("hello"));
  halo::serve::DeploymentRoute route;
  route.deployment = "Greeter";
  route.route_prefix = "/hello";
  for (const auto& id : {first.ID(), second.ID()}) {
    halo::rpc::ActorInfo actor = WaitAlive(id);
    ASSERT_FALSE(actor.address().empty()) << "actor " << id << " never came up";
    route.replicas.push_back(halo::serve::ReplicaInfo{id, actor.address(), true, actor.num_restarts()});
  }
  TestIngress front(9, "ingress-test", 20000);
  front.routes.Replace({route});
  halo::serve::HttpIngress& ingress = front.ingress;
  ASSERT_TRUE(ingress.Start().ok());

  auto greeted = Get(ingress.port(), "/hello?name=ada");
  EXPECT_EQ(greeted.result_int(), 200u) << greeted.body();
  EXPECT_EQ(greeted.body(), "hello, ada");
  auto threw = Get(ingress.port(), "/hello/throw");
  EXPECT_EQ(threw.result_int(), 500u);
  EXPECT_NE(threw.body().find("no greeting for you"), std::string::npos) << threw.body();

  // Both replicas answer (their worker pids differ); then one worker is SIGKILLed.
  std::set<int> pids;
  for (int i = 0; i < 200 && pids.size() < 2; ++i) {
    auto response = Get(ingress.port(), "/hello/pid");
    ASSERT_EQ(response.result_int(), 200u) << response.body();
    pids.insert(std::stoi(response.body()));
  }
  ASSERT_EQ(pids.size(), 2u) << "requests never reached the second replica";
  const int victim = *pids.begin();
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  ASSERT_TRUE(halo::WaitForProcessExit(victim, 10000));
  int ok = 0;
  std::set<int> after;
  for (int i = 0; i < 50; ++i) {
    auto response = Get(ingress.port(), "/hello/pid");
    if (response.result_int() == 200) {
      ok += 1;
      after.insert(std::stoi(response.body()));
    } else {
      ADD_FAILURE() << "request " << i << " got " << response.result_int() << ": " << response.body();
    }
  }
  EXPECT_EQ(ok, 50);
  EXPECT_EQ(after.count(victim), 0u);
  ingress.Stop();
}

// A replica whose worker stops answering (SIGSTOP: like a host cut off) holds a GET; once the routes no
// longer list it, the caller lets its calls go and the GET is answered by the replica that is listed, long
// before the request timeout would have given a 504.
TEST_F(ServeReplicaTest, CallsToAReplicaTheRoutesDroppedEndAndGetIsTriedElsewhere) {
  auto first = halo::Actor(MakeGreeter).Remote(std::string("hello"));
  auto second = halo::Actor(MakeGreeter).Remote(std::string("hello"));
  halo::rpc::ActorInfo stuck = WaitAlive(first.ID());
  halo::rpc::ActorInfo listed = WaitAlive(second.ID());
  ASSERT_FALSE(stuck.address().empty());
  ASSERT_FALSE(listed.address().empty());
  auto route_of = [](const halo::rpc::ActorInfo& actor) {
    halo::serve::DeploymentRoute route;
    route.deployment = "Greeter";
    route.route_prefix = "/hello";
    route.replicas.push_back(halo::serve::ReplicaInfo{actor.actor_id(), actor.address(), true, actor.num_restarts()});
    return route;
  };
  TestIngress front(3, "ingress-retain-test", 60000);
  halo::serve::RouteTable& routes = front.routes;
  halo::serve::ActorReplicaCaller& caller = front.caller;
  halo::serve::HttpIngress& ingress = front.ingress;
  routes.Replace({route_of(stuck)});
  ASSERT_TRUE(ingress.Start().ok());
  const std::vector<halo::serve::DeploymentRoute> moved = {route_of(listed)};
  routes.Replace(moved);
  const int listed_pid = std::stoi(Get(ingress.port(), "/hello/pid").body());
  routes.Replace({route_of(stuck)});
  const int stuck_pid = std::stoi(Get(ingress.port(), "/hello/pid").body());
  ASSERT_NE(stuck_pid, listed_pid);
  EXPECT_EQ(caller.known_replicas(), 2u);

  ASSERT_TRUE(halo::testing::PauseProcess(stuck_pid));
  // The first GET's push goes out to the stopped replica; the second waits here for that push's answer.
  const uint64_t pushes_before = caller.pushes_sent();
  auto held = std::async(std::launch::async, [&] { return Get(ingress.port(), "/hello/pid"); });
  ASSERT_TRUE(halo::testing::WaitUntil([&] { return caller.pushes_sent() == pushes_before + 1; },
                                       std::chrono::seconds(10)));
  auto queued = std::async(std::launch::async, [&] { return Get(ingress.port(), "/hello/pid"); });
  EXPECT_EQ(held.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout) << "the stopped replica answered";
  EXPECT_EQ(caller.pushes_sent(), pushes_before + 1) << "a second push went out while the first was unanswered";
  routes.Replace(moved);
  caller.Retain(moved);
  for (auto* request : {&held, &queued}) {
    ASSERT_EQ(request->wait_for(std::chrono::seconds(30)), std::future_status::ready) << "a held GET was not let go";
    auto answered = request->get();
    EXPECT_EQ(answered.result_int(), 200u) << answered.body();
    EXPECT_EQ(answered.body(), std::to_string(listed_pid));
  }
  EXPECT_EQ(caller.known_replicas(), 1u) << "the dropped replica's order was kept";
  kill(stuck_pid, SIGCONT);
  ingress.Stop();
  halo::Kill(first);
  halo::Kill(second);
}

// Concurrent requests to one replica share pushes (those made while a push is out leave together in the next)
// and each still gets the answer to its own request.
TEST_F(ServeReplicaTest, ConcurrentRequestsSharePushesAndEachGetsItsOwnAnswer) {
  auto actor = halo::Actor(MakeGreeter).Remote(std::string("hello"));
  halo::rpc::ActorInfo info = WaitAlive(actor.ID());
  ASSERT_FALSE(info.address().empty());
  halo::serve::DeploymentRoute route;
  route.deployment = "Greeter";
  route.route_prefix = "/hello";
  route.max_ongoing_requests = 100;
  route.replicas.push_back(halo::serve::ReplicaInfo{info.actor_id(), info.address(), true, info.num_restarts()});
  TestIngress front(5, "ingress-batch-test", 30000);
  front.routes.Replace({route});
  ASSERT_TRUE(front.ingress.Start().ok());
  constexpr int kClients = 8;
  constexpr int kEach = 25;
  std::atomic<int> right{0};
  std::vector<std::string> wrong;
  std::mutex wrong_mutex;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kEach; ++i) {
        const std::string name = "c" + std::to_string(c) + "-" + std::to_string(i);
        auto response = Get(front.ingress.port(), "/hello/slow?ms=2&name=" + name);
        if (response.result_int() == 200 && response.body() == "hello, " + name) {
          right += 1;
        } else {
          std::lock_guard<std::mutex> lock(wrong_mutex);
          wrong.push_back(name + " -> " + std::to_string(response.result_int()) + " " + response.body());
        }
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(right.load(), kClients * kEach) << (wrong.empty() ? "" : wrong.front());
  // Each push is out at least 2 ms while the other clients' requests arrive: they leave together.
  EXPECT_LT(front.caller.pushes_sent(), static_cast<uint64_t>(kClients * kEach * 3 / 4))
      << "requests made while a push was out did not share pushes";
  std::cout << "  " << kClients * kEach << " requests in " << front.caller.pushes_sent() << " pushes" << std::endl;
  front.ingress.Stop();
  halo::Kill(actor);
}

}  // namespace

int main(int argc, char** argv) {
  // A node agent starts this executable as a worker: Init then serves and never returns.
  if (std::getenv("HALO_WORKER_MODE") != nullptr) halo::Init(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
