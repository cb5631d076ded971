// Halo across hosts: a head, three node hosts and a driver host in network namespaces joined by a bridge
// (tests/multihost/multihost_cluster.h), every daemon started as the README says. Checks that every process
// advertises an address the others reach, that tasks, large objects, lineage rebuild and actors work across
// hosts, and that partitions and pauses never leave two live instances of one actor: each actor instance
// writes heartbeats (its pid, the host's monotonic clock, whether its lease holds) that the test compares.
// Each test runs in its own process with its own cluster (see main): halo::Init binds a process to one
// cluster and one network namespace.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "halo/halo.h"
#include "multihost/beacon.h"
#include "multihost/multihost_cluster.h"
#include "nlohmann/json.hpp"

namespace {

using halo::testing::MultiHostCluster;
using halo::testing::WaitUntil;
using halo::testing::Beacon;
using halo::testing::Instances;
using halo::testing::MakeBeacon;
using halo::testing::MonotonicNs;
using halo::testing::NodeAddress;
using halo::testing::ProcessExited;
using halo::testing::WorstOverlapNs;

std::string WhereAmI(int) { return NodeAddress(); }
std::string WhereAfterMs(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return NodeAddress();
}
std::string Blob(int megabytes) { return std::string(static_cast<size_t>(megabytes) << 20, 'b'); }
// As Blob, and records in <dir>/made-by where it ran.
std::string BlobNoting(int megabytes, std::string dir) {
  std::ofstream(dir + "/made-by") << NodeAddress() << "\n";
  return Blob(megabytes);
}
size_t Length(std::string blob) { return blob.size(); }

}  // namespace

HALO_REMOTE(WhereAmI, WhereAfterMs, Blob, BlobNoting, Length, MakeBeacon, &Beacon::Record, &Beacon::Pid, &Beacon::Node);

namespace {

nlohmann::json ListJson(MultiHostCluster& cluster, const std::string& what) {
  auto listed = cluster.HaloIn(MultiHostCluster::kDriver, {"list", what, "--json", "--address", cluster.GcsAddress()});
  if (listed.exit_code != 0) return nlohmann::json::array();
  try {
    return nlohmann::json::parse(listed.output);
  } catch (...) {
    return nlohmann::json::array();
  }
}

std::string NodeState(MultiHostCluster& cluster, const std::string& node_id) {
  for (const auto& node : ListJson(cluster, "nodes")) {
    if (node.value("node_id", "") == node_id) return node.value("state", "");
  }
  return "";
}

class MultiHost : public ::testing::Test {
 protected:
  virtual MultiHostCluster::Options ClusterOptions() const { return {}; }
  void SetUp() override {
    cluster_ = std::make_unique<MultiHostCluster>(ClusterOptions());
    cluster_->Start();
    cluster_->EnterDriverHost();
    setenv("HALO_ADDRESS", cluster_->GcsAddress().c_str(), 1);
    halo::Init();
    beacons_ = cluster_->dir() + "/beacons";
    std::filesystem::create_directories(beacons_);
  }
  void TearDown() override { halo::Shutdown(); }

  // A detached beacon actor, restarted without bound, its calls retried; waits for its first heartbeat.
  halo::ActorHandle<Beacon> StartBeacon() {
    auto beacon = halo::Actor(MakeBeacon)
                      .SetLifetime(halo::Detached)
                      .SetMaxRestarts(-1)
                      .SetMaxTaskRetries(-1)
                      .SetResources({{"beacon", 1}})  // node hosts only, one beacon each
                      .Remote(beacons_);
    first_pid_ = *halo::Get(beacon.Task(&Beacon::Pid).Remote(), std::chrono::seconds(30));
    beacon_host_ = cluster_->HostOfAddress(*halo::Get(beacon.Task(&Beacon::Node).Remote()));
    EXPECT_TRUE(WaitUntil([&] { return Instances(beacons_).count(first_pid_) > 0; }, std::chrono::seconds(10)));
    return beacon;
  }
  // Waits for an instance other than first_pid_ to beat; returns its first heartbeat time (or -1).
  int64_t WaitForReplacement(std::chrono::milliseconds timeout) {
    int64_t first = -1;
    WaitUntil(
        [&] {
          for (const auto& [pid, instance] : Instances(beacons_)) {
            if (pid != first_pid_) first = instance.first_ns;
          }
          return first >= 0;
        },
        timeout);
    return first;
  }

