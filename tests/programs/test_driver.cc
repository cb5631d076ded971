// A driver for tests that need one in its own process: runs one task, puts one large object (it lands in the
// local node's store), prints "ready <the task's result>", then waits to be killed (at most 120 s) or, with
// --shutdown, shuts down and exits.
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "halo/halo.h"

namespace {
int Twice(int x) { return 2 * x; }
HALO_REMOTE(Twice);
}  // namespace

int main(int argc, char** argv) {
  halo::Init(argc, argv);
  const bool shutdown = argc > 1 && std::strcmp(argv[argc - 1], "--shutdown") == 0;
  auto large = halo::Put(std::string(512 * 1024, 'x'));
  std::cout << "ready " << *halo::Get(halo::Task(Twice).Remote(21)) << std::endl;
  if (shutdown) {
    halo::Shutdown();
    return 0;
  }
  std::this_thread::sleep_for(std::chrono::seconds(120));
  return 0;
}
