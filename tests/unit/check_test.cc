// The invariant checks: a failed HALO_CHECK names the condition and the context and ends the process.
#include <gtest/gtest.h>

#include "common/check.h"

namespace halo {
namespace {

TEST(CheckDeathTest, AFailedCheckAbortsNamingTheConditionAndTheContext) {
  int offered = 2;
  HALO_CHECK(offered == 2) << "not shown";
  EXPECT_DEATH(HALO_CHECK(offered > 4) << "node n1 offers " << offered, "check failed at .*offered > 4: node n1 offers 2");
}

TEST(CheckDeathTest, ACheckEvaluatesItsContextOnlyWhenItFails) {
  int evaluated = 0;
  auto count = [&] { return ++evaluated; };
  HALO_CHECK(true) << count();
  EXPECT_EQ(evaluated, 0);
}

}  // namespace
}  // namespace halo
