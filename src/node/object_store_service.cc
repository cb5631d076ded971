#include "node/object_store_service.h"

#include "absl/strings/str_cat.h"
#include "rpc/object_transfer.h"
#include "rpc/cluster_security.h"

namespace halo::node {

grpc::Status ObjectStoreServiceImpl::PutObject(grpc::ServerContext* context, grpc::ServerReader<rpc::ObjectChunk>* reader,
                                               rpc::PutObjectReply* reply) {
  if (grpc::Status authenticated = rpc::CheckCallToken(*context); !authenticated.ok()) return authenticated;
  rpc::ObjectChunk chunk;
  if (!reader->Read(&chunk) || chunk.object_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first chunk must name the object");
  }
  const std::string id = chunk.object_id();
  const uint64_t total = chunk.total_bytes();
  const uint32_t job_id = chunk.job_id();
  if (on_job_ && !chunk.driver_address().empty()) on_job_(job_id, chunk.driver_address());
  auto data = std::make_shared<std::string>();
  data->reserve(total);
  *data += chunk.data();
  while (reader->Read(&chunk)) *data += chunk.data();
  if (data->size() != total) {
    return grpc::Status(grpc::StatusCode::DATA_LOSS,
                        absl::StrCat("object arrived with ", data->size(), " bytes, not ", total));
  }
  Status stored = store_.Put(id, std::move(data), job_id);
  if (!stored.ok()) return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, std::string(stored.message()));
  reply->set_node_id(node_id_);
  return grpc::Status::OK;
}

grpc::Status ObjectStoreServiceImpl::GetObjectChunks(grpc::ServerContext* context, const rpc::GetObjectChunksRequest* request,
                                                     grpc::ServerWriter<rpc::ObjectChunk>* writer) {
  if (grpc::Status authenticated = rpc::CheckCallToken(*context); !authenticated.ok()) return authenticated;
  auto data = store_.Get(request->object_id());
  std::string pull_errors;
  for (int i = 0; !data.ok() && i < request->sources_size(); ++i) {
    const auto& source = request->sources(i);
    if (source.node_id() == node_id_) continue;
    auto pulled = FetchObject(ObjectStoreStub(source.node_address()), request->object_id(), {}, timeout_ms_);
    if (!pulled.ok()) {
      absl::StrAppend(&pull_errors, "; node ", source.node_id(), ": ", pulled.status().message());
      continue;
    }
    // Served, not kept: the owner frees only the copies it knows of, so a kept copy could never be freed.
    store_.CountPull();
    data = std::make_shared<const std::string>(std::move(*pulled));
  }
  if (!data.ok()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("node ", node_id_, " has no copy of the object", pull_errors));
  }
  const bool sent = WriteChunks(request->object_id(), **data, chunk_bytes_, nullptr,
                                [&](const rpc::ObjectChunk& chunk) { return writer->Write(chunk); });
  if (!sent) return grpc::Status(grpc::StatusCode::CANCELLED, "the reader went away");
  return grpc::Status::OK;
}

grpc::Status ObjectStoreServiceImpl::FreeObjects(grpc::ServerContext* context, const rpc::FreeObjectsRequest* request,
                                                 rpc::FreeObjectsReply*) {
  if (grpc::Status authenticated = rpc::CheckCallToken(*context); !authenticated.ok()) return authenticated;
  for (const auto& id : request->object_ids()) store_.Free(id);
  return grpc::Status::OK;
}

grpc::Status ObjectStoreServiceImpl::GetStoreStats(grpc::ServerContext* context, const rpc::GetStoreStatsRequest*,
                                                   rpc::GetStoreStatsReply* reply) {
  if (grpc::Status authenticated = rpc::CheckCallToken(*context); !authenticated.ok()) return authenticated;
  ObjectStoreStats stats = store_.stats();
  reply->set_objects(stats.objects);
  reply->set_memory_bytes(stats.memory_bytes);
  reply->set_spilled_objects(stats.spilled_objects);
  reply->set_spills(stats.spills);
  reply->set_restores(stats.restores);
  reply->set_pulls(stats.pulls);
  return grpc::Status::OK;
}

}  // namespace halo::node
