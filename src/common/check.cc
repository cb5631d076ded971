#include "common/check.h"

#include <cstdio>
#include <cstdlib>

#include "common/logging.h"

namespace halo::internal {

CheckFailure::CheckFailure(const char* condition, const char* file, int line)
    : condition_(condition), file_(file), line_(line) {}

CheckFailure::~CheckFailure() {
  const std::string context = context_.str();
  HALO_LOG_ERROR("check failed at {}:{}: {}{}{}", file_, line_, condition_, context.empty() ? "" : ": ", context);
  std::fprintf(stderr, "halo: check failed at %s:%d: %s%s%s\n", file_, line_, condition_, context.empty() ? "" : ": ",
               context.c_str());
  std::abort();
}

}  // namespace halo::internal
