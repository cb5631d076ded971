// halo-node: the node agent daemon. Started by `halo start --head` (for the head machine) or
// `halo start --address GCS` (to join a cluster). Registers with the GCS, serves the standard health service
// the GCS probes, and exits when the GCS declares its node dead, serves another cluster, or stays unreachable
// past gcs_reconnect_timeout_ms. SIGTERM stops it gracefully (EXPECTED_TERMINATION). The parts are put
// together by node/node_server.
#include <signal.h>

#include <iostream>
#include <thread>

#include "common/advertised_address.h"
#include "common/daemon.h"
#include "common/logging.h"
#include "node/node_server.h"
#include "rpc/cluster_security.h"

namespace {

int Fail(const std::string& message) { return halo::DaemonError("halo-node", message); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"halo-node: the Halo node agent"};
  std::string gcs_address;
  bool is_head = false;
  app.add_option("--gcs-address", gcs_address, "address of the cluster's GCS")->required();
  app.add_flag("--is-head", is_head, "this node runs on the head machine");
  int exit_code = 0;
  std::optional<halo::LoadedSettings> loaded =
      halo::LoadDaemonSettingsWithSources(app, "halo-node", argc, argv, &exit_code);
  if (!loaded) return exit_code;
  auto hosts = halo::ChooseHosts(loaded->values, loaded->source["host"] != "default", gcs_address,
                                 "the node agent");
  if (!hosts.ok()) return Fail(std::string(hosts.status().message()));
  // Workers inherit these, and every other setting this node was given.
  loaded->values.host = hosts->bind_host;
  loaded->values.advertise_host = hosts->advertise_host;

  const sigset_t stop_signals = halo::BlockStopSignals();
  // The pid file is written once the node serves (`halo start` then knows it can wait for registration).
  halo::Status prepared = halo::PrepareDaemonSession(loaded->values, "node", /*write_pid=*/false);
  if (!prepared.ok()) return Fail(std::string(prepared.message()));
  halo::Status serving_security = halo::rpc::CheckServingSecurity(loaded->values);
  if (!serving_security.ok()) return Fail(std::string(serving_security.message()));
  auto security = halo::rpc::LoadClusterSecurity(loaded->values, loaded->values.session_dir);
  if (!security.ok()) return Fail(std::string(security.status().message()));
  halo::rpc::SetProcessSecurity(*std::move(security));
  halo::StartMemoryTrimmer(loaded->values.memory_trim_interval_ms);

  auto server = halo::node::NodeServer::Start(halo::node::NodeServerOptions{loaded->values, gcs_address, is_head});
  if (!server.ok()) return Fail(std::string(server.status().message()));
  halo::node::NodeServer* node = server->get();
  std::thread([node, stop_signals] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    node->Stop();
  }).detach();

  const halo::node::NodeExit exit = node->Wait();
  node->Shutdown();
  if (exit.code != 0) {
    Fail(exit.why);
  } else {
    std::cout << "halo-node: " << exit.why << std::endl;
  }
  halo::ExitDaemon(exit.code == 0 ? 0 : 1);
}
