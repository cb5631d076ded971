// Moving objects to and from a node's object store in chunks (blocking calls; any thread).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "proto/node.grpc.pb.h"

namespace halo {

// Cuts data into chunks of at most chunk_bytes (one empty chunk for empty data) and passes each to write,
// the first one carrying the object's id and size (head may add more to it). Stops when write returns false;
// returns whether every chunk was written.
bool WriteChunks(const std::string& id, const std::string& data, int64_t chunk_bytes,
                 const std::function<void(rpc::ObjectChunk&)>& head,
                 const std::function<bool(const rpc::ObjectChunk&)>& write);

// Makes (and caches) a stub for the object store at address; thread-safe.
rpc::ObjectStoreService::Stub& ObjectStoreStub(const std::string& address);

// Writes data as object id into the store; returns the store's node id.
// The job whose end frees it, and where that job's driver serves (the node watches it).
struct ObjectJob {
  uint32_t job_id = 0;
  std::string driver_address;
};
StatusOr<std::string> StoreObject(rpc::ObjectStoreService::Stub& store, const std::string& id,
                                  const std::string& data, const ObjectJob& job, int64_t chunk_bytes,
                                  int64_t timeout_ms);
// Reads object id; a store that lacks it first pulls it from one of sources.
StatusOr<std::string> FetchObject(rpc::ObjectStoreService::Stub& store, const std::string& id,
                                  const std::vector<rpc::ObjectSource>& sources, int64_t timeout_ms);

}  // namespace halo
