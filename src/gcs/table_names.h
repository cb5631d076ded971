// The tables the GCS persists, and the keys of its META table.
#pragma once

#include <string>
#include <vector>

namespace halo::gcs {

inline constexpr char kMetaTable[] = "META";
inline constexpr char kKvTable[] = "KV";
inline constexpr char kJobTable[] = "JOBS";
inline constexpr char kNodeTable[] = "NODES";
inline constexpr char kActorTable[] = "ACTORS";
inline constexpr char kServiceTable[] = "SERVICES";
inline constexpr char kEventTable[] = "EVENTS";
// Not loaded before serving (it holds whole programs): read chunk by chunk when asked.
inline constexpr char kExecutableTable[] = "EXECUTABLES";

// Every table the GCS loads before serving.
const std::vector<std::string>& AllTables();

inline constexpr char kMetaFormatVersion[] = "storage_format_version";
inline constexpr char kMetaClusterId[] = "cluster_id";
inline constexpr char kMetaCreatedMs[] = "created_ms";
inline constexpr char kMetaJobCounter[] = "job_counter";

// Bumped whenever a stored row changes shape incompatibly.
inline constexpr int kStorageFormatVersion = 1;

}  // namespace halo::gcs
