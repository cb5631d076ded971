// One async call to whichever head candidate a client asks first (rpc/head_endpoints.h), with the outcome
// reported back to the list so the client's next call (its own retry) goes where the policy points: the
// leader a standby named, or the next candidate. Shared by the async GCS clients.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "rpc/async_call.h"
#include "rpc/head_endpoints.h"

namespace halo::rpc_util {

template <typename Reply, typename Endpoint, typename Request, typename Issue>
void SendToHead(const std::shared_ptr<InFlight>& in_flight, HeadEndpoints<Endpoint>& endpoints, Request request,
                int64_t timeout_ms, Issue issue, std::function<void(StatusOr<Reply>)> done) {
  if (endpoints.empty()) {
    in_flight->executor->Post([done = std::move(done)] { done(InvalidArgumentError("no GCS address given")); });
    return;
  }
  auto [index, endpoint] = endpoints.At(endpoints.current());
  auto reported = [&endpoints, index = index, endpoint = endpoint, done = std::move(done)](StatusOr<Reply> reply) {
    endpoints.Report(index, endpoint, reply.status());
    done(std::move(reply));
  };
  SendTo<Reply>(in_flight, endpoint, std::move(request), timeout_ms, issue,
                std::function<void(StatusOr<Reply>)>(std::move(reported)));
}

}  // namespace halo::rpc_util
