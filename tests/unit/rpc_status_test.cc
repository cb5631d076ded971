// The RPC layer's reading of gRPC failures: a call that could not connect is marked never delivered (against a
// real refused connection, so a gRPC whose wording changed fails here), one that reached its server is not,
// and a standby's redirect keeps its leader address.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/leader_redirect.h"
#include "health/health_service.h"
#include "proto/gcs.grpc.pb.h"
#include "proto/health.grpc.pb.h"
#include "rpc/async_call.h"
#include "rpc/cluster_channel.h"
#include "support/test_env.h"

namespace halo {
namespace {

grpc::Status CheckHealth(const std::string& address, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(rpc::NewClusterChannel(address));
  grpc::ClientContext context;
  rpc_util::SetDeadline(context, 5000);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, request, &response);
}

TEST(RpcStatusTest, RefusedConnectionIsNotDelivered) {
  const std::string nobody = "127.0.0.1:" + std::to_string(testing::FreePort());
  grpc::Status refused = CheckHealth(nobody, "");
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  Status status = rpc_util::FromGrpc(refused);
  EXPECT_TRUE(rpc_util::NotDelivered(status)) << "gRPC's wording of a refused connection changed: "
                                              << refused.error_message();
  EXPECT_EQ(status.message(), refused.error_message());
}

TEST(RpcStatusTest, CallThatReachedItsServerIsNotMarked) {
  health::HealthServiceImpl health;  // the server serves only this: another service's call is UNIMPLEMENTED
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&health);
  auto server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  auto stub = rpc::ClusterInfoService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  rpc_util::SetDeadline(context, 5000);
  rpc::GetClusterInfoRequest request;
  rpc::GetClusterInfoReply reply;
  grpc::Status answered = stub->GetClusterInfo(&context, request, &reply);
  EXPECT_EQ(answered.error_code(), grpc::StatusCode::UNIMPLEMENTED) << answered.error_message();
  EXPECT_FALSE(rpc_util::NotDelivered(rpc_util::FromGrpc(answered)));
  EXPECT_TRUE(CheckHealth("127.0.0.1:" + std::to_string(port), "").ok());
  server->Shutdown();
}

TEST(RpcStatusTest, UnavailableFromTheServerIsNotMarkedAndRedirectsKeepTheirTarget) {
  EXPECT_FALSE(rpc_util::NotDelivered(rpc_util::FromGrpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining"))));
  Status redirect = rpc_util::FromGrpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the leader", "10.0.0.2:7001"));
  EXPECT_FALSE(rpc_util::NotDelivered(redirect));
  EXPECT_EQ(RedirectTarget(redirect), std::optional<std::string>("10.0.0.2:7001"));
  EXPECT_TRUE(rpc_util::NotDelivered(rpc_util::NotDeliveredError("fake refusal")));
}

}  // namespace
}  // namespace halo
