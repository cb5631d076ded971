// The one way Halo's processes open gRPC channels to each other and set up their gRPC servers, so that every
// connection gets the process's ClusterSecurity (rpc/cluster_security.h): TLS when it has TLS material, and the
// cluster token on every call; and every server the same connection bounds.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/settings.h"

namespace halo::rpc {

// A channel to a peer of this cluster with args: TLS (verifying the peer against tls_ca, presenting this
// process's certificate) when the process has TLS material, plain TCP otherwise; every call carries the token.
std::shared_ptr<grpc::Channel> NewClusterChannel(const std::string& address, grpc::ChannelArguments args = {});

// The credentials a server of this process listens with: TLS requiring a client certificate signed by tls_ca
// when the process has TLS material, plain TCP otherwise.
std::shared_ptr<grpc::ServerCredentials> ClusterServerCredentials();

// Connection bounds every server of the cluster applies (rpc_handshake_timeout_ms, rpc_connection_idle_max_ms,
// rpc_streams_per_connection_max, keepalive of peers that vanish). bound_memory adds the resource quota
// rpc_server_memory_max_bytes (the GCS: node agents and workers move objects of any size).
void ApplyServerBounds(grpc::ServerBuilder& builder, const Settings& settings, bool bound_memory);

}  // namespace halo::rpc
