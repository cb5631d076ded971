#include "core/gcs_actor_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/backoff.h"

namespace halo::core {

struct GcsActorClient::Call {
  Send send;
  std::function<void(Status)> done;
  int64_t deadline_ms = 0;
  ExponentialBackoff backoff;
  size_t tries_this_round = 0;  // attempts since the last pause: each candidate once, plus a few redirects
  Status last;
};

GcsActorClient::GcsActorClient(Executor& executor, Clock& clock, CoreRpcClients& clients,
                               GcsActorClientSettings settings)
    : executor_(executor),
      clock_(clock),
      clients_(clients),
      settings_(std::move(settings)),
      endpoints_(settings_.gcs_address,
                 [](const std::string& address) { return std::make_shared<Endpoint>(Endpoint{address}); }) {
  if (endpoints_.empty()) endpoints_.Redirect(settings_.gcs_address);  // as given: its calls then fail and say why
}

void GcsActorClient::Start(Send send, std::function<void(Status)> done) {
  auto call = std::make_shared<Call>(Call{std::move(send), std::move(done), clock_.MonotonicMs() +
                                          settings_.wait_timeout_ms,
                                          ExponentialBackoff(settings_.retry_initial_ms, settings_.retry_max_ms),
                                          0, OkStatus()});
  Attempt(std::move(call));
}

void GcsActorClient::Attempt(std::shared_ptr<Call> call) {
  auto [index, endpoint] = endpoints_.At(endpoints_.current());
  call->tries_this_round += 1;
  const int64_t left_ms = std::max<int64_t>(1, call->deadline_ms - clock_.MonotonicMs());
  call->send(endpoint->address, std::min(settings_.rpc_timeout_ms, left_ms),
             [this, call, index = index, endpoint = endpoint](Status status) {
               OnReply(call, index, endpoint, std::move(status));
             });
}

void GcsActorClient::OnReply(std::shared_ptr<Call> call, size_t index, std::shared_ptr<Endpoint> endpoint,
                             Status status) {
  using Outcome = HeadEndpoints<Endpoint>::Outcome;
  const Outcome outcome = endpoints_.Report(index, endpoint, status);
  if (outcome == Outcome::kAnswered) {
    call->done(std::move(status));
    return;
  }
  call->last = std::move(status);
  const int64_t now = clock_.MonotonicMs();
  if (now >= call->deadline_ms) {
    call->done(DeadlineExceededError(absl::StrCat("the GCS at ", settings_.gcs_address, " did not answer within ",
                                                  settings_.wait_timeout_ms, " ms (gcs_wait_timeout_ms): ",
                                                  call->last.message())));
    return;
  }
  // A redirect or an unreachable candidate: the next candidate at once, each once per round. Then a pause.
  const size_t round_max = 2 * endpoints_.size() + 2;
  if (outcome != Outcome::kTimedOut && call->tries_this_round < round_max &&
      (outcome == Outcome::kRedirected || call->tries_this_round < endpoints_.size())) {
    Attempt(std::move(call));
    return;
  }
  call->tries_this_round = 0;
  const int64_t pause_ms = std::min(call->backoff.NextDelayMs(), call->deadline_ms - now);
  executor_.RunAfter(pause_ms, [this, call = std::move(call)]() mutable { Attempt(std::move(call)); });
}

void GcsActorClient::RegisterActor(const rpc::ActorInfo& actor, bool dependencies_ready,
                                   std::function<void(Status)> done) {
  rpc::RegisterActorRequest request;
  *request.mutable_actor() = actor;
  request.set_dependencies_ready(dependencies_ready);
  Start(
      [this, request](const std::string& address, int64_t timeout_ms, std::function<void(Status)> reply) {
        clients_.RegisterActor(address, request, timeout_ms,
                               [reply](StatusOr<rpc::RegisterActorReply> r) { reply(r.status()); });
      },
      std::move(done));
}

void GcsActorClient::ResolveActor(const std::string& actor_id, const rpc::TaskSpec& creation,
                                  std::function<void(Status)> done) {
  rpc::ResolveActorRequest request;
  request.set_actor_id(actor_id);
  *request.mutable_creation() = creation;
  Start(
      [this, request](const std::string& address, int64_t timeout_ms, std::function<void(Status)> reply) {
        clients_.ResolveActor(address, request, timeout_ms,
                              [reply](StatusOr<rpc::ResolveActorReply> r) { reply(r.status()); });
      },
      std::move(done));
}

void GcsActorClient::GetNamedActor(const std::string& name, const std::string& name_space,
                                   std::function<void(StatusOr<rpc::ActorInfo>)> done) {
  rpc::GetNamedActorRequest request;
  request.set_name(name);
  request.set_namespace_(name_space);
  auto found = std::make_shared<rpc::ActorInfo>();
  Start(
      [this, request, found](const std::string& address, int64_t timeout_ms, std::function<void(Status)> reply) {
        clients_.GetNamedActor(address, request, timeout_ms, [reply, found](StatusOr<rpc::GetNamedActorReply> r) {
          if (r.ok()) *found = r->actor();
          reply(r.status());
        });
      },
      [found, done = std::move(done)](Status status) {
        if (!status.ok()) return done(std::move(status));
        done(std::move(*found));
      });
}

void GcsActorClient::KillActor(const std::string& actor_id, bool no_restart, bool out_of_scope,
                               std::function<void(Status)> done) {
  rpc::KillActorRequest request;
  request.set_actor_id(actor_id);
  request.set_no_restart(no_restart);
  request.set_out_of_scope(out_of_scope);
  Start(
      [this, request](const std::string& address, int64_t timeout_ms, std::function<void(Status)> reply) {
        clients_.KillActor(address, request, timeout_ms,
                           [reply](StatusOr<rpc::KillActorReply> r) { reply(r.status()); });
      },
      std::move(done));
}

void GcsActorClient::ReportActorExit(const std::string& actor_id, int32_t instance, const std::string& message,
                                     std::function<void(Status)> done) {
  rpc::ReportActorExitRequest request;
  request.set_actor_id(actor_id);
  request.set_instance(instance);
  request.set_message(message);
  Start(
      [this, request](const std::string& address, int64_t timeout_ms, std::function<void(Status)> reply) {
        clients_.ReportActorExit(address, request, timeout_ms,
                                 [reply](StatusOr<rpc::ReportActorExitReply> r) { reply(r.status()); });
      },
      std::move(done));
}

void GcsActorClient::ReportRuntimeCounters(const rpc::ReportRuntimeCountersRequest& request,
                                           std::function<void(Status)> done) {
  Start(
      [this, request](const std::string& address, int64_t timeout_ms, std::function<void(Status)> reply) {
        clients_.ReportRuntimeCounters(address, request, timeout_ms,
                                       [reply](StatusOr<rpc::ReportRuntimeCountersReply> r) { reply(r.status()); });
      },
      std::move(done));
}

void GcsActorClient::RecordEvent(const rpc::ClusterEvent& event, std::function<void(Status)> done) {
  rpc::RecordEventRequest request;
  *request.mutable_event() = event;
  Start(
      [this, request](const std::string& address, int64_t timeout_ms, std::function<void(Status)> reply) {
        clients_.RecordEvent(address, request, timeout_ms,
                             [reply](StatusOr<rpc::RecordEventReply> r) { reply(r.status()); });
      },
      std::move(done));
}

}  // namespace halo::core
