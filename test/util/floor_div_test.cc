#include "util/floor_div.h"

#include <gtest/gtest.h>

namespace tw::util {
namespace {

TEST(FloorDivTest, RoundsTowardsMinusInfinity) {
  EXPECT_EQ(FloorDiv(7, 2), 3);
  EXPECT_EQ(FloorDiv(-7, 2), -4);
  EXPECT_EQ(FloorDiv(-1, 1000), -1);
  EXPECT_EQ(FloorDiv(0, 5), 0);
}

TEST(FloorDivTest, ExactMultiplesStayPut) {
  EXPECT_EQ(FloorDiv(-6, 2), -3);
  EXPECT_EQ(FloorTo(-6, 2), -6);
  EXPECT_EQ(FloorTo(6000, 1000), 6000);
}

TEST(FloorDivTest, FloorToGivesTheStartOfTheBin) {
  EXPECT_EQ(FloorTo(1999, 1000), 1000);
  EXPECT_EQ(FloorTo(-1, 1000), -1000);
  EXPECT_EQ(FloorTo(-1001, 1000), -2000);
  static_assert(FloorTo(-999'999'999, 1'000'000'000) == -1'000'000'000);
}

}  // namespace
}  // namespace tw::util
