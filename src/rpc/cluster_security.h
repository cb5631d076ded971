// Who may talk to a cluster's processes: the cluster token every gRPC call carries, and the TLS material that
// encrypts and authenticates the connections. A process belongs to one cluster, so there is one ClusterSecurity
// per process: the daemons' mains, halo::Init and the CLI set it once their settings are known
// (SetProcessSecurity); until then it holds HALO_AUTH_TOKEN alone and checks tokens. Every gRPC server of the
// cluster checks each call with CheckCallToken before it does anything (rpc/cluster_channel.h makes the
// channels that send the token and the servers' credentials).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/settings.h"
#include "common/status.h"

namespace halo::rpc {

// Metadata key of the token: "authorization: Bearer <token>".
inline constexpr char kAuthMetadataKey[] = "authorization";
// The session file the token is kept in (mode 0600), and the one naming the TLS files the head was given.
inline constexpr char kSessionTokenFile[] = "auth_token";
inline constexpr char kSessionTlsFile[] = "tls_files";
// The environment variable a token can be given in (it is no setting: `halo config` must not print it).
inline constexpr char kTokenEnvironment[] = "HALO_AUTH_TOKEN";

struct ClusterSecurity {
  bool check_token = true;  // auth_mode token: servers refuse calls without this token
  std::string token;        // sent with every call when not empty
  std::string token_origin; // where it came from, for messages ("HALO_AUTH_TOKEN", a path)
  std::string tls_cert_pem;
  std::string tls_key_pem;
  std::string tls_ca_pem;   // not empty: TLS with certificates verified against it, both ways
  std::string tls_server_name;
  std::string tls_cert_path, tls_key_path, tls_ca_path;  // where the PEM came from (handed to workers)
  bool tls() const { return !tls_ca_pem.empty(); }
};

// The token: HALO_AUTH_TOKEN, else the auth_token_file setting, else <session_dir>/auth_token (session_dir may
// be empty). A token file readable by group or others is refused. With auth_mode token and no token found:
// NotFound naming the places looked at. TLS material is read from tls_cert / tls_key / tls_ca, else from the
// files <session_dir>/tls_files names.
StatusOr<ClusterSecurity> LoadClusterSecurity(const Settings& settings, const std::string& session_dir);
// The same, except that a missing token is not an error (the head then makes one).
StatusOr<ClusterSecurity> LoadClusterSecurityMaybeWithoutToken(const Settings& settings,
                                                               const std::string& session_dir);
// A server may run with these settings: auth_mode off only on a loopback host.
Status CheckServingSecurity(const Settings& settings);
// 32 random bytes from OpenSSL, hex.
std::string NewClusterToken();
// Writes <session_dir>/auth_token, readable by its owner only, and <session_dir>/tls_files when TLS files are set.
Status RecordSecurityInSession(const std::string& session_dir, const std::string& token, const Settings& settings);

void SetProcessSecurity(ClusterSecurity security);
std::shared_ptr<const ClusterSecurity> ProcessSecurity();

// OK if the call carries this process's token (compared in constant time) or tokens are not checked, else
// UNAUTHENTICATED saying whether the token was missing or wrong.
grpc::Status CheckCallToken(const grpc::ServerContextBase& context);
// For a callback handler's first line: nullptr if the call may go on, else a reactor already finished with
// UNAUTHENTICATED, for the handler to return.
grpc::ServerUnaryReactor* RefuseUnauthenticated(grpc::CallbackServerContext* context);

}  // namespace halo::rpc
