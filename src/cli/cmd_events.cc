// `halo events`: the cluster event log (gcs/event_log.h), newest last; --follow keeps printing.
#include <chrono>
#include <deque>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "rpc/gcs_client.h"
#include "rpc/session.h"
#include "rpc/event_json.h"
#include "rpc/state_names.h"

namespace halo::cli {
namespace {

// How long one follow call waits for news, and the pause after losing the GCS.
constexpr int64_t kFollowWaitMs = 10000;
constexpr int64_t kReconnectPauseMs = 1000;

std::vector<std::string> AllKindNames() {
  std::vector<std::string> names;
  for (int value = rpc::ClusterEventKind_MIN; value <= rpc::ClusterEventKind_MAX; ++value) {
    if (value == rpc::EVENT_KIND_UNSPECIFIED || !rpc::ClusterEventKind_IsValid(value)) continue;
    names.push_back(EventKindName(static_cast<rpc::ClusterEventKind>(value)));
  }
  return names;
}

// "node_dead", or a group named by the first word ("node": every node_* kind). Several by commas.
StatusOr<std::vector<rpc::ClusterEventKind>> ParseKinds(const std::vector<std::string>& given) {
  std::set<int> kinds;
  for (const auto& entry : given) {
    for (const auto& item : absl::StrSplit(entry, ',', absl::SkipEmpty())) {
      const std::string name(item);
      rpc::ClusterEventKind kind;
      if (ParseEventKind(name, &kind)) {
        kinds.insert(kind);
        continue;
      }
      bool matched = false;
      for (const auto& known : AllKindNames()) {
        if (known.rfind(name + "_", 0) == 0 && ParseEventKind(known, &kind)) {
          kinds.insert(kind);
          matched = true;
        }
      }
      if (!matched) {
        return InvalidArgumentError(absl::StrCat("--kind: unknown event kind '", name,
                                                 "'; kinds: ", absl::StrJoin(AllKindNames(), ", ")));
      }
    }
  }
  std::vector<rpc::ClusterEventKind> out;
  for (int kind : kinds) out.push_back(static_cast<rpc::ClusterEventKind>(kind));
  return out;
}

std::string EventText(const rpc::ClusterEvent& event) {
  std::ostringstream line;
  line << ClockText(event.time_ms()) << "  " << std::left << std::setw(7) << event.severity() << " " << std::setw(20)
       << EventKindName(event.kind()) << " " << event.message();
  if (event.duration_ms() > 0) line << "  [" << event.duration_ms() << " ms]";
  return line.str();
}

void Print(const rpc::ClusterEvent& event, bool json) {
  if (json) {
    std::cout << ClusterEventJson(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << EventText(event) << "\n";
  }
}

}  // namespace

int RunEvents(const EventsOptions& options, const SettingsInputs& inputs) {
  if (options.last < 0) return Fail(absl::StrCat("--last must not be negative, got ", options.last));
  auto kinds = ParseKinds(options.kinds);
  if (!kinds.ok()) return Fail(std::string(kinds.status().message()));
  auto client = ConnectToGcs(options.address, inputs);
  if (!client.ok()) return Fail(std::string(client.status().message()));

  rpc::ListEventsRequest request;
  for (auto kind : *kinds) request.add_kinds(kind);
  // The newest `last` events of the wanted kinds: page through what the log holds (it is bounded).
  std::deque<rpc::ClusterEvent> newest;
  int64_t after = 0;
  std::string incarnation;  // of the log last listed
  for (;;) {
    request.set_after_sequence(after);
    auto reply = (*client)->ListEvents(request);
    if (!reply.ok()) return Fail(std::string(reply.status().message()));
    incarnation = reply->incarnation();
    for (const auto& event : reply->events()) {
      newest.push_back(event);
      if (static_cast<int64_t>(newest.size()) > options.last) newest.pop_front();
    }
    const int64_t seen = reply->events().empty() ? reply->last_sequence() : reply->events().rbegin()->sequence();
    if (reply->events().empty() || seen >= reply->last_sequence()) {
      after = std::max(after, reply->last_sequence());
      break;
    }
    after = seen;
  }
  for (const auto& event : newest) Print(event, options.json);
  std::cout << std::flush;
  if (!options.follow) return 0;

  request.set_wait_ms(kFollowWaitMs);
  for (;;) {
    request.set_after_sequence(after);
    auto reply = (*client)->ListEvents(request);
    if (!reply.ok()) {
      std::cerr << "halo: lost the GCS (" << reply.status().message() << "); retrying" << std::endl;
      std::this_thread::sleep_for(std::chrono::milliseconds(kReconnectPauseMs));
      continue;
    }
    // A GCS that took over (or restarted) holds only what was persisted: numbers past what it loaded are its
    // own new events, whatever a follower saw under those numbers before. List them again from there.
    if (!incarnation.empty() && reply->incarnation() != incarnation && after > reply->loaded_sequence()) {
      incarnation = reply->incarnation();
      after = reply->loaded_sequence();
      continue;
    }
    incarnation = reply->incarnation();
    for (const auto& event : reply->events()) {
      Print(event, options.json);
      after = event.sequence();
    }
    if (reply->events().empty()) after = std::max(after, reply->last_sequence());
    std::cout << std::flush;
  }
}

}  // namespace halo::cli
