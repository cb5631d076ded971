// The head candidates a client knows, each with its channel and stubs (Endpoint has a member `address`), and
// which one to ask first. Built from "h1:port,h2:port"; a standby's redirect adds the leader it names if it
// was not listed (up to kHeadEndpointsMax). Report() is the one policy every GCS client follows after a call.
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/leader_redirect.h"

namespace halo {

inline constexpr size_t kHeadEndpointsMax = 16;

template <typename Endpoint>
class HeadEndpoints {
 public:
  using Factory = std::function<std::shared_ptr<Endpoint>(const std::string& address)>;

  // What a call's outcome means for the calls after it.
  enum class Outcome {
    kAnswered,     // that candidate is asked first from now on
    kRedirected,   // a standby named the leader: it is asked first now (worth trying at once)
    kUnreachable,  // moved on to the next candidate (worth trying at once: nothing was applied)
    kTimedOut,     // moved on; the call may have been applied, so it is not sent elsewhere
  };

  HeadEndpoints(const std::string& addresses, Factory make) : make_(std::move(make)) {
    for (absl::string_view one : absl::StrSplit(addresses, ',', absl::SkipWhitespace())) {
      endpoints_.push_back(make_(std::string(absl::StripAsciiWhitespace(one))));
    }
  }

  bool empty() const { return size() == 0; }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return endpoints_.size();
  }
  // The index to ask first.
  size_t current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  // index is taken modulo the size. Requires !empty().
  std::pair<size_t, std::shared_ptr<Endpoint>> At(size_t index) const {
    std::lock_guard<std::mutex> lock(mutex_);
    index %= endpoints_.size();
    return {index, endpoints_[index]};
  }
  // That candidate answered: ask it first from now on.
  void Answered(size_t index) {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = index;
  }
  // That candidate did not answer in time: the next calls start at the next one.
  void MoveOn(size_t index) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (current_ == index) current_ = (index + 1) % endpoints_.size();
  }
  // That candidate could not be reached: move on, and replace its channel, which would otherwise wait out
  // gRPC's reconnect backoff (seconds) and find a GCS that just restarted, or a standby that just became
  // leader (it replaces its standby server), late. Callers pace their own retries.
  void Failed(size_t index, const std::shared_ptr<Endpoint>& endpoint) {
    std::shared_ptr<Endpoint> fresh = make_(endpoint->address);
    std::lock_guard<std::mutex> lock(mutex_);
    if (current_ == index) current_ = (index + 1) % endpoints_.size();
    if (endpoints_[index] == endpoint) endpoints_[index] = std::move(fresh);
  }
  // Applies the policy to one call's result at index (endpoint: what At(index) gave for it).
  Outcome Report(size_t index, const std::shared_ptr<Endpoint>& endpoint, const Status& status) {
    const absl::StatusCode code = status.code();
    if (code == absl::StatusCode::kDeadlineExceeded) {
      MoveOn(index);
      return Outcome::kTimedOut;
    }
    if (code != absl::StatusCode::kUnavailable) {
      Answered(index);
      return Outcome::kAnswered;
    }
    if (auto leader = RedirectTarget(status); leader && *leader != endpoint->address) {
      Redirect(*leader);
      return Outcome::kRedirected;
    }
    Failed(index, endpoint);
    return Outcome::kUnreachable;
  }
  // A standby named the leader: ask it first (added if new and there is room). Yields its index.
  size_t Redirect(const std::string& address) {
    std::shared_ptr<Endpoint> fresh;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (size_t i = 0; i < endpoints_.size(); ++i) {
        if (endpoints_[i]->address == address) return current_ = i;
      }
      if (endpoints_.size() >= kHeadEndpointsMax) return current_;
    }
    fresh = make_(address);
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < endpoints_.size(); ++i) {
      if (endpoints_[i]->address == address) return current_ = i;
    }
    endpoints_.push_back(std::move(fresh));
    return current_ = endpoints_.size() - 1;
  }

 private:
  Factory make_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Endpoint>> endpoints_;
  size_t current_ = 0;
};

}  // namespace halo
