// A lease deadline shared between processes of one host through a small memory-mapped file: one writer (a
// node agent) pushes the deadline forward, readers (its workers) compare it with the host's monotonic clock
// (CLOCK_MONOTONIC, the same for every process of a host, so no clock-rate margin is needed between them).
// The deadline only ever moves as the writer says; a reader never extends it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace halo {

class LeaseFile {
 public:
  // Creates (or truncates) path for writing, deadline 0 (lapsed).
  static StatusOr<std::unique_ptr<LeaseFile>> Create(const std::string& path);
  // Opens an existing lease file read-only.
  static StatusOr<std::unique_ptr<LeaseFile>> Open(const std::string& path);
  ~LeaseFile();
  LeaseFile(const LeaseFile&) = delete;
  LeaseFile& operator=(const LeaseFile&) = delete;

  // Writer only. Milliseconds on the host's monotonic clock.
  void SetDeadlineMs(int64_t deadline_ms);
  int64_t DeadlineMs() const;

  // CLOCK_MONOTONIC in milliseconds: the clock deadlines are on.
  static int64_t HostMonotonicMs();

 private:
  LeaseFile(int fd, int64_t* slot, bool writable) : fd_(fd), slot_(slot), writable_(writable) {}
  int fd_;
  int64_t* slot_;
  bool writable_;
};

}  // namespace halo
