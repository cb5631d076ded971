#include "health/grpc_health_prober.h"

#include <grpcpp/grpcpp.h>

#include <mutex>

#include "proto/health.grpc.pb.h"
#include "rpc/cluster_channel.h"

namespace halo::health {

struct GrpcHealthProber::Connection {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub;
};

// Probe results come back on gRPC threads; they reach the executor only while the prober exists.
struct GrpcHealthProber::Guard {
  std::mutex mutex;
  Executor* executor = nullptr;
};

namespace {

struct ProbeCall {
  std::shared_ptr<void> keep_alive;  // the connection, alive until the call ends
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
};

}  // namespace

GrpcHealthProber::GrpcHealthProber(Executor& executor) : guard_(std::make_shared<Guard>()) {
  guard_->executor = &executor;
}

GrpcHealthProber::~GrpcHealthProber() {
  std::lock_guard<std::mutex> lock(guard_->mutex);
  guard_->executor = nullptr;
}

void GrpcHealthProber::Probe(const std::string& node_id, const std::string& address, int64_t timeout_ms,
                             std::function<void(bool healthy)> done) {
  auto& connection = connections_[node_id];
  if (!connection || connection->address != address) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
    // gRPC uses this as the shortest time a connection attempt may take before it is abandoned; shorter than
    // the probe timeout would fail probes of a slow-but-healthy node early.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(timeout_ms));
    connection = std::make_shared<Connection>();
    connection->address = address;
    connection->channel = rpc::NewClusterChannel(address, args);
    connection->stub = grpc::health::v1::Health::NewStub(connection->channel);
  }
  auto* call = new ProbeCall;
  call->keep_alive = connection;
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  connection->stub->async()->Check(
      &call->context, &call->request, &call->response,
      [guard = guard_, call, done = std::move(done)](grpc::Status status) mutable {
        const bool healthy =
            status.ok() && call->response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
        delete call;
        std::lock_guard<std::mutex> lock(guard->mutex);
        if (guard->executor != nullptr) guard->executor->Post([done = std::move(done), healthy] { done(healthy); });
      });
}

void GrpcHealthProber::Forget(const std::string& node_id) { connections_.erase(node_id); }

}  // namespace halo::health
