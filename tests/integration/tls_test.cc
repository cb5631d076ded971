// TLS between a cluster's processes (certificates made by openssl): the GCS, node agent, worker and driver
// talk mutual TLS; commands find the files in the session; a plaintext client, a client trusting another CA and
// a client without a certificate are refused, and the command line says why.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include "common/process.h"
#include "head_fixture.h"
#include "proto/gcs.grpc.pb.h"

namespace halo::testing {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

grpc::Status Put(const std::shared_ptr<grpc::Channel>& channel, const std::string& key) {
  auto stub = rpc::KvService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  context.AddMetadata("authorization", std::string("Bearer ") + std::getenv("HALO_AUTH_TOKEN"));
  rpc::KvPutRequest request;
  request.set_namespace_("tls");
  request.set_key(key);
  request.set_value("x");
  rpc::KvPutReply reply;
  return stub->Put(&context, request, &reply);
}

std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address, const std::string& ca, const std::string& cert,
                                          const std::string& key) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = *ReadFileToString(ca);
  if (!cert.empty()) {
    options.pem_cert_chain = *ReadFileToString(cert);
    options.pem_private_key = *ReadFileToString(key);
  }
  return grpc::CreateChannel(address, grpc::SslCredentials(options));
}

TEST(TlsTest, ClusterTalksMutualTlsAndRefusesOtherClients) {
  TempDir certs;
  const TlsFiles tls = MakeTlsFiles(certs.path());
  Head head({"--storage", "memory", "--tls-cert", tls.server_cert, "--tls-key", tls.server_key, "--tls-ca",
             tls.ca_cert});
  // `halo start` itself, the GCS and the head's node agent (registered, health-checked) speak TLS.
  auto started = head.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  const std::string address = head.address();

  // A driver given the same files runs a task on a worker its node agent started: every hop is TLS.
  TempDir dir;
  SpawnOptions spawn;
  spawn.argv = {BinDir() + "/../tests/test_driver", "--address", address, "--shutdown"};
  spawn.output_path = dir.path() + "/driver.out";
  spawn.env = {{"HALO_TLS_CERT", tls.server_cert}, {"HALO_TLS_KEY", tls.server_key}, {"HALO_TLS_CA", tls.ca_cert}};
  auto driver = Spawn(spawn);
  ASSERT_TRUE(driver.ok());
  EXPECT_TRUE(WaitForProcessExit(*driver, 60000));
  EXPECT_TRUE(Contains(ReadTrimmedFile(spawn.output_path), "ready 42")) << ReadTrimmedFile(spawn.output_path);

  // A command of this machine finds the files in the session, as it finds the address.
  auto put = RunHalo({"kv", "put", "--session-dir", head.session_dir(), "k", "v"});
  EXPECT_EQ(put.exit_code, 0) << put.output;

  // Properly configured, a client gets in (so the refusals below are about TLS alone).
  EXPECT_TRUE(Put(TlsChannel(address, tls.ca_cert, tls.client_cert, tls.client_key), "good").ok());
  // Plaintext, with the right token: refused at the connection.
  grpc::Status plain = Put(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), "plain");
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();
  // Trusting another CA: the server's certificate does not verify.
  grpc::Status other_ca = Put(TlsChannel(address, tls.other_ca_cert, tls.client_cert, tls.client_key), "ca");
  EXPECT_EQ(other_ca.error_code(), grpc::StatusCode::UNAVAILABLE) << other_ca.error_message();
  // No client certificate: mutual TLS refuses it.
  grpc::Status no_cert = Put(TlsChannel(address, tls.ca_cert, "", ""), "nocert");
  EXPECT_EQ(no_cert.error_code(), grpc::StatusCode::UNAVAILABLE) << no_cert.error_message();
  // None of them wrote anything.
  auto client = TlsChannel(address, tls.ca_cert, tls.client_cert, tls.client_key);
  auto stub = rpc::KvService::NewStub(client);
  for (const std::string key : {"plain", "ca", "nocert"}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", std::string("Bearer ") + std::getenv("HALO_AUTH_TOKEN"));
    rpc::KvGetRequest request;
    request.set_namespace_("tls");
    request.set_key(key);
    rpc::KvGetReply reply;
    ASSERT_TRUE(stub->Get(&context, request, &reply).ok());
    EXPECT_FALSE(reply.found()) << key;
  }

  // The command line says why, in one line: a plaintext command, and one trusting another CA.
  TempDir no_sessions;  // so the command cannot find the head's session (and its TLS files) as the latest one
  auto plaintext_cli = RunHalo({"kv", "get", "--address", address, "k", "--session-root", no_sessions.path()});
  EXPECT_EQ(plaintext_cli.exit_code, 1) << plaintext_cli.output;
  EXPECT_TRUE(Contains(plaintext_cli.output, "the cluster may use TLS")) << plaintext_cli.output;
  auto wrong_ca_cli = RunHalo({"kv", "get", "--address", address, "k", "--tls-cert", tls.client_cert, "--tls-key",
                               tls.client_key, "--tls-ca", tls.other_ca_cert});
  EXPECT_EQ(wrong_ca_cli.exit_code, 1) << wrong_ca_cli.output;
  EXPECT_TRUE(Contains(wrong_ca_cli.output, "certificate verify failed"))
      << wrong_ca_cli.output;
  // Half the TLS settings are refused at once.
  auto half = RunHalo({"kv", "get", "--address", address, "k", "--tls-ca", tls.ca_cert});
  EXPECT_EQ(half.exit_code, 1) << half.output;
  EXPECT_TRUE(Contains(half.output, "'tls_cert', 'tls_key' and 'tls_ca' go together")) << half.output;
}

}  // namespace
}  // namespace halo::testing
