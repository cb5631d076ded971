// gRPC front ends of the GCS managers. Each handler copies its request, posts the work to the GCS executor,
// and finishes the call from the manager's callback; managers never see gRPC types.
#pragma once

#include <functional>
#include <string>

#include "common/executor.h"
#include "gcs/cluster_manager.h"
#include "gcs/event_log.h"
#include "gcs/job_manager.h"
#include "gcs/kv_manager.h"
#include "gcs/runtime_counters_table.h"
#include "proto/gcs.grpc.pb.h"
#include "rpc/cluster_security.h"

namespace halo::gcs {

grpc::Status ToGrpcStatus(const Status& status);

// The shape of every GCS handler: refuse a call without the cluster token, else take the call's reactor, run
// fn(reactor) on the GCS executor, return the reactor. fn must Finish the reactor exactly once.
template <typename Fn>
grpc::ServerUnaryReactor* OnExecutor(grpc::CallbackServerContext* context, Executor& executor, Fn fn) {
  if (auto* refused = rpc::RefuseUnauthenticated(context)) return refused;
  auto* reactor = context->DefaultReactor();
  executor.Post([reactor, fn = std::move(fn)]() mutable { fn(reactor); });
  return reactor;
}

class ClusterInfoServiceImpl final : public rpc::ClusterInfoService::CallbackService {
 public:
  // info fills everything but uptime, which is computed per call.
  ClusterInfoServiceImpl(Executor& executor, Clock& clock, std::function<rpc::GetClusterInfoReply()> info)
      : executor_(executor), clock_(clock), info_(std::move(info)) {}
  grpc::ServerUnaryReactor* GetClusterInfo(grpc::CallbackServerContext* context,
                                           const rpc::GetClusterInfoRequest* request,
                                           rpc::GetClusterInfoReply* reply) override;

 private:
  Executor& executor_;
  Clock& clock_;
  std::function<rpc::GetClusterInfoReply()> info_;
};

class KvServiceImpl final : public rpc::KvService::CallbackService {
 public:
  KvServiceImpl(Executor& executor, KvManager& kv) : executor_(executor), kv_(kv) {}
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context, const rpc::KvPutRequest* request,
                                rpc::KvPutReply* reply) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context, const rpc::KvGetRequest* request,
                                rpc::KvGetReply* reply) override;
  grpc::ServerUnaryReactor* Del(grpc::CallbackServerContext* context, const rpc::KvDelRequest* request,
                                rpc::KvDelReply* reply) override;
  grpc::ServerUnaryReactor* Keys(grpc::CallbackServerContext* context, const rpc::KvKeysRequest* request,
                                 rpc::KvKeysReply* reply) override;
  grpc::ServerUnaryReactor* Exists(grpc::CallbackServerContext* context, const rpc::KvExistsRequest* request,
                                   rpc::KvExistsReply* reply) override;

 private:
  Executor& executor_;
  KvManager& kv_;
};

class JobServiceImpl final : public rpc::JobService::CallbackService {
 public:
  // counters may be null: reports are then acknowledged and dropped.
  JobServiceImpl(Executor& executor, Clock& clock, JobManager& jobs, RuntimeCountersTable* counters)
      : executor_(executor), clock_(clock), jobs_(jobs), counters_(counters) {}
  grpc::ServerUnaryReactor* AddJob(grpc::CallbackServerContext* context, const rpc::AddJobRequest* request,
                                   rpc::AddJobReply* reply) override;
  grpc::ServerUnaryReactor* MarkJobFinished(grpc::CallbackServerContext* context,
                                            const rpc::MarkJobFinishedRequest* request,
                                            rpc::MarkJobFinishedReply* reply) override;
  grpc::ServerUnaryReactor* GetAllJobs(grpc::CallbackServerContext* context, const rpc::GetAllJobsRequest* request,
                                       rpc::GetAllJobsReply* reply) override;
  grpc::ServerUnaryReactor* ReportRuntimeCounters(grpc::CallbackServerContext* context,
                                                  const rpc::ReportRuntimeCountersRequest* request,
                                                  rpc::ReportRuntimeCountersReply* reply) override;

 private:
  Executor& executor_;
  Clock& clock_;
  JobManager& jobs_;
  RuntimeCountersTable* counters_;
};

class EventLogServiceImpl final : public rpc::EventLogService::CallbackService {
 public:
  EventLogServiceImpl(Executor& executor, EventLog& events) : executor_(executor), events_(events) {}
  grpc::ServerUnaryReactor* ListEvents(grpc::CallbackServerContext* context, const rpc::ListEventsRequest* request,
                                       rpc::ListEventsReply* reply) override;
  // Only the kinds a process outside the GCS witnesses (objects rebuilt by a driver) may be recorded.
  grpc::ServerUnaryReactor* RecordEvent(grpc::CallbackServerContext* context, const rpc::RecordEventRequest* request,
                                        rpc::RecordEventReply* reply) override;

 private:
  Executor& executor_;
  EventLog& events_;
};

}  // namespace halo::gcs
