#include "gcs/grpc_services.h"

#include "absl/strings/str_cat.h"

namespace halo::gcs {

grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::ServerUnaryReactor* ClusterInfoServiceImpl::GetClusterInfo(grpc::CallbackServerContext* context,
                                                                 const rpc::GetClusterInfoRequest*,
                                                                 rpc::GetClusterInfoReply* reply) {
  return OnExecutor(context, executor_, [this, reply](grpc::ServerUnaryReactor* reactor) {
    *reply = info_();
    reply->set_uptime_ms(clock_.WallMs() - reply->start_time_ms());
    reactor->Finish(grpc::Status::OK);
  });
}

grpc::ServerUnaryReactor* KvServiceImpl::Put(grpc::CallbackServerContext* context, const rpc::KvPutRequest* request,
                                             rpc::KvPutReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    kv_.HandlePut(request->namespace_(), request->key(), request->value(), request->overwrite(),
                  [reactor, reply](StatusOr<bool> added) {
                    if (added.ok()) reply->set_added(*added);
                    reactor->Finish(ToGrpcStatus(added.status()));
                  });
  });
}

grpc::ServerUnaryReactor* KvServiceImpl::Get(grpc::CallbackServerContext* context, const rpc::KvGetRequest* request,
                                             rpc::KvGetReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    kv_.HandleGet(request->namespace_(), request->key(),
                  [reactor, reply](StatusOr<std::optional<std::string>> value) {
                    if (value.ok() && value->has_value()) {
                      reply->set_found(true);
                      reply->set_value(std::move(**value));
                    }
                    reactor->Finish(ToGrpcStatus(value.status()));
                  });
  });
}

grpc::ServerUnaryReactor* KvServiceImpl::Del(grpc::CallbackServerContext* context, const rpc::KvDelRequest* request,
                                             rpc::KvDelReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    kv_.HandleDel(request->namespace_(), request->key(), request->by_prefix(),
                  [reactor, reply](StatusOr<int64_t> deleted) {
                    if (deleted.ok()) reply->set_deleted(*deleted);
                    reactor->Finish(ToGrpcStatus(deleted.status()));
                  });
  });
}

grpc::ServerUnaryReactor* KvServiceImpl::Keys(grpc::CallbackServerContext* context, const rpc::KvKeysRequest* request,
                                              rpc::KvKeysReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    kv_.HandleKeys(request->namespace_(), request->prefix(),
                   [reactor, reply](StatusOr<std::vector<std::string>> keys) {
                     if (keys.ok()) {
                       for (auto& k : *keys) reply->add_keys(std::move(k));
                     }
                     reactor->Finish(ToGrpcStatus(keys.status()));
                   });
  });
}

grpc::ServerUnaryReactor* KvServiceImpl::Exists(grpc::CallbackServerContext* context,
                                                const rpc::KvExistsRequest* request, rpc::KvExistsReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    kv_.HandleExists(request->namespace_(), request->key(), [reactor, reply](StatusOr<bool> exists) {
      if (exists.ok()) reply->set_exists(*exists);
      reactor->Finish(ToGrpcStatus(exists.status()));
    });
  });
}

grpc::ServerUnaryReactor* JobServiceImpl::AddJob(grpc::CallbackServerContext* context,
                                                 const rpc::AddJobRequest* request, rpc::AddJobReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    jobs_.HandleAddJob(request->entrypoint(), request->driver_pid(), request->driver_address(),
                       [reactor, reply](StatusOr<rpc::JobInfo> job) {
                         if (job.ok()) *reply->mutable_job() = std::move(*job);
                         reactor->Finish(ToGrpcStatus(job.status()));
                       });
  });
}

grpc::ServerUnaryReactor* JobServiceImpl::MarkJobFinished(grpc::CallbackServerContext* context,
                                                          const rpc::MarkJobFinishedRequest* request,
                                                          rpc::MarkJobFinishedReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    jobs_.HandleMarkJobFinished(request->job_id(), "the driver called Shutdown", [reactor](Status status) { reactor->Finish(ToGrpcStatus(status)); });
  });
}

grpc::ServerUnaryReactor* JobServiceImpl::GetAllJobs(grpc::CallbackServerContext* context,
                                                     const rpc::GetAllJobsRequest*, rpc::GetAllJobsReply* reply) {
  return OnExecutor(context, executor_, [this, reply](grpc::ServerUnaryReactor* reactor) {
    jobs_.HandleGetAllJobs([reactor, reply](std::vector<rpc::JobInfo> jobs) {
      for (auto& job : jobs) *reply->add_jobs() = std::move(job);
      reactor->Finish(grpc::Status::OK);
    });
  });
}

grpc::ServerUnaryReactor* JobServiceImpl::ReportRuntimeCounters(grpc::CallbackServerContext* context,
                                                                const rpc::ReportRuntimeCountersRequest* request,
                                                                rpc::ReportRuntimeCountersReply*) {
  return OnExecutor(context, executor_, [this, request](grpc::ServerUnaryReactor* reactor) {
    if (request->reporter().empty()) {
      return reactor->Finish(ToGrpcStatus(InvalidArgumentError("a runtime counters report names its reporter")));
    }
    const rpc::RuntimeCounters& c = request->counters();
    if (c.tasks_submitted() < 0 || c.task_failures() < 0 || c.tasks_retried() < 0 || c.objects_rebuilt() < 0 ||
        c.objects_lost() < 0 || c.rebuilds_completed() < 0 || c.rebuild_ms_total() < 0) {
      return reactor->Finish(ToGrpcStatus(InvalidArgumentError("runtime counters are never negative")));
    }
    if (counters_ != nullptr) counters_->Report(request->reporter(), request->counters(), clock_.MonotonicMs());
    reactor->Finish(grpc::Status::OK);
  });
}

grpc::ServerUnaryReactor* EventLogServiceImpl::ListEvents(grpc::CallbackServerContext* context,
                                                          const rpc::ListEventsRequest* request,
                                                          rpc::ListEventsReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    events_.HandleList(*request, [reactor, reply](StatusOr<rpc::ListEventsReply> listed) {
      if (listed.ok()) *reply = std::move(*listed);
      reactor->Finish(ToGrpcStatus(listed.status()));
    });
  });
}

grpc::ServerUnaryReactor* EventLogServiceImpl::RecordEvent(grpc::CallbackServerContext* context,
                                                           const rpc::RecordEventRequest* request,
                                                           rpc::RecordEventReply* reply) {
  return OnExecutor(context, executor_, [this, request, reply](grpc::ServerUnaryReactor* reactor) {
    if (request->event().kind() != rpc::EVENT_OBJECTS_REBUILT) {
      return reactor->Finish(ToGrpcStatus(InvalidArgumentError(
          absl::StrCat("only objects_rebuilt events are recorded from outside the GCS, not ",
                       EventKindName(request->event().kind())))));
    }
    rpc::ClusterEvent event = request->event();
    event.set_severity(EventSeverity(event.kind()));
    event.set_epoch(0);
    reply->set_sequence(events_.Record(std::move(event)));
    reactor->Finish(grpc::Status::OK);
  });
}

}  // namespace halo::gcs
