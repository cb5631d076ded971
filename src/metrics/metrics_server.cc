#include "metrics/metrics_server.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "prometheus/exposer.h"
#include "prometheus/metric_family.h"

namespace halo::metrics {

namespace {

// Fields of /proc/self/stat after the command name (which may hold spaces): index 0 is the state (field 3).
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return {};
  return absl::StrSplit(line.substr(close + 2), ' ', absl::SkipEmpty());
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

int64_t OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  int64_t count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') count += 1;
  }
  closedir(dir);
  return count - 1;  // the directory stream's own descriptor
}

prometheus::MetricFamily Family(const std::string& name, const std::string& help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  family.metric.push_back(Sample(value, type));
  return family;
}

class ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector() : boot_s_(BootTimeSeconds()) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    const std::vector<std::string> fields = StatFields();
    // Fields (1-based in proc(5)): utime 14, stime 15, starttime 22, vsize 23, rss 24; here index = field - 3.
    if (fields.size() > 21) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
      const double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
      out.push_back(Family("process_cpu_seconds_total", "User and system CPU time this process spent, in seconds.",
                           prometheus::MetricType::Counter, cpu));
      out.push_back(Family("process_start_time_seconds", "When this process started, in seconds since the epoch.",
                           prometheus::MetricType::Gauge, boot_s_ + std::stod(fields[19]) / ticks));
      out.push_back(Family("process_virtual_memory_bytes", "Virtual memory size of this process, in bytes.",
                           prometheus::MetricType::Gauge, std::stod(fields[20])));
      out.push_back(Family("process_resident_memory_bytes", "Resident memory of this process, in bytes.",
                           prometheus::MetricType::Gauge, std::stod(fields[21]) * page));
    }
    out.push_back(Family("process_open_fds", "File descriptors this process holds open.",
                         prometheus::MetricType::Gauge, static_cast<double>(OpenFds())));
    return out;
  }

 private:
  double boot_s_;
};

}  // namespace

prometheus::ClientMetric Sample(double value, prometheus::MetricType type,
                                std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric sample;
  sample.label = std::move(labels);
  if (type == prometheus::MetricType::Counter) {
    sample.counter.value = value;
  } else {
    sample.gauge.value = value;
  }
  return sample;
}

std::shared_ptr<prometheus::Collectable> MakeProcessCollector() { return std::make_shared<ProcessCollector>(); }

StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& host, int port) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  const std::string address = absl::StrCat(host, ":", port);
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& error) {
    return UnavailableError(absl::StrCat("cannot serve metrics on ", address, " (port in use or not a local address): ",
                                         error.what()));
  }
  const std::vector<int> ports = server->exposer_->GetListeningPorts();
  if (ports.empty()) return UnavailableError(absl::StrCat("cannot serve metrics on ", address));
  server->port_ = ports.front();
  server->registry_ = std::make_shared<prometheus::Registry>();
  server->exposer_->RegisterCollectable(server->registry_);
  server->Add(MakeProcessCollector());
  return server;
}

MetricsServer::~MetricsServer() {
  // The exposer's threads stop before the collectables they read go.
  exposer_.reset();
}

void MetricsServer::Add(std::shared_ptr<prometheus::Collectable> collectable) {
  collectables_.push_back(collectable);
  exposer_->RegisterCollectable(collectable);
}

}  // namespace halo::metrics
