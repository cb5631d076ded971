// The floor under every GCS call: one unary gRPC round trip on loopback to a handler that does nothing,
// client and server in this process. Prints p50 and p99 in microseconds for the sync and callback APIs.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include "proto/gcs.grpc.pb.h"

namespace {

using halo::rpc::ClusterInfoService;
using halo::rpc::GetClusterInfoReply;
using halo::rpc::GetClusterInfoRequest;

class SyncEcho final : public ClusterInfoService::Service {
  grpc::Status GetClusterInfo(grpc::ServerContext*, const GetClusterInfoRequest*, GetClusterInfoReply*) override {
    return grpc::Status::OK;
  }
};

class CallbackEcho final : public ClusterInfoService::CallbackService {
  grpc::ServerUnaryReactor* GetClusterInfo(grpc::CallbackServerContext* context, const GetClusterInfoRequest*,
                                           GetClusterInfoReply*) override {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

void Measure(const char* name, grpc::Service* service, int calls) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  auto server = builder.BuildAndStart();
  auto stub = ClusterInfoService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  std::vector<double> latencies;
  latencies.reserve(calls);
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext context;
    GetClusterInfoRequest request;
    GetClusterInfoReply reply;
    auto t0 = std::chrono::steady_clock::now();
    if (!stub->GetClusterInfo(&context, request, &reply).ok()) std::cerr << "call failed\n";
    latencies.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(latencies.begin(), latencies.end());
  std::cout << "grpc_floor api=" << name << " calls=" << calls << " p50_us=" << static_cast<int>(latencies[calls / 2])
            << " p99_us=" << static_cast<int>(latencies[calls * 99 / 100]) << std::endl;
  server->Shutdown();
}

}  // namespace

int main() {
  SyncEcho sync_echo;
  CallbackEcho callback_echo;
  Measure("sync", &sync_echo, 10000);
  Measure("callback", &callback_echo, 10000);
  return 0;
}
