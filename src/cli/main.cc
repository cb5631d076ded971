// halo: the command line. Subcommands: start, stop, status, config, kv, jobs, list nodes|actors, drain, events,
// storage cleanup, serve validate, microbenchmark.
#include <CLI/CLI.hpp>

#include <grpc/support/log.h>

#include <cstdlib>

#include "cli/commands.h"
#include "common/settings_flags.h"
#include "halo/halo.h"
#include "rpc/tls_probe.h"

int main(int argc, char** argv) {
  // `halo microbenchmark` runs its tasks in workers started from this executable: they never get past here.
  if (std::getenv("HALO_WORKER_MODE") != nullptr) halo::Init(argc, argv);
  // A command prints one line per error, its own: gRPC's log lines (a failed TLS handshake, say) would be a
  // second, unless asked for with GRPC_VERBOSITY.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function([](gpr_log_func_args*) {});
  halo::rpc::SetExplainTlsRefusals(true);
  using namespace halo::cli;
  CLI::App app{"halo: run and inspect a Halo cluster"};
  app.require_subcommand(1);

  auto* start = app.add_subcommand("start", "start a head (GCS) on this machine");
  StartOptions start_options;
  start->add_flag("--head", start_options.head, "start the head: the GCS control plane");
  start->add_option("--address", start_options.address,
                    "GCS address of the cluster this machine joins (several head candidates: h1:port,h2:port)");
  start->add_flag("--ha", start_options.ha,
                  "with --head: this head is one of several candidates sharing Redis storage; it leads only "
                  "while it holds the leader lease (same as --head-mode ha)");
  halo::SettingFlags start_flags(start);

  auto* stop = app.add_subcommand("stop", "stop the daemons of a session (default: the latest)");
  halo::SettingFlags stop_flags(stop);

  auto* status = app.add_subcommand("status", "show the cluster's identity, storage and uptime");
  std::string address;
  bool json = false;
  status->add_option("--address", address, "GCS address (default: HALO_ADDRESS, then the latest session)");
  status->add_flag("--json", json, "print JSON");
  halo::SettingFlags status_flags(status);

  auto* config = app.add_subcommand("config", "print every setting's effective value and where it came from");
  config->add_flag("--json", json, "print JSON");
  halo::SettingFlags config_flags(config);

  auto* kv = app.add_subcommand("kv", "read and write the cluster's internal key-value store");
  kv->require_subcommand(1);
  KvCommand kv_command;
  kv->add_option("--address", address, "GCS address");
  kv->add_option("--namespace", kv_command.name_space, "KV namespace")->capture_default_str();
  halo::SettingFlags kv_flags(kv);
  auto* kv_put = kv->add_subcommand("put", "set KEY to VALUE");
  kv_put->add_option("key", kv_command.key)->required();
  kv_put->add_option("value", kv_command.value)->required();
  kv_put->add_flag("--no-overwrite", kv_command.no_overwrite, "fail if KEY exists");
  auto* kv_get = kv->add_subcommand("get", "print the value of KEY");
  kv_get->add_option("key", kv_command.key)->required();
  auto* kv_del = kv->add_subcommand("del", "delete KEY (or every key starting with it, with --prefix)");
  kv_del->add_option("key", kv_command.key)->required();
  kv_del->add_flag("--prefix", kv_command.by_prefix, "delete every key starting with KEY");
  auto* kv_list = kv->add_subcommand("list", "list keys starting with PREFIX");
  kv_list->add_option("prefix", kv_command.key);
  auto* kv_exists = kv->add_subcommand("exists", "print whether KEY exists (exit 1 if not)");
  kv_exists->add_option("key", kv_command.key)->required();

  for (auto* sub : {kv_put, kv_get, kv_del, kv_list, kv_exists}) sub->fallthrough();

  auto* jobs = app.add_subcommand("jobs", "list the cluster's jobs");
  jobs->add_option("--address", address, "GCS address");
  jobs->add_flag("--json", json, "print JSON");
  halo::SettingFlags jobs_flags(jobs);

  auto* list = app.add_subcommand("list", "list cluster members");
  list->require_subcommand(1);
  auto* list_nodes = list->add_subcommand("nodes", "every node: id, address, state, death reason, resources");
  list_nodes->add_option("--address", address, "GCS address");
  list_nodes->add_flag("--json", json, "print JSON");
  halo::SettingFlags list_flags(list_nodes);
  auto* list_actors =
      list->add_subcommand("actors", "every actor: id, name, state, node, pid, restarts, death cause");
  list_actors->add_option("--address", address, "GCS address");
  list_actors->add_flag("--json", json, "print JSON");
  halo::SettingFlags list_actors_flags(list_actors);

  auto* drain = app.add_subcommand("drain", "stop giving a node work; it leaves when idle or at the deadline");
  std::string drain_node, drain_reason = "preemption";
  double drain_deadline_s = 0;
  drain->add_option("node_id", drain_node, "the node to drain")->required();
  drain->add_option("--reason", drain_reason, "why (preemption, idle, ...)")->capture_default_str();
  drain->add_option("--deadline-s", drain_deadline_s, "leave at the latest after this many seconds (0: when idle)");
  drain->add_option("--address", address, "GCS address");
  halo::SettingFlags drain_flags(drain);

  auto* events = app.add_subcommand(
      "events", "the cluster event log: nodes added, suspected, dead; actors restarted, died; jobs; head elections; "
                "GCS recoveries; storage outages; objects rebuilt; service replicas replaced");
  EventsOptions events_options;
  events->add_flag("--follow,-f", events_options.follow, "keep printing new events");
  events->add_option("--kind", events_options.kinds,
                     "only these kinds (node_dead,actor_restarted,...) or groups (node, actor, job, head, gcs, "
                     "storage, objects, replica); repeatable");
  events->add_option("--last", events_options.last, "start with at most this many of the newest events")
      ->capture_default_str();
  events->add_flag("--json", events_options.json, "one JSON object per event and line");
  events->add_option("--address", events_options.address, "GCS address");
  halo::SettingFlags events_flags(events);

  auto* storage = app.add_subcommand("storage", "manage external storage");
  storage->require_subcommand(1);
  auto* cleanup = storage->add_subcommand(
      "cleanup", "remove every key of one namespace (--storage-namespace) from Redis (--storage)");
  halo::SettingFlags cleanup_flags(cleanup);

  auto* serve = app.add_subcommand("serve", "services: deployments of replicas behind HTTP");
  serve->require_subcommand(1);
  auto* serve_validate = serve->add_subcommand("validate", "check a service config and print what it deploys");
  std::string serve_config;
  serve_validate->add_option("config", serve_config, "the service config (service.yaml)")->required();
  serve_validate->add_flag("--json", json, "print the parsed config as JSON");
  auto* serve_deploy = serve->add_subcommand(
      "deploy", "deploy a service (or a new version: rolled out one replica at a time); waits until it serves");
  std::string serve_executable, serve_name;
  serve_deploy->add_option("executable", serve_executable, "the service's executable (main: halo::serve::Main)")
      ->required();
  serve_deploy->add_option("--config", serve_config, "the service config (service.yaml)")->required();
  serve_deploy->add_option("--address", address, "GCS address");
  // --config is the service's here, so settings come from the environment (and these flags) only.
  double serve_timeout_s = 0;
  serve_deploy->add_option("--timeout-s", serve_timeout_s,
                           "how long to wait for the new version to serve (default: serve_deploy_timeout_ms)")
      ->check(CLI::PositiveNumber);
  auto* serve_status = serve->add_subcommand("status", "each service's deployments: target, healthy, nodes");
  serve_status->add_option("name", serve_name, "one service (default: every one)");
  serve_status->add_flag("--json", json, "print JSON");
  serve_status->add_option("--address", address, "GCS address");
  halo::SettingFlags serve_status_flags(serve_status);
  auto* serve_delete = serve->add_subcommand("delete", "stop a service's replicas and forget it");
  serve_delete->add_option("name", serve_name, "the service")->required();
  serve_delete->add_option("--address", address, "GCS address");
  halo::SettingFlags serve_delete_flags(serve_delete);

  auto* micro = app.add_subcommand("microbenchmark",
                                   "measure task and object throughput (Ray's metric names); starts a local "
                                   "cluster unless --address is given");
  MicrobenchmarkOptions micro_options;
  micro->add_option("--address", micro_options.address, "GCS address of a running cluster");
  micro->add_option("--duration-s", micro_options.duration_s, "seconds per metric")->capture_default_str();
  micro->add_option("--clients", micro_options.clients, "clients of multi_client_tasks_async")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (start->parsed()) {
    start_options.passthrough = start_flags.GivenAsArguments();
    return RunStart(start_options, start_flags.Inputs());
  }
  if (stop->parsed()) return RunStop(stop_flags.Inputs());
  if (status->parsed()) return RunStatus(address, json, status_flags.Inputs());
  if (config->parsed()) return RunConfig(config_flags.Inputs(), json);
  if (kv->parsed()) {
    for (auto* sub : {kv_put, kv_get, kv_del, kv_list, kv_exists}) {
      if (sub->parsed()) kv_command.action = sub->get_name();
    }
    return RunKv(kv_command, address, kv_flags.Inputs());
  }
  if (jobs->parsed()) return RunJobs(address, json, jobs_flags.Inputs());
  if (cleanup->parsed()) return RunStorageCleanup(cleanup_flags.Inputs());
  if (list_nodes->parsed()) return RunListNodes(address, json, list_flags.Inputs());
  if (list_actors->parsed()) return RunListActors(address, json, list_actors_flags.Inputs());
  if (drain->parsed()) return RunDrain(drain_node, drain_reason, drain_deadline_s, address, drain_flags.Inputs());
  if (micro->parsed()) return RunMicrobenchmark(micro_options);
  if (serve_validate->parsed()) return RunServeValidate(serve_config, json);
  if (serve_deploy->parsed()) {
    halo::SettingsInputs deploy_inputs;
    if (serve_timeout_s > 0) {
      deploy_inputs.flags["serve_deploy_timeout_ms"] = std::to_string(static_cast<int64_t>(serve_timeout_s * 1000));
    }
    return RunServeDeploy(serve_executable, serve_config, address, deploy_inputs);
  }
  if (serve_status->parsed()) return RunServeStatus(serve_name, json, address, serve_status_flags.Inputs());
  if (serve_delete->parsed()) return RunServeDelete(serve_name, address, serve_delete_flags.Inputs());
  if (events->parsed()) return RunEvents(events_options, events_flags.Inputs());
  return Fail("no command given; see `halo --help`");
}
