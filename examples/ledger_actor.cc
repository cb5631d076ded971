// A stateful actor that survives its own crashes: a ledger that applies numbered deposits exactly once.
//   halo start --head; ./ledger_actor --address ADDR [--deposits N] [--pause-ms MS]
// The ledger keeps its state in a checkpoint file that its constructor reads, so a restarted instance picks
// up where the last one stopped; calls are retried to the new instance (max_task_retries=-1), and a deposit
// already applied is recognised by its number, so a retried call never counts twice. Calls go straight to
// the actor: they keep being served while the GCS is down.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "halo/halo.h"

class Ledger {
 public:
  explicit Ledger(std::string checkpoint) : checkpoint_(std::move(checkpoint)) {
    std::ifstream in(checkpoint_);
    in >> last_applied_ >> balance_;  // an empty or missing file leaves both at 0
  }
  // Applies deposit number `number` once; returns the balance after it.
  int64_t Deposit(int64_t number, int64_t amount) {
    if (number > last_applied_) {
      balance_ += amount;
      last_applied_ = number;
      const std::string temporary = checkpoint_ + ".tmp";
      std::ofstream(temporary) << last_applied_ << " " << balance_ << "\n";
      std::rename(temporary.c_str(), checkpoint_.c_str());
    }
    return balance_;
  }
  int Pid() const { return getpid(); }
  bool Restarted() const { return halo::WasCurrentActorRestarted(); }

 private:
  std::string checkpoint_;
  int64_t last_applied_ = 0;
  int64_t balance_ = 0;
};
Ledger* MakeLedger(std::string checkpoint) { return new Ledger(std::move(checkpoint)); }
HALO_REMOTE(MakeLedger, &Ledger::Deposit, &Ledger::Pid, &Ledger::Restarted);

int main(int argc, char** argv) {
  halo::Init(argc, argv);  // in a worker process, this hosts the actor and never returns
  int64_t deposits = 300;
  int pause_ms = 20;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--deposits") deposits = std::atoll(argv[i + 1]);
    if (std::string(argv[i]) == "--pause-ms") pause_ms = std::atoi(argv[i + 1]);
  }
  char directory[] = "/tmp/halo-ledger-XXXXXX";
  if (mkdtemp(directory) == nullptr) return 1;
  auto ledger = halo::Actor(MakeLedger)
                    .SetName("ledger")
                    .SetMaxRestarts(-1)     // restart after every crash
                    .SetMaxTaskRetries(-1)  // re-send unfinished calls to the new instance, in order
                    .Remote(std::string(directory) + "/checkpoint");
  int last_pid = *halo::Get(ledger.Task(&Ledger::Pid).Remote());
  std::printf("actor pid: %d\n", last_pid);
  std::fflush(stdout);
  int64_t balance = 0;
  int instances = 1;
  for (int64_t n = 1; n <= deposits; ++n) {
    balance = *halo::Get(ledger.Task(&Ledger::Deposit).Remote(n, n));
    if (n % 25 == 0 || n == deposits) {
      const int pid = *halo::Get(ledger.Task(&Ledger::Pid).Remote());
      if (pid != last_pid) {
        instances += 1;
        std::printf("the ledger was restarted: pid %d -> %d (state read back from its checkpoint)\n", last_pid, pid);
        last_pid = pid;
      }
      std::printf("progress: %lld/%lld deposits, balance %lld, actor pid %d\n", static_cast<long long>(n),
                  static_cast<long long>(deposits), static_cast<long long>(balance), pid);
      std::fflush(stdout);
    }
    usleep(pause_ms * 1000);
  }
  const int64_t expected = deposits * (deposits + 1) / 2;
  std::printf("final balance %lld (expected %lld) across %d instance(s)\n", static_cast<long long>(balance),
              static_cast<long long>(expected), instances);
  halo::Kill(ledger);
  halo::Shutdown();
  return balance == expected ? 0 : 1;
}
