#include "gcs/cluster_manager.h"

#include "absl/strings/str_cat.h"
#include "gcs/table_names.h"
#include "gcs/write_tracker.h"

namespace halo::gcs {

void ClusterManager::Initialize(const KeyValueMap& meta, std::function<void(Status)> done) {
  auto format = meta.find(kMetaFormatVersion);
  auto id = meta.find(kMetaClusterId);
  const std::string expected = std::to_string(kStorageFormatVersion);
  const bool format_matches = format != meta.end() && format->second == expected;
  // A format row without an id is a first start that crashed part-way: start it again.
  if ((format != meta.end() && !format_matches) || (id != meta.end() && !format_matches)) {
    return done(FailedPreconditionError(absl::StrCat(
        "storage was written by an incompatible Halo version (storage format ",
        format == meta.end() ? "unknown" : format->second, "; this build reads format ", expected,
        "); use another storage path or namespace, or clean it up")));
  }
  if (id != meta.end()) {
    cluster_id_ = id->second;
    auto created = meta.find(kMetaCreatedMs);
    created_ms_ = created == meta.end() ? 0 : std::atoll(created->second.c_str());
    return done(OkStatus());
  }
  cluster_id_ = random_.HexId(14);
  created_ms_ = clock_.WallMs();
  auto tracker = WriteTracker::Create(3, std::move(done));
  store_.AsyncPut(kMetaTable, kMetaFormatVersion, std::to_string(kStorageFormatVersion), true,
                  tracker->Callback<bool>(tracker));
  store_.AsyncPut(kMetaTable, kMetaCreatedMs, std::to_string(created_ms_), true, tracker->Callback<bool>(tracker));
  store_.AsyncPut(kMetaTable, kMetaClusterId, cluster_id_, true, tracker->Callback<bool>(tracker));
}

}  // namespace halo::gcs
