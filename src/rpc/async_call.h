// Plumbing for gRPC callback-API clients whose results are handled on an Executor: a call's context,
// request and reply in one heap object, the conversion of gRPC status, and InFlight, which cancels calls
// still running when their client goes away and stops their results from reaching a dead executor.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <set>

#include "common/executor.h"
#include "common/status.h"

namespace halo::rpc_util {

inline Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return OkStatus();
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

struct InFlight {
  std::mutex mutex;
  Executor* executor = nullptr;
  std::set<grpc::ClientContext*> contexts;

  void Begin(grpc::ClientContext* context) {
    std::lock_guard<std::mutex> lock(mutex);
    contexts.insert(context);
  }
  // Ends the call; posts fn to the executor unless the client is gone.
  void End(grpc::ClientContext* context, std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mutex);
    contexts.erase(context);
    if (executor != nullptr) executor->Post(std::move(fn));
  }
  // Called by the client's destructor.
  void CancelAll() {
    std::lock_guard<std::mutex> lock(mutex);
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

}  // namespace halo::rpc_util
