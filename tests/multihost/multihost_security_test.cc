// Authentication and TLS across hosts (network namespaces joined by a bridge): a head on one host, with mutual
// TLS and a cluster token from a file; a node agent on a second host joins with the same files and runs a task
// of a driver on a third; from that third host, a plaintext client, a client with a wrong token and a client
// without the token are refused, and the command line says why.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "common/process.h"
#include "support/netns_hosts.h"
#include "support/test_env.h"

namespace halo::testing {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(MultiHostSecurityTest, TlsAndTokenAcrossHosts) {
  NetnsHosts net({"head", "n1", "out"});
  TempDir dir;
  const TlsFiles tls = MakeTlsFiles(dir.path(), {net.Address("head"), net.Address("n1"), net.Address("out")});
  const std::string token_file = dir.path() + "/token";
  ASSERT_TRUE(WriteFileAtomically(token_file, "0123456789abcdef0123456789abcdef\n", 0600).ok());
  const std::vector<std::string> tls_flags = {"--tls-cert", tls.server_cert, "--tls-key", tls.server_key,
                                              "--tls-ca", tls.ca_cert};
  // Nothing from the test process's environment: the token comes from the file only.
  const std::map<std::string, std::string> env = {{"HALO_AUTH_TOKEN", ""},
                                                  {"HALO_SESSION_ROOT", dir.path() + "/roots"}};
  // The hosts share this machine's file system: each sees only its own sessions, as real machines would.
  auto halo_in = [&](const std::string& host, std::vector<std::string> args) {
    args.insert(args.begin(), BinDir() + "/halo");
    auto host_env = env;
    host_env["HALO_SESSION_ROOT"] = dir.path() + "/roots-" + host;
    return RunCommand(net.Wrap(host, args), std::chrono::seconds(60), host_env);
  };
  const std::string gcs = absl::StrCat(net.Address("head"), ":6480");

  std::vector<std::string> head = {"start", "--head", "--host", net.Address("head"), "--port", "6480",
                                   "--session-dir", dir.path() + "/head", "--gcs-restarts-max", "0",
                                   "--auth-token-file", token_file, "--serve-http-port", "-1"};
  head.insert(head.end(), tls_flags.begin(), tls_flags.end());
  auto started = halo_in("head", head);
  ASSERT_EQ(started.exit_code, 0) << started.output;

  std::vector<std::string> node = {"start", "--address", gcs, "--session-dir", dir.path() + "/n1",
                                   "--auth-token-file", token_file, "--serve-http-port", "-1", "--resources",
                                   "on_n1=1"};
  node.insert(node.end(), tls_flags.begin(), tls_flags.end());
  auto joined = halo_in("n1", node);
  ASSERT_EQ(joined.exit_code, 0) << joined.output;

  std::vector<std::string> list = {"list", "nodes", "--address", gcs, "--auth-token-file", token_file};
  list.insert(list.end(), tls_flags.begin(), tls_flags.end());
  auto nodes = halo_in("out", list);
  ASSERT_EQ(nodes.exit_code, 0) << nodes.output;
  EXPECT_TRUE(Contains(nodes.output, net.Address("n1"))) << nodes.output;
  EXPECT_EQ(std::count(nodes.output.begin(), nodes.output.end(), '\n'), 3) << nodes.output;  // header + 2 ALIVE

  // A driver on the third host runs a task: driver, GCS, both node agents and a worker over TLS with the token.
  std::map<std::string, std::string> driver_env = env;
  driver_env["HALO_SESSION_ROOT"] = dir.path() + "/roots-out";
  driver_env["HALO_AUTH_TOKEN"] = "0123456789abcdef0123456789abcdef";
  driver_env["HALO_TLS_CERT"] = tls.server_cert;
  driver_env["HALO_TLS_KEY"] = tls.server_key;
  driver_env["HALO_TLS_CA"] = tls.ca_cert;
  auto driver = RunCommand(net.Wrap("out", {BinDir() + "/../tests/test_driver", "--address", gcs, "--shutdown"}),
                           std::chrono::seconds(90), driver_env);
  EXPECT_EQ(driver.exit_code, 0) << driver.output;
  EXPECT_TRUE(Contains(driver.output, "ready 42")) << driver.output;

  // From the third host: plaintext with the right token, TLS with a wrong token, TLS without one.
  auto plaintext = halo_in("out", {"kv", "get", "--address", gcs, "k", "--auth-token-file", token_file});
  EXPECT_EQ(plaintext.exit_code, 1) << plaintext.output;
  EXPECT_TRUE(Contains(plaintext.output, "the cluster may use TLS")) << plaintext.output;
  std::vector<std::string> wrong = {"kv", "get", "--address", gcs, "k"};
  wrong.insert(wrong.end(), tls_flags.begin(), tls_flags.end());
  auto wrong_env = env;
  wrong_env["HALO_SESSION_ROOT"] = dir.path() + "/roots-out";
  wrong_env["HALO_AUTH_TOKEN"] = "0123456789abcdef0123456789abcdeX";
  wrong.insert(wrong.begin(), BinDir() + "/halo");
  auto wrong_token = RunCommand(net.Wrap("out", wrong), std::chrono::seconds(60), wrong_env);
  EXPECT_EQ(wrong_token.exit_code, 1) << wrong_token.output;
  EXPECT_TRUE(Contains(wrong_token.output, "cluster token is wrong")) << wrong_token.output;
  std::vector<std::string> none = {"kv", "get", "--address", gcs, "k"};
  none.insert(none.end(), tls_flags.begin(), tls_flags.end());
  auto no_token = halo_in("out", none);
  EXPECT_EQ(no_token.exit_code, 1) << no_token.output;
  EXPECT_TRUE(Contains(no_token.output, "carries no cluster token")) << no_token.output;
}

}  // namespace
}  // namespace halo::testing
