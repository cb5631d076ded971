// The node agent daemon's composition root: builds the agent's parts (link to the GCS, worker leases, the
// node's own lease chain, object store, peer watching, worker reaping, the services' HTTP ingress), serves
// them on one gRPC port (HTTP on serve_http_port), and runs them on one executor thread. halo-node's main
// parses settings and calls Start, Wait, Shutdown.
// The node exits (Wait returns) when its agent decides so: stopped, drained, declared dead, another
// cluster answers, the GCS stayed unreachable too long, or its lease lapsed.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "common/asio_executor.h"
#include "common/lease_file.h"
#include "common/random.h"
#include "common/settings.h"
#include "common/status.h"
#include "health/grpc_health_prober.h"
#include "health/health_service.h"
#include "metrics/grpc_server_metrics.h"
#include "metrics/ingress_metrics.h"
#include "metrics/metrics_server.h"
#include "node/lease_manager.h"
#include "node/node_agent.h"
#include "node/node_lease_chain.h"
#include "node/node_services.h"
#include "node/object_store.h"
#include "node/object_store_service.h"
#include "node/peer_watch.h"
#include "node/process_worker_launcher.h"
#include "node/worker_reaper.h"
#include "proto/gcs.pb.h"
#include "rpc/gcs_node_client.h"
#include "serve/node_ingress.h"

namespace halo::node {

struct NodeServerOptions {
  Settings settings;        // host and advertise_host already chosen
  std::string gcs_address;
  bool is_head = false;
};

// How the node ended: code 0 for a requested or expected end, and why.
struct NodeExit {
  int code = 0;
  std::string why;
};

class NodeServer {
 public:
  // Serves, writes node.pid into the session directory, then registers with the GCS (node.address and
  // node.id follow once registered). Errors name the problem (bad resources, port in use, lease file).
  static StatusOr<std::unique_ptr<NodeServer>> Start(NodeServerOptions options);
  ~NodeServer();

  // Graceful stop (SIGTERM): the GCS hears EXPECTED_TERMINATION, then Wait returns. Thread-safe.
  void Stop();
  // Blocks until the node must end.
  NodeExit Wait();
  // Ends its workers and stops serving. Idempotent.
  void Shutdown();

  const rpc::NodeInfo& self() const { return self_; }

 private:
  explicit NodeServer(NodeServerOptions options);
  Status Build();
  // Serves metrics on node_metrics_port (and writes the port to the session as node.metrics_port).
  Status StartMetrics();
  void OnExit(int code, const std::string& why);
  void OnClusterUpdate(const rpc::PollNodeEventsReply& reply);

  NodeServerOptions options_;
  const Settings& settings_;
  std::string session_dir_;
  rpc::NodeInfo self_;
  AsioExecutor executor_;
  SystemClock clock_;
  SystemRandom random_;
  std::unique_ptr<GcsNodeClient> gcs_;
  health::HealthServiceImpl health_;
  std::unique_ptr<NodeAgent> agent_;
  std::unique_ptr<ProcessWorkerLauncher> launcher_;
  std::unique_ptr<GrpcExecutableStore> executables_;
  std::unique_ptr<LeaseFile> lease_file_;
  std::unique_ptr<LeaseManager> leases_;
  std::unique_ptr<NodeAgentServiceImpl> status_service_;
  std::unique_ptr<VouchPeers> vouch_peers_;
  std::unique_ptr<NodeLeaseChain> lease_chain_;
  std::unique_ptr<ObjectStore> object_store_;
  std::unique_ptr<ObjectStoreServiceImpl> object_service_;
  std::unique_ptr<health::GrpcHealthProber> peer_prober_;
  std::unique_ptr<PeerWatch> peer_watch_;
  std::unique_ptr<WorkerReaper> reaper_;
  std::unique_ptr<metrics::IngressMetrics> ingress_metrics_;  // node_metrics_port != 0 with an ingress; outlives it
  std::unique_ptr<serve::NodeIngress> ingress_;
  std::unique_ptr<metrics::GrpcServerMetrics> rpc_metrics_;  // node_metrics_port != 0; outlives server_
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;  // node_metrics_port != 0; destroyed first

  std::mutex mutex_;
  std::condition_variable exited_;
  std::optional<NodeExit> exit_;
  bool shut_down_ = false;
};

}  // namespace halo::node
