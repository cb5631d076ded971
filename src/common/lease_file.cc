#include "common/lease_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/check.h"

namespace halo {
namespace {

StatusOr<int64_t*> Map(int fd, bool writable, const std::string& path) {
  void* mapped = mmap(nullptr, sizeof(int64_t), writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  if (mapped == MAP_FAILED) return InternalError(absl::StrCat("cannot map ", path, ": ", strerror(errno)));
  return static_cast<int64_t*>(mapped);
}

}  // namespace

StatusOr<std::unique_ptr<LeaseFile>> LeaseFile::Create(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return InternalError(absl::StrCat("cannot create lease file ", path, ": ", strerror(errno)));
  if (ftruncate(fd, sizeof(int64_t)) != 0) {
    const int error = errno;
    close(fd);
    return InternalError(absl::StrCat("cannot size lease file ", path, ": ", strerror(error)));
  }
  auto slot = Map(fd, true, path);
  if (!slot.ok()) {
    close(fd);
    return slot.status();
  }
  std::unique_ptr<LeaseFile> file(new LeaseFile(fd, *slot, true));
  file->SetDeadlineMs(0);
  return file;
}

StatusOr<std::unique_ptr<LeaseFile>> LeaseFile::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFoundError(absl::StrCat("cannot open lease file ", path, ": ", strerror(errno)));
  struct stat info {};
  if (fstat(fd, &info) != 0 || info.st_size < static_cast<off_t>(sizeof(int64_t))) {
    close(fd);
    return FailedPreconditionError(absl::StrCat("lease file ", path, " is not a lease file (too short)"));
  }
  auto slot = Map(fd, false, path);
  if (!slot.ok()) {
    close(fd);
    return slot.status();
  }
  return std::unique_ptr<LeaseFile>(new LeaseFile(fd, *slot, false));
}

LeaseFile::~LeaseFile() {
  munmap(slot_, sizeof(int64_t));
  close(fd_);
}

void LeaseFile::SetDeadlineMs(int64_t deadline_ms) {
  HALO_CHECK(writable_) << "only the node agent writes a lease file";
  __atomic_store_n(slot_, deadline_ms, __ATOMIC_RELEASE);
}

int64_t LeaseFile::DeadlineMs() const { return __atomic_load_n(slot_, __ATOMIC_ACQUIRE); }

int64_t LeaseFile::HostMonotonicMs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

}  // namespace halo
