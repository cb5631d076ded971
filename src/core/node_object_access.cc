#include "core/core_worker.h"
#include "rpc/object_transfer.h"

namespace halo::core {

StatusOr<std::string> NodeObjectAccess::Fetch(const rpc::ObjectRefInfo& ref) {
  std::vector<rpc::ObjectSource> sources;
  for (const auto& location : ref.locations()) {
    rpc::ObjectSource source;
    source.set_node_id(location.node_id());
    source.set_node_address(location.node_address());
    sources.push_back(std::move(source));
  }
  return FetchObject(ObjectStoreStub(node_address_), ref.object_id(), sources, timeout_ms_);
}

StatusOr<rpc::ObjectLocation> NodeObjectAccess::Store(const std::string& id, const std::string& value) {
  auto node = StoreObject(ObjectStoreStub(node_address_), id, value, job_, chunk_bytes_, timeout_ms_);
  if (!node.ok()) return node.status();
  rpc::ObjectLocation location;
  location.set_node_id(*node);
  location.set_node_address(node_address_);
  location.set_size_bytes(value.size());
  return location;
}

}  // namespace halo::core
