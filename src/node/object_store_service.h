// The gRPC face of a node's ObjectStore (synchronous handlers: each transfer holds one server thread).
// A read of an object this node lacks pulls it from another node given as a source and serves it (the copy
// is not kept: only copies their owner knows of are ever freed).
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>

#include "node/object_store.h"
#include "proto/node.grpc.pb.h"

namespace halo::node {

class ObjectStoreServiceImpl final : public rpc::ObjectStoreService::Service {
 public:
  ObjectStoreServiceImpl(ObjectStore& store, std::string node_id, int64_t chunk_bytes, int64_t timeout_ms)
      : store_(store), node_id_(std::move(node_id)), chunk_bytes_(chunk_bytes), timeout_ms_(timeout_ms) {}
  // Hears (on a gRPC thread) of the job and driver of each stored object, so the node can watch that driver.
  void SetJobListener(std::function<void(uint32_t job_id, const std::string& driver_address)> listener) {
    on_job_ = std::move(listener);
  }

  grpc::Status PutObject(grpc::ServerContext* context, grpc::ServerReader<rpc::ObjectChunk>* reader,
                         rpc::PutObjectReply* reply) override;
  grpc::Status GetObjectChunks(grpc::ServerContext* context, const rpc::GetObjectChunksRequest* request,
                               grpc::ServerWriter<rpc::ObjectChunk>* writer) override;
  grpc::Status FreeObjects(grpc::ServerContext* context, const rpc::FreeObjectsRequest* request,
                           rpc::FreeObjectsReply* reply) override;
  grpc::Status GetStoreStats(grpc::ServerContext* context, const rpc::GetStoreStatsRequest* request,
                             rpc::GetStoreStatsReply* reply) override;

 private:
  ObjectStore& store_;
  std::string node_id_;
  int64_t chunk_bytes_;
  int64_t timeout_ms_;
  std::function<void(uint32_t, const std::string&)> on_job_;
};

}  // namespace halo::node
