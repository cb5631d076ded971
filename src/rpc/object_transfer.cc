#include "rpc/object_transfer.h"

#include <grpcpp/grpcpp.h>

#include <mutex>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "rpc/async_call.h"
#include "rpc/cluster_channel.h"

namespace halo {

using rpc_util::FromGrpc;
using rpc_util::SetDeadline;

bool WriteChunks(const std::string& id, const std::string& data, int64_t chunk_bytes,
                 const std::function<void(rpc::ObjectChunk&)>& head,
                 const std::function<bool(const rpc::ObjectChunk&)>& write) {
  size_t offset = 0;
  bool first = true;
  while (first || offset < data.size()) {
    rpc::ObjectChunk chunk;
    if (first) {
      chunk.set_object_id(id);
      chunk.set_total_bytes(data.size());
      if (head) head(chunk);
    }
    const size_t n = std::min<size_t>(static_cast<size_t>(chunk_bytes), data.size() - offset);
    chunk.set_data(data.substr(offset, n));
    offset += n;
    first = false;
    if (!write(chunk)) return false;
  }
  return true;
}

rpc::ObjectStoreService::Stub& ObjectStoreStub(const std::string& address) {
  static std::mutex mutex;
  static auto* stubs = new std::unordered_map<std::string, std::unique_ptr<rpc::ObjectStoreService::Stub>>;
  std::lock_guard<std::mutex> lock(mutex);
  auto& stub = (*stubs)[address];
  if (!stub) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    stub = rpc::ObjectStoreService::NewStub(
        rpc::NewClusterChannel(address, args));
  }
  return *stub;
}

StatusOr<std::string> StoreObject(rpc::ObjectStoreService::Stub& store, const std::string& id,
                                  const std::string& data, const ObjectJob& job, int64_t chunk_bytes,
                                  int64_t timeout_ms) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_ms);
  rpc::PutObjectReply reply;
  auto writer = store.PutObject(&context, &reply);
  WriteChunks(
      id, data, chunk_bytes,
      [&](rpc::ObjectChunk& chunk) {
        chunk.set_job_id(job.job_id);
        chunk.set_driver_address(job.driver_address);
      },
      [&](const rpc::ObjectChunk& chunk) { return writer->Write(chunk); });
  writer->WritesDone();
  Status status = FromGrpc(writer->Finish());
  if (!status.ok()) return status;
  return reply.node_id();
}

StatusOr<std::string> FetchObject(rpc::ObjectStoreService::Stub& store, const std::string& id,
                                  const std::vector<rpc::ObjectSource>& sources, int64_t timeout_ms) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_ms);
  rpc::GetObjectChunksRequest request;
  request.set_object_id(id);
  for (const auto& source : sources) *request.add_sources() = source;
  auto reader = store.GetObjectChunks(&context, request);
  rpc::ObjectChunk chunk;
  std::string data;
  bool first = true;
  while (reader->Read(&chunk)) {
    if (first) data.reserve(chunk.total_bytes());
    first = false;
    data += chunk.data();
  }
  Status status = FromGrpc(reader->Finish());
  if (!status.ok()) return status;
  return data;
}

}  // namespace halo
