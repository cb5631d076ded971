// Status and StatusOr for fallible I/O inside the runtime. We use Abseil's types (a Debian package that
// gRPC already depends on) under our own names, so a later switch touches one file. Codes in use:
// InvalidArgument (bad input), NotFound, AlreadyExists, FailedPrecondition (incompatible or held state),
// Unavailable (peer or storage unreachable, retryable), DeadlineExceeded, ResourceExhausted (a bound hit),
// Unauthenticated / PermissionDenied (credentials), Internal, Cancelled (a stop requested while waiting).
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace halo {

using Status = absl::Status;
template <typename T>
using StatusOr = absl::StatusOr<T>;

using absl::AlreadyExistsError;
using absl::CancelledError;
using absl::DataLossError;
using absl::DeadlineExceededError;
using absl::FailedPreconditionError;
using absl::InternalError;
using absl::InvalidArgumentError;
using absl::NotFoundError;
using absl::OkStatus;
using absl::PermissionDeniedError;
using absl::ResourceExhaustedError;
using absl::UnauthenticatedError;
using absl::UnavailableError;
using absl::UnimplementedError;

}  // namespace halo

#define HALO_RETURN_IF_ERROR(expr)          \
  do {                                      \
    ::halo::Status halo_status_ = (expr);   \
    if (!halo_status_.ok()) return halo_status_; \
  } while (0)
