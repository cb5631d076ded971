// halo-sim: runs the control plane under the deterministic simulator.
//   halo-sim --seeds 1000 [--start-seed S]   many seeds; prints each failing seed with its violations
//   halo-sim --seed S --trace                 one seed, printing its whole trace
//   halo-sim --election --seeds 1000          the head-election scenario (sim/election_sim.h)
// Every run prints its seed; rerunning a seed reproduces its trace exactly (same trace hash).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>

#include "sim/election_sim.h"
#include "sim/sim_cluster.h"

namespace {

struct Outcome {
  uint64_t trace_hash;
  std::vector<std::string> violations;
  halo::sim::SimCluster::Stats stats;
  std::vector<std::string> trace;
};

bool g_fast_detection = false;
bool g_show_logs = false;

Outcome RunSeed(uint64_t seed, bool keep_trace, const halo::sim::ScenarioSettings& scenario) {
  halo::sim::Simulation sim(seed);
  sim.set_keep_trace_lines(keep_trace && !g_show_logs);
  sim.set_echo_trace_lines(keep_trace && g_show_logs);
  halo::Settings settings;  // production defaults
  // Shorter than production's 60 s so that a node whose lease only vouching could have extended (a silent
  // majority) is declared dead within the settling time.
  settings.gcs_reconnect_timeout_ms = 20000;
  if (g_fast_detection) {
    // Failure detection faster than the node lease: only the lease then keeps deaths safe.
    settings.health_check_failure_threshold = 1;
    settings.health_check_period_ms = 100;
    settings.health_check_timeout_ms = 200;
  }
  halo::sim::SimCluster cluster(sim, settings, scenario);
  cluster.Run();
  return Outcome{sim.trace_hash(), sim.violations(), cluster.stats(), sim.trace_lines()};
}

// The election scenario instead of the cluster one: prints failing seeds, then a summary.
int RunElectionSeeds(uint64_t first, uint64_t count, bool trace, bool check_determinism, double loss) {
  int failed = 0;
  halo::sim::ElectionStats total;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    halo::sim::ElectionScenario scenario;
    scenario.loss_probability = loss;
    halo::sim::Simulation sim(seed);
    sim.set_keep_trace_lines(trace);
    halo::sim::ElectionStats stats = halo::sim::RunElectionScenario(sim, scenario);
    bool ok = sim.violations().empty();
    if (check_determinism) {
      halo::sim::Simulation again(seed);
      halo::sim::RunElectionScenario(again, scenario);
      if (again.trace_hash() != sim.trace_hash()) {
        ok = false;
        std::cout << "seed " << seed << ": NOT DETERMINISTIC\n";
      }
    }
    if (trace) {
      for (const auto& line : sim.trace_lines()) std::cout << line << "\n";
    }
    if (!ok || count == 1) {
      std::cout << "seed " << seed << ": " << (ok ? "ok" : "FAILED") << " (" << stats.elections << " elections, "
                << stats.writes_applied << " writes applied, " << stats.stale_writes_refused
                << " stale writes refused)\n";
      for (const auto& v : sim.violations()) std::cout << "  violation: " << v << "\n";
      if (!ok) std::cout << "  rerun: halo-sim --election --seed " << seed << " --trace\n";
    }
    failed += ok ? 0 : 1;
    total.elections += stats.elections;
    total.writes_applied += stats.writes_applied;
    total.stale_writes_refused += stats.stale_writes_refused;
  }
  std::cout << "election seeds " << first << ".." << first + count - 1 << ": " << total.elections << " elections, "
            << total.writes_applied << " writes applied, " << total.stale_writes_refused
            << " stale writes refused by fencing\n";
  std::cout << (count - failed) << " passed, " << failed << " failed" << std::endl;
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"halo-sim: deterministic simulation of the Halo control plane"};
  uint64_t seeds = 1000, start_seed = 1;
  std::optional<uint64_t> one_seed;
  bool trace = false, check_determinism = false, election = false;
  halo::sim::ScenarioSettings scenario;
  app.add_option("--seeds", seeds, "how many seeds to run")->check(CLI::Range(1, 100000000));
  app.add_option("--start-seed", start_seed, "first seed");
  app.add_option("--seed", one_seed, "run only this seed");
  app.add_flag("--trace", trace, "print the trace (with --seed)");
  app.add_flag("--election", election, "run the head-election scenario (leader lease, fencing) instead");
  app.add_flag("--check-determinism", check_determinism, "run every seed twice and compare the traces");
  app.add_option("--duration-ms", scenario.duration_ms, "virtual time with faults")->check(CLI::Range(1000, 3600000));
  app.add_option("--loss", scenario.loss_probability, "probability that a message is lost")->check(CLI::Range(0.0, 0.5));
  app.add_flag("--leases", scenario.leases, "node leases: the GCS's lease policy and a lease keeper in every node");
  app.add_flag("--mutate-vouch-always", scenario.mutate_vouch_always,
               "with --leases, a mutation: nodes vouch for any peer that asks, hearing grants or not");
  app.add_flag("--actors", scenario.actors,
               "with --leases: detached actors on the nodes, called by a driver; at most one instance may serve");
  app.add_option("--clock-skew", scenario.clock_skew, "hosts' clocks run at rates 1 +- this")
      ->check(CLI::Range(0.0, 0.2));
  app.add_flag("--gcs-outages-only", scenario.gcs_outages_only,
               "with --actors: only GCS crashes, failovers and storage stalls; no actor may stop serving");
  app.add_flag("--mutate-no-clock-margin", scenario.mutate_no_clock_margin,
               "with --leases, a mutation: node leases keep no margin for clock rates (skew at least 0.05)");
  app.add_flag("--fast-detection", g_fast_detection,
               "health checks declare a node failed after one 200 ms probe (faster than its lease)");
  bool expect_violations = false;
  app.add_flag("--expect-violations", expect_violations,
               "succeed only if some seed fails (to show a mutation is caught)");
  app.add_flag("--logs", g_show_logs, "with --trace: print the managers' log lines in it");
  CLI11_PARSE(app, argc, argv);
  if ((scenario.actors || scenario.mutate_no_clock_margin || scenario.mutate_vouch_always) && !scenario.leases) {
    std::cerr << "halo-sim: --actors and the lease mutations need --leases" << std::endl;
    return 2;
  }
  if (scenario.gcs_outages_only && !scenario.actors) {
    std::cerr << "halo-sim: --gcs-outages-only needs --actors" << std::endl;
    return 2;
  }
  // The managers' logs would drown the report.
  spdlog::set_level(g_show_logs ? spdlog::level::info : spdlog::level::off);

  const uint64_t first = one_seed.value_or(start_seed);
  const uint64_t count = one_seed ? 1 : seeds;
  if (election) return RunElectionSeeds(first, count, trace, check_determinism, scenario.loss_probability);
  int failed = 0;
  halo::sim::SimCluster::Stats total;
  auto start = std::chrono::steady_clock::now();
  for (uint64_t seed = first; seed < first + count; ++seed) {
    Outcome outcome = RunSeed(seed, trace, scenario);
    if (trace) {
      for (const auto& line : outcome.trace) std::cout << line << "\n";
    }
    bool ok = outcome.violations.empty();
    if (check_determinism) {
      Outcome again = RunSeed(seed, false, scenario);
      if (again.trace_hash != outcome.trace_hash) {
        ok = false;
        std::cout << "seed " << seed << ": NOT DETERMINISTIC (trace hash " << outcome.trace_hash << " then "
                  << again.trace_hash << ")\n";
      }
    }
    if (!ok || one_seed) {
      std::cout << "seed " << seed << ": " << (ok ? "ok" : "FAILED") << " (trace hash " << std::hex
                << outcome.trace_hash << std::dec << ", " << outcome.stats.nodes << " nodes, " << outcome.stats.faults
                << " faults, " << outcome.stats.gcs_restarts << " GCS restarts (" << outcome.stats.failovers
                << " failovers), " << outcome.stats.deaths_detected << " deaths detected, "
                << outcome.stats.actor_restarts << " actor restarts, " << outcome.stats.actor_calls
                << " actor calls answered)\n";
      for (const auto& v : outcome.violations) std::cout << "  violation: " << v << "\n";
      if (!ok) {
        std::cout << "  rerun: halo-sim --seed " << seed << (scenario.leases ? " --leases" : "")
                  << (scenario.actors ? " --actors" : "") << (scenario.gcs_outages_only ? " --gcs-outages-only" : "")
                  << (scenario.clock_skew > 0 ? " --clock-skew " + std::to_string(scenario.clock_skew) : "")
                  << (g_fast_detection ? " --fast-detection" : "")
                  << (scenario.mutate_vouch_always ? " --mutate-vouch-always" : "")
                  << (scenario.mutate_no_clock_margin ? " --mutate-no-clock-margin" : "") << " --trace\n";
      }
    }
    failed += ok ? 0 : 1;
    total.nodes += outcome.stats.nodes;
    total.faults += outcome.stats.faults;
    total.gcs_restarts += outcome.stats.gcs_restarts;
    total.deaths_detected += outcome.stats.deaths_detected;
    total.self_fenced += outcome.stats.self_fenced;
    total.failovers += outcome.stats.failovers;
    total.actor_restarts += outcome.stats.actor_restarts;
    total.actor_calls += outcome.stats.actor_calls;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "seeds " << first << ".." << first + count - 1 << ": " << total.nodes << " nodes, " << total.faults
            << " faults, " << total.gcs_restarts << " GCS restarts, " << total.deaths_detected
            << " deaths detected, " << total.self_fenced << " node agents fenced themselves, " << total.failovers
            << " failovers, " << total.actor_restarts << " actor restarts, " << total.actor_calls
            << " actor calls answered, in " << seconds << " s\n";
  std::cout << (count - failed) << " passed, " << failed << " failed" << std::endl;
  if (expect_violations) {
    std::cout << (failed > 0 ? "the mutation was caught" : "the mutation was NOT caught") << std::endl;
    return failed > 0 ? 0 : 1;
  }
  return failed == 0 ? 0 : 1;
}
