// An out-of-tree Halo program: built against an installed Halo with find_package(halo) (see CMakeLists.txt).
// Tasks count the words of each line of a text in parallel; an actor keeps the running totals.
//   ./word_stats --address HOST:PORT
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "halo/halo.h"

// A task: how often each word appears in one line.
std::map<std::string, int> CountWords(std::string line) {
  std::map<std::string, int> counts;
  std::istringstream words(line);
  for (std::string word; words >> word;) ++counts[word];
  return counts;
}

// An actor: totals over every line it was given.
class Totals {
 public:
  int Add(std::map<std::string, int> counts) {
    for (const auto& [word, n] : counts) totals_[word] += n;
    return static_cast<int>(totals_.size());
  }
  int Of(std::string word) { return totals_.count(word) ? totals_[word] : 0; }

 private:
  std::map<std::string, int> totals_;
};
Totals* MakeTotals() { return new Totals(); }
HALO_REMOTE(CountWords, MakeTotals, &Totals::Add, &Totals::Of);

int main(int argc, char** argv) {
  halo::Init(argc, argv);
  const std::vector<std::string> lines = {
      "the head fails over in about a second",
      "the nodes keep serving while the head recovers",
      "at most one instance of the actor serves at a time",
  };
  std::vector<halo::ObjectRef<std::map<std::string, int>>> counted;
  for (const auto& line : lines) counted.push_back(halo::Task(CountWords).Remote(line));
  auto totals = halo::Actor(MakeTotals).Remote();
  // Calls from one caller run in the order they were made.
  for (auto& counts : counted) totals.Task(&Totals::Add).Remote(*halo::Get(counts));
  const int the = *halo::Get(totals.Task(&Totals::Of).Remote(std::string("the")));
  const int head = *halo::Get(totals.Task(&Totals::Of).Remote(std::string("head")));
  std::printf("'the' appears %d times, 'head' %d times\n", the, head);
  halo::Shutdown();
  return the == 4 && head == 2 ? 0 : 1;
}
