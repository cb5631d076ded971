// Joins several storage writes into one completion: done runs once, after the last write, with the first
// error if any failed.
#pragma once

#include <functional>
#include <memory>

#include "common/status.h"

namespace halo::gcs {

class WriteTracker {
 public:
  static std::shared_ptr<WriteTracker> Create(int count, std::function<void(Status)> done) {
    return std::shared_ptr<WriteTracker>(new WriteTracker(count, std::move(done)));
  }
  void Complete(const Status& status) {
    if (!status.ok() && first_error_.ok()) first_error_ = status;
    if (--remaining_ == 0) done_(first_error_);
  }
  // A callback for a write that yields StatusOr<T>.
  template <typename T>
  std::function<void(StatusOr<T>)> Callback(std::shared_ptr<WriteTracker> self) {
    return [self](StatusOr<T> result) { self->Complete(result.status()); };
  }

 private:
  WriteTracker(int count, std::function<void(Status)> done) : remaining_(count), done_(std::move(done)) {}
  int remaining_;
  Status first_error_;
  std::function<void(Status)> done_;
};

}  // namespace halo::gcs
