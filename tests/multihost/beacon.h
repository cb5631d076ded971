// What the multi-host tests and the partition benchmark share: the Beacon actor, whose every instance writes
// heartbeats (its pid, the host's monotonic clock, whether its worker lease holds) to a directory all hosts
// see (network namespaces share the file system), and the functions that read them back to tell whether two
// instances were ever live at once. HALO_REMOTE(MakeBeacon, &Beacon::Record, &Beacon::Pid, &Beacon::Node)
// goes in the executable that includes this.
#pragma once

#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/lease_file.h"
#include "support/test_env.h"

namespace halo::testing {

inline int64_t MonotonicNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// ---- remote code ----

inline std::string NodeAddress() { return std::getenv("HALO_NODE_ADDRESS") ? std::getenv("HALO_NODE_ADDRESS") : ""; }
// One instance of this actor writes a heartbeat line "<monotonic ns> <lease holds 0|1>" every 5 ms to
// <dir>/hb-<pid> for as long as its process lives (bounded: 10 minutes), and logs every call it runs.
class Beacon {
 public:
  explicit Beacon(std::string dir) : dir_(std::move(dir)) {
    std::thread([dir = dir_] {
      std::unique_ptr<halo::LeaseFile> lease;
      if (const char* path = std::getenv("HALO_WORKER_LEASE_FILE")) {
        auto opened = halo::LeaseFile::Open(path);
        if (opened.ok()) lease = *std::move(opened);
      }
      const std::string file = dir + "/hb-" + std::to_string(getpid());
      FILE* out = std::fopen(file.c_str(), "a");
      if (out == nullptr) return;
      for (int i = 0; i < 120'000; ++i) {
        const bool holds = lease != nullptr && halo::LeaseFile::HostMonotonicMs() < lease->DeadlineMs();
        std::fprintf(out, "%lld %d\n", static_cast<long long>(MonotonicNs()), holds ? 1 : 0);
        std::fflush(out);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }).detach();
  }
  int Record(int i) {
    std::ofstream(dir_ + "/calls", std::ios::app) << i << " " << getpid() << " " << MonotonicNs() << "\n";
    return i;
  }
  int Pid() const { return getpid(); }
  std::string Node() const { return NodeAddress(); }

 private:
  std::string dir_;
};
inline Beacon* MakeBeacon(std::string dir) { return new Beacon(std::move(dir)); }

struct Instance {
  int pid = 0;
  int64_t first_ns = -1, last_ns = -1;              // any heartbeat: the process was alive
  int64_t first_valid_ns = -1, last_valid_ns = -1;  // heartbeats while its lease held
};

// Every instance that wrote heartbeats under dir.
inline std::map<int, Instance> Instances(const std::string& dir) {
  std::map<int, Instance> found;
  DIR* listing = opendir(dir.c_str());
  if (listing == nullptr) return found;
  while (dirent* entry = readdir(listing)) {
    const std::string name = entry->d_name;
    if (name.rfind("hb-", 0) != 0) continue;
    Instance instance;
    instance.pid = std::atoi(name.c_str() + 3);
    std::ifstream in(dir + "/" + name);
    long long ns = 0;
    int valid = 0;
    while (in >> ns >> valid) {
      if (instance.first_ns < 0) instance.first_ns = ns;
      instance.last_ns = ns;
      if (valid) {
        if (instance.first_valid_ns < 0) instance.first_valid_ns = ns;
        instance.last_valid_ns = ns;
      }
    }
    if (instance.first_ns >= 0) found[instance.pid] = instance;
  }
  closedir(listing);
  return found;
}

// The largest overlap (ns) between any two instances' intervals; negative when they never overlapped.
inline int64_t WorstOverlapNs(const std::map<int, Instance>& instances, bool lease_valid_only) {
  int64_t worst = INT64_MIN;
  for (auto a = instances.begin(); a != instances.end(); ++a) {
    for (auto b = std::next(a); b != instances.end(); ++b) {
      const Instance& x = a->second;
      const Instance& y = b->second;
      const int64_t x0 = lease_valid_only ? x.first_valid_ns : x.first_ns;
      const int64_t x1 = lease_valid_only ? x.last_valid_ns : x.last_ns;
      const int64_t y0 = lease_valid_only ? y.first_valid_ns : y.first_ns;
      const int64_t y1 = lease_valid_only ? y.last_valid_ns : y.last_ns;
      if (x0 < 0 || y0 < 0) continue;
      worst = std::max(worst, std::min(x1, y1) - std::max(x0, y0));
    }
  }
  return worst;
}


}  // namespace halo::testing
