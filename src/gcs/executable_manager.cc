#include "gcs/executable_manager.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/sha256.h"
#include "gcs/table_names.h"

namespace halo::gcs {
namespace {

// A commit reads the chunks back one at a time and hashes them as they come, so a large program never sits in
// memory whole.
struct CommitReading {
  StoreClient* store = nullptr;
  std::string sha256;
  uint32_t chunks = 0;
  uint64_t total_bytes = 0;
  uint32_t next = 0;
  uint64_t seen = 0;
  Sha256Hasher hasher;
  std::function<void(Status)> done;
};

void ReadNextChunk(std::shared_ptr<CommitReading> reading) {
  if (reading->next == reading->chunks) {
    if (reading->seen != reading->total_bytes) {
      return reading->done(DataLossError(
          absl::StrCat("the executable's chunks hold ", reading->seen, " bytes, not ", reading->total_bytes)));
    }
    const std::string got = reading->hasher.HexDigest();
    if (got != reading->sha256) {
      return reading->done(
          DataLossError(absl::StrCat("the uploaded executable has SHA-256 ", got, ", not ", reading->sha256)));
    }
    rpc::GetExecutableInfoReply info;
    info.set_present(true);
    info.set_chunks(reading->chunks);
    info.set_total_bytes(reading->total_bytes);
    reading->store->AsyncPut(kExecutableTable, reading->sha256, info.SerializeAsString(), true,
                             [reading](StatusOr<bool> written) { reading->done(written.status()); });
    return;
  }
  reading->store->AsyncGet(kExecutableTable, ExecutableManager::ChunkKey(reading->sha256, reading->next),
                           [reading](StatusOr<std::optional<std::string>> data) {
                             if (!data.ok()) return reading->done(data.status());
                             if (!data->has_value()) {
                               return reading->done(DataLossError(
                                   absl::StrCat("chunk ", reading->next, " of the executable was never uploaded")));
                             }
                             reading->hasher.Update(**data);
                             reading->seen += (*data)->size();
                             reading->next += 1;
                             ReadNextChunk(reading);  // from the store's callback: never recursive on one stack
                           });
}

}  // namespace

std::string ExecutableManager::ChunkKey(const std::string& sha256, uint32_t index) {
  return absl::StrFormat("%s/%08u", sha256, index);
}

void ExecutableManager::HandlePutChunk(const std::string& sha256, uint32_t index, std::string data,
                                       std::function<void(Status)> done) {
  if (!IsSha256Hex(sha256)) return done(InvalidArgumentError(absl::StrCat("'", sha256, "' is not a SHA-256")));
  if (static_cast<int64_t>(data.size()) > limits_.chunk_bytes) {
    return done(InvalidArgumentError(absl::StrCat("an executable chunk holds at most ", limits_.chunk_bytes,
                                                  " bytes, got ", data.size())));
  }
  if (static_cast<int64_t>(index) * limits_.chunk_bytes >= limits_.max_bytes) {
    return done(InvalidArgumentError(
        absl::StrCat("executables larger than ", limits_.max_bytes, " bytes (executable_max_bytes) are refused")));
  }
  store_.AsyncPut(kExecutableTable, ChunkKey(sha256, index), std::move(data), true,
                  [done = std::move(done)](StatusOr<bool> written) { done(written.status()); });
}

void ExecutableManager::HandleCommit(const std::string& sha256, uint32_t chunks, uint64_t total_bytes,
                                     std::function<void(Status)> done) {
  if (!IsSha256Hex(sha256)) return done(InvalidArgumentError(absl::StrCat("'", sha256, "' is not a SHA-256")));
  const uint64_t chunk = static_cast<uint64_t>(limits_.chunk_bytes);
  if (static_cast<int64_t>(total_bytes) > limits_.max_bytes || chunks != (total_bytes + chunk - 1) / chunk) {
    return done(InvalidArgumentError(absl::StrCat(total_bytes, " bytes in ", chunks, " chunks of ", chunk,
                                                  " bytes is not an executable this store takes")));
  }
  auto reading = std::make_shared<CommitReading>();
  reading->store = &store_;
  reading->sha256 = sha256;
  reading->chunks = chunks;
  reading->total_bytes = total_bytes;
  reading->done = std::move(done);
  ReadNextChunk(reading);
}

void ExecutableManager::HandleInfo(const std::string& sha256,
                                   std::function<void(StatusOr<rpc::GetExecutableInfoReply>)> done) {
  if (!IsSha256Hex(sha256)) return done(InvalidArgumentError(absl::StrCat("'", sha256, "' is not a SHA-256")));
  store_.AsyncGet(kExecutableTable, sha256, [done = std::move(done)](StatusOr<std::optional<std::string>> row) {
    if (!row.ok()) return done(row.status());
    rpc::GetExecutableInfoReply info;
    if (row->has_value() && !info.ParseFromString(**row)) {
      return done(DataLossError("the executable's record in storage is corrupt"));
    }
    done(info);
  });
}

void ExecutableManager::HandleGetChunk(const std::string& sha256, uint32_t index,
                                       std::function<void(StatusOr<std::string>)> done) {
  HandleInfo(sha256, [this, sha256, index, done = std::move(done)](StatusOr<rpc::GetExecutableInfoReply> info) {
    if (!info.ok()) return done(info.status());
    if (!info->present()) return done(NotFoundError(absl::StrCat("no executable ", sha256, " in the store")));
    if (index >= info->chunks()) {
      return done(NotFoundError(absl::StrCat("executable ", sha256, " has ", info->chunks(), " chunks, not ", index + 1)));
    }
    store_.AsyncGet(kExecutableTable, ChunkKey(sha256, index),
                    [sha256, index, done](StatusOr<std::optional<std::string>> data) {
                      if (!data.ok()) return done(data.status());
                      if (!data->has_value()) {
                        return done(DataLossError(absl::StrCat("chunk ", index, " of executable ", sha256, " is gone")));
                      }
                      done(std::move(**data));
                    });
  });
}

}  // namespace halo::gcs
