// Plumbing for gRPC callback-API clients whose results are handled on an Executor: a call's context,
// request and reply in one heap object, the conversion of gRPC status, and InFlight, which cancels calls
// still running when their client goes away and stops their results from reaching a dead executor.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <memory>
#include <set>
#include <string>

#include "rpc/cluster_channel.h"
#include "common/executor.h"
#include "common/leader_redirect.h"
#include "common/status.h"

namespace halo::rpc_util {

// Marks a failed call that never reached its server: no connection to it could be made.
inline constexpr char kNotDeliveredPayload[] = "type.halo.dev/not-delivered";

// True when the call failed before any connection to its server existed, so the server cannot have seen it.
// gRPC reports this only in words ("failed to connect to all addresses", UNAVAILABLE); this is the one place
// that reads them (tests/unit/rpc_status_test.cc pins the wording against a real refused connection), and
// callers test the payload that FromGrpc attaches.
inline bool GrpcFailedToConnect(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         status.error_message().rfind("failed to connect", 0) == 0;
}

// An UNAVAILABLE status marked as never delivered (what FromGrpc makes of a refused connection; fakes use it).
inline Status NotDeliveredError(const std::string& message) {
  Status out(absl::StatusCode::kUnavailable, message);
  out.SetPayload(kNotDeliveredPayload, absl::Cord("1"));
  return out;
}

inline bool NotDelivered(const Status& status) {
  return status.code() == absl::StatusCode::kUnavailable && status.GetPayload(kNotDeliveredPayload).has_value();
}

// The call's status as a Status; a standby's redirect (its error details: the leader's address) becomes the
// payload common/leader_redirect.h reads, and a call that could not connect carries kNotDeliveredPayload.
inline Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return OkStatus();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE && !status.error_details().empty()) {
    return LeaderRedirect(status.error_message(), status.error_details());
  }
  if (GrpcFailedToConnect(status)) return NotDeliveredError(status.error_message());
  return Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

template <typename Request, typename Reply>
struct Call {
  grpc::ClientContext context;
  Request request;
  Reply reply;
};

inline void SetDeadline(grpc::ClientContext& context, int64_t timeout_ms) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
}

// Recursive: a result is delivered holding the mutex (so CancelAll can promise that none arrives after it
// returns), and a client may start its next call from inside that delivery.
struct InFlight {
  std::recursive_mutex mutex;
  Executor* executor = nullptr;
  std::set<grpc::ClientContext*> contexts;

  void Begin(grpc::ClientContext* context) {
    std::lock_guard<std::recursive_mutex> lock(mutex);
    contexts.insert(context);
  }
  // Ends the call; posts fn to the executor unless the client is gone.
  void End(grpc::ClientContext* context, std::function<void()> fn) {
    std::lock_guard<std::recursive_mutex> lock(mutex);
    contexts.erase(context);
    if (executor != nullptr) executor->Post(std::move(fn));
  }
  // Cancels every call still running; unlike CancelAll, their results (CANCELLED) still reach the executor.
  void Interrupt() {
    std::lock_guard<std::recursive_mutex> lock(mutex);
    for (auto* context : contexts) context->TryCancel();
  }
  bool idle() {
    std::lock_guard<std::recursive_mutex> lock(mutex);
    return contexts.empty();
  }
  // Called by the client's destructor.
  void CancelAll() {
    std::lock_guard<std::recursive_mutex> lock(mutex);
    executor = nullptr;
    for (auto* context : contexts) context->TryCancel();
  }
};

// Starts call->(stub method) and delivers StatusOr<Reply> to done on the executor; frees the call.
template <typename Request, typename Reply, typename Start>
void StartCall(const std::shared_ptr<InFlight>& in_flight, Call<Request, Reply>* call, Start start,
               std::function<void(StatusOr<Reply>)> done) {
  in_flight->Begin(&call->context);
  start(&call->context, &call->request, &call->reply,
        [in_flight, call, done = std::move(done)](grpc::Status status) mutable {
          StatusOr<Reply> result = status.ok() ? StatusOr<Reply>(std::move(call->reply))
                                               : StatusOr<Reply>(FromGrpc(status));
          in_flight->End(&call->context, [done = std::move(done), result = std::move(result)]() mutable {
            done(std::move(result));
          });
          delete call;
        });
}

// Starts one call on a peer's stubs: issue(peer, context, request, reply, callback) picks the stub and method;
// done gets the result on the InFlight's executor. timeout_ms 0: no deadline. The call holds the peer.
template <typename Reply, typename Request, typename Peer, typename Issue>
void SendTo(const std::shared_ptr<InFlight>& in_flight, std::shared_ptr<Peer> peer, Request request,
            int64_t timeout_ms, Issue issue, std::function<void(StatusOr<Reply>)> done) {
  auto* call = new Call<Request, Reply>;
  call->request = std::move(request);
  if (timeout_ms > 0) SetDeadline(call->context, timeout_ms);
  StartCall<Request, Reply>(
      in_flight, call,
      [peer = std::move(peer), issue](auto* context, auto* req, auto* reply, auto callback) {
        issue(*peer, context, req, reply, std::move(callback));
      },
      std::move(done));
}

// A channel to a peer process (node agent, worker, GCS) for calls that may be held long: quick reconnects,
// no message size limit, and keepalive so a peer that vanishes without a reset fails held calls within ~15 s.
inline std::shared_ptr<grpc::Channel> MakePeerChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  return rpc::NewClusterChannel(address, args);
}

}  // namespace halo::rpc_util
