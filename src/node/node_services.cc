#include "node/node_services.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "rpc/cluster_security.h"

namespace halo::node {

grpc::ServerUnaryReactor* NodeAgentServiceImpl::GetNodeStatus(grpc::CallbackServerContext* context,
                                                              const rpc::GetNodeStatusRequest*,
                                                              rpc::GetNodeStatusReply* reply) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = context->DefaultReactor();
  executor_.Post([this, reactor, reply] {
    *reply->mutable_node() = agent_.self();
    reply->mutable_node()->set_state(agent_.last_known_state());
    reply->set_cluster_id(agent_.cluster_id());
    reply->set_gcs_connected(agent_.gcs_connected());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

namespace {

// A held lease request; if its caller goes away first, the request is withdrawn.
class LeaseReactor final : public grpc::ServerUnaryReactor {
 public:
  LeaseReactor(grpc::CallbackServerContext* context, Executor& executor, LeaseManager& leases)
      : context_(context), executor_(executor), leases_(leases) {}
  // Executor thread only.
  void Start(const rpc::RequestWorkerLeaseRequest& request, rpc::RequestWorkerLeaseReply* reply) {
    request_id_ = leases_.RequestLease(request, [this, reply](const rpc::RequestWorkerLeaseReply& answer) {
      answered_ = true;
      if (answer.granted() && context_->IsCancelled()) {
        // The requester left before the grant could reach it: nobody will ever return this lease.
        leases_.ReturnWorker(answer.lease_id(), /*worker_failed=*/false);
        Finish(grpc::Status(grpc::StatusCode::CANCELLED, "lease request withdrawn"));
        return;
      }
      *reply = answer;
      Finish(grpc::Status::OK);
    });
  }
  void OnCancel() override {
    executor_.Post([this] {
      if (!answered_ && leases_.CancelRequest(request_id_)) {
        answered_ = true;
        Finish(grpc::Status(grpc::StatusCode::CANCELLED, "lease request withdrawn"));
      }
    });
  }
  void OnDone() override {
    // OnDone can run on a gRPC thread; free on the executor, after any OnCancel work posted before it.
    executor_.Post([this] { delete this; });
  }

 private:
  grpc::CallbackServerContext* context_;
  Executor& executor_;
  LeaseManager& leases_;
  uint64_t request_id_ = 0;
  bool answered_ = false;
};

}  // namespace

grpc::ServerUnaryReactor* NodeAgentServiceImpl::RequestWorkerLease(grpc::CallbackServerContext* context,
                                                                   const rpc::RequestWorkerLeaseRequest* request,
                                                                   rpc::RequestWorkerLeaseReply* reply) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = new LeaseReactor(context, executor_, leases_);
  executor_.Post([reactor, request, reply] { reactor->Start(*request, reply); });
  return reactor;
}

grpc::ServerUnaryReactor* NodeAgentServiceImpl::ReturnWorker(grpc::CallbackServerContext* context,
                                                             const rpc::ReturnWorkerRequest* request,
                                                             rpc::ReturnWorkerReply*) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = context->DefaultReactor();
  executor_.Post([this, reactor, request] {
    leases_.ReturnWorker(request->lease_id(), request->worker_failed());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* NodeAgentServiceImpl::RegisterWorker(grpc::CallbackServerContext* context,
                                                               const rpc::RegisterWorkerRequest* request,
                                                               rpc::RegisterWorkerReply* reply) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = context->DefaultReactor();
  executor_.Post([this, reactor, request, reply] {
    if (!leases_.RegisterWorker(request->worker_id(), request->address(), request->pid())) {
      reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                   "worker " + request->worker_id() + " was not started by this node agent"));
      return;
    }
    reply->set_node_id(agent_.self().node_id());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* NodeAgentServiceImpl::Vouch(grpc::CallbackServerContext* context,
                                                      const rpc::VouchRequest* request, rpc::VouchReply* reply) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = context->DefaultReactor();
  executor_.Post([this, reactor, request, reply] {
    if (!vouch_) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "this node agent is not ready to vouch"));
      return;
    }
    *reply = vouch_(*request);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* NodeAgentServiceImpl::GetWorkerExit(grpc::CallbackServerContext* context,
                                                              const rpc::GetWorkerExitRequest* request,
                                                              rpc::GetWorkerExitReply* reply) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = context->DefaultReactor();
  constexpr int64_t kExitWaitMs = 1000;
  executor_.Post([this, reactor, request, reply] {
    leases_.AwaitWorkerExit(request->worker_id(), kExitWaitMs,
                            [reactor, request, reply](std::optional<std::string> exit) {
                              if (!exit) {
                                reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                                             "unknown worker " + request->worker_id()));
                                return;
                              }
                              reply->set_exited(!exit->empty());
                              reply->set_description(*exit);
                              reactor->Finish(grpc::Status::OK);
                            });
  });
  return reactor;
}

grpc::ServerUnaryReactor* NodeAgentServiceImpl::NotifyWorkerBlocked(grpc::CallbackServerContext* context,
                                                                    const rpc::NotifyWorkerBlockedRequest* request,
                                                                    rpc::NotifyWorkerBlockedReply*) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = context->DefaultReactor();
  executor_.Post([this, reactor, request] {
    leases_.SetWorkerBlocked(request->worker_id(), request->blocked());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

namespace {

template <typename Value, typename Parse>
StatusOr<std::map<std::string, Value>> ParsePairs(const std::string& text, const char* setting, Parse parse) {
  std::map<std::string, Value> out;
  if (text.empty()) return out;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    std::vector<std::string> parts = absl::StrSplit(item, absl::MaxSplits('=', 1));
    Value value{};
    if (parts.size() != 2 || parts[0].empty() || !parse(parts[1], &value)) {
      return InvalidArgumentError(absl::StrCat("setting '", setting, "': '", std::string(item),
                                               "' is not NAME=", std::is_same_v<Value, double> ? "AMOUNT" : "VALUE",
                                               " (expected a comma-separated list like ",
                                               std::is_same_v<Value, double> ? "CPU=4,memory=8e9" : "zone=a,tier=gpu",
                                               ")"));
    }
    out[parts[0]] = value;
  }
  return out;
}

}  // namespace

StatusOr<std::map<std::string, double>> ParseResources(const std::string& text) {
  return ParsePairs<double>(text, "resources", [](const std::string& s, double* v) {
    return absl::SimpleAtod(s, v) && std::isfinite(*v) && *v >= 0;
  });
}

StatusOr<std::map<std::string, std::string>> ParseLabels(const std::string& text) {
  return ParsePairs<std::string>(text, "labels", [](const std::string& s, std::string* v) {
    *v = s;
    return true;
  });
}

}  // namespace halo::node
