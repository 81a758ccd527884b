#include "stats/level.h"

#include <gtest/gtest.h>

#include <vector>

namespace tw::stats {
namespace {

TEST(EstimateLevelTest, EmptyInputHasNoSamples) {
  const Level level = EstimateLevel({});
  EXPECT_EQ(level.n, 0);
  EXPECT_EQ(level.median, 0);
  EXPECT_EQ(level.mad, 0);
}

TEST(EstimateLevelTest, SingleValue) {
  const std::vector<double> x = {7.5};
  const Level level = EstimateLevel(x);
  EXPECT_EQ(level.n, 1);
  EXPECT_DOUBLE_EQ(level.median, 7.5);
  EXPECT_DOUBLE_EQ(level.mad, 0);
}

TEST(EstimateLevelTest, OddCountIgnoresOutlier) {
  const std::vector<double> x = {1000, 2, 4, 1, 3};
  const Level level = EstimateLevel(x);
  EXPECT_EQ(level.n, 5);
  EXPECT_DOUBLE_EQ(level.median, 3);
  EXPECT_DOUBLE_EQ(level.mad, 1);  // deviations 997, 1, 1, 2, 0
}

TEST(EstimateLevelTest, EvenCountAveragesMiddlePair) {
  const std::vector<double> x = {10, 1, 4, 2};
  const Level level = EstimateLevel(x);
  EXPECT_DOUBLE_EQ(level.median, 3);
  EXPECT_DOUBLE_EQ(level.mad, 1.5);  // deviations 7, 2, 1, 1 -> (1 + 2) / 2
}

TEST(EstimateLevelTest, InputIsNotReordered) {
  const std::vector<double> x = {5, 1, 4, 2, 3};
  const std::vector<double> copy = x;
  EstimateLevel(x);
  EXPECT_EQ(x, copy);
}

TEST(EstimateLevelTest, ThrottledPlateauAfterBurst) {
  // A token bucket's burst (two high bins) then a plateau alternating 1.0e6 / 1.2e6: the level
  // stays on the plateau (sorted: 10 x 1.0e6, 10 x 1.2e6, 8e6, 9e6; middle pair 1.2e6, 1.2e6).
  std::vector<double> x = {9e6, 8e6};
  for (int i = 0; i < 20; ++i) x.push_back(i % 2 == 0 ? 1.0e6 : 1.2e6);
  const Level level = EstimateLevel(x);
  EXPECT_DOUBLE_EQ(level.median, 1.2e6);
  EXPECT_DOUBLE_EQ(level.mad, 0.2e6);
  EXPECT_EQ(level.n, 22);
}

}  // namespace
}  // namespace tw::stats
