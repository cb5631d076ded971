#include "rpc/cluster_channel.h"

#include <grpcpp/resource_quota.h>
#include <grpcpp/support/client_interceptor.h>

#include "rpc/cluster_security.h"

namespace halo::rpc {
namespace {

// Adds the cluster token to each call's initial metadata.
class TokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(const std::string& token) : value_("Bearer " + token) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kAuthMetadataKey, value_);
    }
    methods->Proceed();
  }

 private:
  const std::string value_;
};

class TokenInterceptorFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(std::string token) : token_(std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new TokenInterceptor(token_);
  }

 private:
  const std::string token_;
};

}  // namespace

std::shared_ptr<grpc::Channel> NewClusterChannel(const std::string& address, grpc::ChannelArguments args) {
  const std::shared_ptr<const ClusterSecurity> security = ProcessSecurity();
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (security->tls()) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = security->tls_ca_pem;
    options.pem_private_key = security->tls_key_pem;
    options.pem_cert_chain = security->tls_cert_pem;
    credentials = grpc::SslCredentials(options);
    if (!security->tls_server_name.empty()) {
      args.SetSslTargetNameOverride(security->tls_server_name);
    }
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!security->token.empty()) interceptors.push_back(std::make_unique<TokenInterceptorFactory>(security->token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(address, credentials, args,
                                                                 std::move(interceptors));
}

std::shared_ptr<grpc::ServerCredentials> ClusterServerCredentials() {
  const std::shared_ptr<const ClusterSecurity> security = ProcessSecurity();
  if (!security->tls()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = security->tls_ca_pem;
  options.pem_key_cert_pairs.push_back({security->tls_key_pem, security->tls_cert_pem});
  return grpc::SslServerCredentials(options);
}

void ApplyServerBounds(grpc::ServerBuilder& builder, const Settings& settings, bool bound_memory) {
  auto as_int = [](int64_t value) { return static_cast<int>(std::min<int64_t>(value, INT32_MAX)); };
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, as_int(settings.rpc_handshake_timeout_ms));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, as_int(settings.rpc_connection_idle_max_ms));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, as_int(settings.rpc_streams_per_connection_max));
  // A peer that vanished without a reset (its host lost power, a partition) is found by pings: 30 s apart,
  // 10 s to answer. Clients ping held calls every 10 s (rpc/async_call.h); allow every 5 s.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  if (bound_memory) {
    grpc::ResourceQuota quota("halo-rpc-server");
    quota.Resize(static_cast<size_t>(settings.rpc_server_memory_max_bytes));
    builder.SetResourceQuota(quota);
  }
}

}  // namespace halo::rpc