  std::unique_ptr<MultiHostCluster> cluster_;
  std::string beacons_;
  int first_pid_ = 0;
  std::string beacon_host_;
};

// Every node registered with the address of its own host (found from its route to the GCS, no --host), and
// tasks run on every host; a large object made on one host is read on another and by the driver.
TEST_F(MultiHost, EveryProcessAdvertisesItsHostAndWorkCrossesHosts) {
  std::set<std::string> registered;
  for (const auto& node : ListJson(*cluster_, "nodes")) {
    const std::string address = node.value("address", "");
    EXPECT_EQ(address.find("127."), std::string::npos) << address;
    registered.insert(cluster_->HostOfAddress(address));
  }
  EXPECT_EQ(registered, (std::set<std::string>{"head", "n1", "n2", "n3"}));
  // A node told to advertise loopback to this remote GCS is refused with one line naming the problem.
  auto loopback = cluster_->HaloIn("n1", {"start", "--address", cluster_->GcsAddress(), "--host", "127.0.0.1",
                                          "--session-dir", cluster_->dir() + "/loopback-node"});
  EXPECT_NE(loopback.exit_code, 0);
  EXPECT_NE(loopback.output.find("would advertise the loopback address 127.0.0.1"), std::string::npos)
      << loopback.output;

  std::set<std::string> ran_on;
  for (const auto& host : cluster_->node_hosts()) {
    auto where = halo::Task(WhereAmI).SetResources({{"CPU", 1}, {"host_" + host, 0.01}}).Remote(0);
    ran_on.insert(cluster_->HostOfAddress(*halo::Get(where, std::chrono::seconds(60))));
  }
  EXPECT_EQ(ran_on, (std::set<std::string>{"n1", "n2", "n3"}));

  auto blob = halo::Task(Blob).SetResources({{"CPU", 1}, {"host_n1", 0.01}}).Remote(8);
  auto length = halo::Task(Length).SetResources({{"CPU", 1}, {"host_n2", 0.01}}).Remote(blob);
  EXPECT_EQ(*halo::Get(length, std::chrono::seconds(60)), 8u << 20);
  EXPECT_EQ(halo::Get(blob, std::chrono::seconds(60))->size(), 8u << 20);

  // Many 20 ms tasks (4 s of work for one worker) spread over the hosts: the head's node offers one CPU, so
  // the driver's lease requests spill over to the others.
  std::vector<halo::ObjectRef<std::string>> many;
  for (int i = 0; i < 200; ++i) many.push_back(halo::Task(WhereAfterMs).Remote(20));
  std::set<std::string> hosts;
  for (const auto& where : halo::Get(many, std::chrono::seconds(120))) hosts.insert(cluster_->HostOfAddress(*where));
  EXPECT_GE(hosts.size(), 2u);
}

// A lost object is rebuilt from lineage on another host when the host holding it dies.
TEST_F(MultiHost, LineageRebuildAfterAHostDies) {
  // On some node host (each offers "beacon"); the host that made it is then killed whole.
  auto blob = halo::Task(BlobNoting).SetResources({{"CPU", 1}, {"beacon", 0.01}}).Remote(4, beacons_);
  ASSERT_EQ(halo::Wait(std::vector<halo::ObjectRef<std::string>>{blob}, 1, std::chrono::seconds(60)).ready.size(), 1u);
  const std::string maker = cluster_->HostOfAddress(halo::ReadTrimmedFile(beacons_ + "/made-by"));
  ASSERT_NE(maker, "");
  cluster_->net().SignalAll(maker, SIGKILL);
  // A consumer on another host needs it: it is rebuilt on a live host and read whole.
  std::string consumer_host = maker == "n1" ? "n2" : "n1";
  auto length = halo::Task(Length).SetResources({{"CPU", 1}, {"host_" + consumer_host, 0.01}}).Remote(blob);
  EXPECT_EQ(*halo::Get(length, std::chrono::seconds(60)), 4u << 20);
  EXPECT_NE(cluster_->HostOfAddress(halo::ReadTrimmedFile(beacons_ + "/made-by")), maker) << "not rebuilt elsewhere";
}

// A node host cut off from every other host for 30 s: its actor instance stops before the replacement
// starts, the replacement starts within 6 s of the cut, 100 numbered calls made across the cut with retries
// each get their result exactly once, and after the heal the old node agent does not come back.
TEST_F(MultiHost, IsolatedHostStopsBeforeItsActorIsReplaced) {
  auto beacon = StartBeacon();
  ASSERT_NE(beacon_host_, "");
  const std::string old_node = cluster_->NodeId(beacon_host_);
  const pid_t old_agent = cluster_->NodeAgentPid(beacon_host_);

  std::atomic<int> done_calls{0};
  std::vector<int> results(101, 0);
  std::thread caller([&] {
    for (int i = 1; i <= 100; ++i) {
      auto result = halo::Get(beacon.Task(&Beacon::Record).Remote(i), std::chrono::seconds(60));
      results[i] = *result;
      done_calls = i;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return done_calls >= 20; }, std::chrono::seconds(30)));
  const int64_t cut_ns = MonotonicNs();
  cluster_->net().Isolate(beacon_host_);
  const int64_t replaced_ns = WaitForReplacement(std::chrono::seconds(15));
  ASSERT_GE(replaced_ns, 0) << "no new instance within 15 s of the cut";
  std::this_thread::sleep_for(std::chrono::seconds(30) - std::chrono::nanoseconds(MonotonicNs() - cut_ns));
  cluster_->net().HealAll();
  caller.join();

  const auto instances = Instances(beacons_);
  const int64_t overlap = WorstOverlapNs(instances, /*lease_valid_only=*/false);
  EXPECT_LE(overlap, 0) << "two live instances for " << overlap / 1e6 << " ms";
  EXPECT_LE(replaced_ns - cut_ns, 6'000'000'000) << "replaced " << (replaced_ns - cut_ns) / 1e6 << " ms after the cut";
  std::cout << "isolated host: replacement began " << (replaced_ns - cut_ns) / 1'000'000
            << " ms after the cut; instances overlapped by " << overlap / 1'000'000 << " ms (negative: a gap)"
            << std::endl;
  for (int i = 1; i <= 100; ++i) EXPECT_EQ(results[i], i) << "call " << i;
  EXPECT_TRUE(ProcessExited(first_pid_)) << "the old instance still runs";
  EXPECT_TRUE(WaitUntil([&] { return ProcessExited(old_agent); }, std::chrono::seconds(10)))
      << "the cut-off node agent still runs:\n" << cluster_->NodeLog(beacon_host_);
  EXPECT_EQ(NodeState(*cluster_, old_node), "DEAD");
  std::this_thread::sleep_for(std::chrono::seconds(2));  // time in which a rejoin would show
  EXPECT_EQ(NodeState(*cluster_, old_node), "DEAD") << "the old node came back under its id";
}

// A cut shorter than failure detection: nothing is declared dead, nothing restarted.
TEST_F(MultiHost, ShortCutChangesNothing) {
  auto beacon = StartBeacon();
  cluster_->net().Isolate(beacon_host_);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  cluster_->net().HealAll();
  EXPECT_EQ(*halo::Get(beacon.Task(&Beacon::Pid).Remote(), std::chrono::seconds(10)), first_pid_);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  for (const auto& node : ListJson(*cluster_, "nodes")) EXPECT_EQ(node.value("state", ""), "ALIVE") << node.dump();
  EXPECT_EQ(Instances(beacons_).size(), 1u) << "an instance was restarted";
  EXPECT_EQ(*halo::Get(beacon.Task(&Beacon::Record).Remote(7), std::chrono::seconds(10)), 7);
}

// One-way cuts between the actor's node and the head, in each direction: a single live instance throughout.
TEST_F(MultiHost, OneWayCutsNeverMakeTwoInstances) {
  for (const bool from_head : {true, false}) {
    SCOPED_TRACE(from_head ? "head -> node dropped" : "node -> head dropped");
    auto beacon = StartBeacon();
    if (from_head) {
      cluster_->net().CutOneWay(MultiHostCluster::kHead, beacon_host_);
    } else {
      cluster_->net().CutOneWay(beacon_host_, MultiHostCluster::kHead);
    }
    const int64_t replaced_ns = WaitForReplacement(std::chrono::seconds(15));
    EXPECT_GE(replaced_ns, 0) << "the actor was not replaced";
    cluster_->net().HealAll();
    const int64_t overlap = WorstOverlapNs(Instances(beacons_), false);
    EXPECT_LE(overlap, 0) << "two live instances for " << overlap / 1e6 << " ms";
    EXPECT_EQ(*halo::Get(beacon.Task(&Beacon::Record).Remote(1), std::chrono::seconds(30)), 1);
    halo::Kill(beacon);
    // The next round starts from a clean slate on a fresh node agent of the host that lost its own.
    std::filesystem::remove_all(beacons_);
    std::filesystem::create_directories(beacons_);
    cluster_->StartNode(beacon_host_);
  }
}

// The node agent SIGSTOPped while its worker runs: the worker stops on its own (its lease is no longer
// renewed) before the actor is restarted elsewhere; resumed, the agent exits instead of rejoining.
TEST_F(MultiHost, PausedNodeAgentsWorkersStopThemselves) {
  auto beacon = StartBeacon();
  const pid_t agent = cluster_->NodeAgentPid(beacon_host_);
  ASSERT_TRUE(halo::testing::PauseProcess(agent));
  EXPECT_TRUE(WaitUntil([&] { return ProcessExited(first_pid_); }, std::chrono::seconds(5)))
      << "the worker of a paused node agent kept running";
  EXPECT_GE(WaitForReplacement(std::chrono::seconds(15)), 0);
  kill(agent, SIGCONT);
  EXPECT_TRUE(WaitUntil([&] { return ProcessExited(agent); }, std::chrono::seconds(10)))
      << "the resumed node agent did not exit";
  EXPECT_LE(WorstOverlapNs(Instances(beacons_), false), 0);
  EXPECT_EQ(*halo::Get(beacon.Task(&Beacon::Record).Remote(3), std::chrono::seconds(30)), 3);
}

// Every process of one host SIGSTOPped until its actor moved, then resumed: the woken instance runs no
// call, its lease never holds again, and it exits.
TEST_F(MultiHost, WokenHostAnswersNoCall) {
  auto beacon = StartBeacon();
  cluster_->net().SignalAll(beacon_host_, SIGSTOP);
  const int64_t replaced_ns = WaitForReplacement(std::chrono::seconds(15));
  ASSERT_GE(replaced_ns, 0);
  EXPECT_EQ(*halo::Get(beacon.Task(&Beacon::Record).Remote(5), std::chrono::seconds(30)), 5);
  cluster_->net().SignalAll(beacon_host_, SIGCONT);
  EXPECT_TRUE(WaitUntil([&] { return ProcessExited(first_pid_); }, std::chrono::seconds(10)));
  EXPECT_LE(WorstOverlapNs(Instances(beacons_), /*lease_valid_only=*/true), 0);
  std::ifstream calls(beacons_ + "/calls");
  int i = 0, pid = 0;
  long long ns = 0;
  while (calls >> i >> pid >> ns) {
    if (pid == first_pid_) {
      EXPECT_LT(ns, replaced_ns) << "the woken instance ran call " << i;
    }
  }
}

// The head host cut off from every node (storage is on the head host, so it still reaches it): no node is
// declared dead, the actor keeps its instance and answers, and everything is ALIVE after the heal.
TEST_F(MultiHost, HeadCutOffFromAllNodesDeclaresNobodyDead) {
  auto beacon = StartBeacon();
  for (const auto& host : cluster_->node_hosts()) cluster_->net().CutBothWays(MultiHostCluster::kHead, host);
  std::this_thread::sleep_for(std::chrono::seconds(8));
  EXPECT_EQ(Instances(beacons_).size(), 1u) << "the actor was restarted";
  EXPECT_FALSE(ProcessExited(first_pid_)) << "the instance stopped: the majority should have vouched for it";
  cluster_->net().HealAll();
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto nodes = ListJson(*cluster_, "nodes");
        if (nodes.empty()) return false;
        for (const auto& node : nodes) {
          if (node.value("state", "") != "ALIVE") return false;
        }
        return true;
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(*halo::Get(beacon.Task(&Beacon::Pid).Remote(), std::chrono::seconds(10)), first_pid_);
}

// The GCS restarted while one node host is cut off: the restarted GCS waits for that node's lease before
// declaring it dead, and its actor is replaced without overlap.
TEST_F(MultiHost, GcsRestartWhileANodeIsCutOff) {
  auto beacon = StartBeacon();
  cluster_->net().Isolate(beacon_host_);
  const pid_t gcs = std::atoi(halo::ReadTrimmedFile(cluster_->SessionDir("head") + "/gcs.pid").c_str());
  ASSERT_GT(gcs, 0);
  kill(gcs, SIGKILL);
  ASSERT_TRUE(WaitUntil([&] { return ProcessExited(gcs); }, std::chrono::seconds(10)));
  auto restarted = cluster_->HaloIn(MultiHostCluster::kHead,
                                    {"start", "--head", "--host", cluster_->net().Address("head"), "--port",
                                     std::to_string(MultiHostCluster::kGcsPort), "--session-dir",
                                     cluster_->SessionDir("head"), "--gcs-restarts-max", "0"});
  ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
  EXPECT_GE(WaitForReplacement(std::chrono::seconds(20)), 0);
  cluster_->net().HealAll();
  EXPECT_LE(WorstOverlapNs(Instances(beacons_), false), 0);
  EXPECT_EQ(*halo::Get(beacon.Task(&Beacon::Record).Remote(9), std::chrono::seconds(30)), 9);
}

// Two head candidates on Redis (its own host), the leader SIGKILLed while a node host is cut off: the new
// leader restarts nothing before the cut-off node's lease has lapsed, and its actor is replaced once, without
// overlap; the other nodes keep serving through the failover.
class MultiHostHa : public MultiHost {
 protected:
  MultiHostCluster::Options ClusterOptions() const override { return {3, /*ha=*/true}; }
};

TEST_F(MultiHostHa, HeadFailoverWhileANodeIsCutOff) {
  auto beacon = StartBeacon();
  const pid_t leader = cluster_->GcsPid(MultiHostCluster::kHead);
  ASSERT_GT(leader, 0);
  cluster_->net().Isolate(beacon_host_);
  kill(leader, SIGKILL);
  EXPECT_TRUE(WaitUntil(
      [&] {
        halo::GcsClient standby(cluster_->CandidateAddress(MultiHostCluster::kStandbyHead), 1000);
        auto info = standby.GetClusterInfo();
        return info.ok() && info->is_leader();
      },
      std::chrono::seconds(10)))
      << "the standby did not take over";
  EXPECT_GE(WaitForReplacement(std::chrono::seconds(20)), 0) << "the cut-off node's actor was not replaced";
  cluster_->net().HealAll();
  EXPECT_LE(WorstOverlapNs(Instances(beacons_), false), 0);
  EXPECT_EQ(Instances(beacons_).size(), 2u) << "replaced more than once";
  EXPECT_EQ(*halo::Get(beacon.Task(&Beacon::Record).Remote(4), std::chrono::seconds(30)), 4);
}

}  // namespace

// Runs each test in a child process of its own (one cluster, one namespace, one halo::Init per process);
// a node agent starts this executable as a worker, which Init turns into.
int main(int argc, char** argv) {
  if (std::getenv("HALO_WORKER_MODE") != nullptr) halo::Init(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (std::getenv("HALO_MULTIHOST_ONE_TEST") != nullptr || ::testing::GTEST_FLAG(list_tests)) {
    return RUN_ALL_TESTS();
  }
  // The tests the filter selects, as gtest itself lists them.
  std::vector<std::string> names;
  {
    const std::string list = "HALO_MULTIHOST_ONE_TEST=1 /proc/" + std::to_string(getpid()) +
                             "/exe --gtest_list_tests --gtest_filter='" + ::testing::GTEST_FLAG(filter) + "'";
    FILE* listing = popen(list.c_str(), "r");
    if (listing == nullptr) return 1;
    char line[512];
    std::string suite;
    while (std::fgets(line, sizeof(line), listing) != nullptr) {
      std::string text(line);
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      if (text.empty()) continue;
      if (text[0] != ' ') {
        suite = text;  // "Suite."
      } else {
        names.push_back(suite + text.substr(text.find_first_not_of(' ')));
      }
    }
    pclose(listing);
  }
  int failed = 0;
  for (const auto& name : names) {
    const pid_t child = fork();
    if (child == 0) {
      setenv("HALO_MULTIHOST_ONE_TEST", "1", 1);
      const std::string filter = "--gtest_filter=" + name;
      execl("/proc/self/exe", argv[0], filter.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    std::cout << (ok ? "[  PASSED  ] " : "[  FAILED  ] ") << name << std::endl;
    failed += ok ? 0 : 1;
  }
  std::cout << names.size() - failed << " of " << names.size() << " multi-host tests passed" << std::endl;
  return failed == 0 ? 0 : 1;
}
