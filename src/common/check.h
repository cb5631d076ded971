// Checks of the invariants the code relies on. HALO_CHECK(condition) << "context" is always on: when the
// condition is false it logs the condition, where it failed and the context, then aborts the process, since
// acting on a broken invariant (resources counted twice, a counter that went back) would spread the damage.
// HALO_DCHECK is the same in debug builds and compiled out with NDEBUG, for checks too costly for hot paths.
#pragma once

#include <sstream>
#include <string>

namespace halo::internal {

class CheckFailure {
 public:
  CheckFailure(const char* condition, const char* file, int line);
  ~CheckFailure();  // logs and aborts
  template <typename T>
  CheckFailure& operator<<(const T& value) {
    context_ << value;
    return *this;
  }

 private:
  const char* condition_;
  const char* file_;
  int line_;
  std::ostringstream context_;
};

// Lets the macro be one expression of type void.
struct CheckVoidify {
  void operator&(const CheckFailure&) {}
};

}  // namespace halo::internal

#define HALO_CHECK(condition)          \
  (condition) ? static_cast<void>(0) \
              : ::halo::internal::CheckVoidify() & ::halo::internal::CheckFailure(#condition, __FILE__, __LINE__)

#ifdef NDEBUG
#define HALO_DCHECK(condition) \
  true ? static_cast<void>(0) : ::halo::internal::CheckVoidify() & ::halo::internal::CheckFailure(#condition, __FILE__, __LINE__)
#else
#define HALO_DCHECK(condition) HALO_CHECK(condition)
#endif
