// FindChangepoints on synthetic series with known changes: AR(1) noise, trends and seasonal
// cycles must not become changes; mean shifts under them must be found.
#include "stats/changepoints.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace tw::stats {
namespace {

// AR(1) noise e_t = phi e_{t-1} + N(0, 1), fixed seed.
std::vector<double> Ar1(size_t n, double phi, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0, 1);
  std::vector<double> e(n);
  double prev = 0;
  for (double& v : e) v = prev = phi * prev + gauss(rng);
  return e;
}

bool Near(size_t found, size_t truth, size_t margin) {
  return found + margin >= truth && found <= truth + margin;
}

TEST(ChangepointsTest, MeanShiftsUnderAr1NoiseAreFound) {
  std::vector<double> x = Ar1(600, 0.6, 1);
  for (size_t t = 200; t < 400; ++t) x[t] += 8;
  for (size_t t = 400; t < 600; ++t) x[t] -= 4;
  const ChangepointResult r = FindChangepoints(x, {});
  ASSERT_EQ(r.changes.size(), 2u);
  EXPECT_TRUE(Near(r.changes[0], 200, 3)) << r.changes[0];
  EXPECT_TRUE(Near(r.changes[1], 400, 3)) << r.changes[1];
  ASSERT_EQ(r.segments.size(), 3u);
  EXPECT_NEAR(r.segments[1].level, 8, 1.0);
  EXPECT_NEAR(r.segments[2].level, -4, 1.0);
}

TEST(ChangepointsTest, StrongAutocorrelationAloneIsNoChange) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    EXPECT_TRUE(FindChangepoints(Ar1(500, 0.9, seed), {}).changes.empty()) << seed;
  }
}

TEST(ChangepointsTest, PureTrendIsOneSegment) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    std::vector<double> x = Ar1(500, 0.5, seed);
    for (size_t t = 0; t < x.size(); ++t) x[t] += 0.05 * double(t);
    const ChangepointResult r = FindChangepoints(x, {});
    EXPECT_TRUE(r.changes.empty()) << seed;
    ASSERT_EQ(r.segments.size(), 1u);
    EXPECT_NEAR(r.segments[0].slope, 0.05, 0.01);
  }
}

TEST(ChangepointsTest, PureSeasonalCycleIsNoChange) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    std::vector<double> x = Ar1(480, 0.3, seed);
    for (size_t t = 0; t < x.size(); ++t) x[t] += 5 * std::sin(2 * M_PI * double(t) / 12);
    const ChangepointResult r = FindChangepoints(x, {});
    EXPECT_TRUE(r.changes.empty()) << seed;
    EXPECT_EQ(r.season_period, 12) << seed;
  }
}

TEST(ChangepointsTest, TrendPlusSeasonIsNoChange) {
  std::vector<double> x = Ar1(480, 0.3, 7);
  for (size_t t = 0; t < x.size(); ++t) {
    x[t] += 0.03 * double(t) + 4 * std::sin(2 * M_PI * double(t) / 24);
  }
  EXPECT_TRUE(FindChangepoints(x, {}).changes.empty());
}

TEST(ChangepointsTest, StepInASeasonalSeriesIsFound) {
  std::vector<double> x = Ar1(480, 0.3, 3);
  for (size_t t = 0; t < x.size(); ++t) {
    x[t] += 5 * std::sin(2 * M_PI * double(t) / 12) + (t >= 250 ? 6 : 0);
  }
  const ChangepointResult r = FindChangepoints(x, {});
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_TRUE(Near(r.changes[0], 250, 3)) << r.changes[0];
}

TEST(ChangepointsTest, JumpBetweenTwoTrendsIsOneChange) {
  std::vector<double> x = Ar1(500, 0.5, 11);
  for (size_t t = 0; t < x.size(); ++t) x[t] += 0.04 * double(t) + (t >= 300 ? -10 : 0);
  const ChangepointResult r = FindChangepoints(x, {});
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_TRUE(Near(r.changes[0], 300, 3)) << r.changes[0];
}

TEST(ChangepointsTest, MeanModelTurnsATrendIntoSteps) {
  // What the option is for: the flat model cannot follow a strong trend.
  std::vector<double> x = Ar1(500, 0.0, 2);
  for (size_t t = 0; t < x.size(); ++t) x[t] += 0.2 * double(t);
  ChangepointParams p;
  p.model = SegmentModel::kMean;
  EXPECT_GT(FindChangepoints(x, p).changes.size(), 3u);
  p.model = SegmentModel::kAuto;
  EXPECT_TRUE(FindChangepoints(x, p).changes.empty());
}

TEST(ChangepointsTest, NoiseFreeStepsAndDegenerateInputs) {
  std::vector<double> x(50, 100);
  for (size_t t = 25; t < 50; ++t) x[t] = 20;
  EXPECT_EQ(FindChangepoints(x, {}).changes, std::vector<size_t>{25});
  EXPECT_TRUE(FindChangepoints(std::vector<double>(40, 3), {}).changes.empty());
  EXPECT_TRUE(FindChangepoints(std::vector<double>{}, {}).segments.empty());
  EXPECT_TRUE(FindChangepoints(std::vector<double>{1, 9, 1}, {}).changes.empty());
}

TEST(ChangepointsTest, MinSegmentIsRespected) {
  std::vector<double> x = Ar1(300, 0.0, 5);
  for (size_t t = 100; t < 104; ++t) x[t] += 30;  // a 4-sample burst
  for (size_t t = 200; t < 300; ++t) x[t] += 10;
  ChangepointParams p;
  p.min_segment = 5;
  const ChangepointResult r = FindChangepoints(x, p);
  for (size_t i = 1; i < r.segments.size(); ++i) {
    EXPECT_GE(r.segments[i].end - r.segments[i].start, 5u);
  }
  EXPECT_TRUE(std::find(r.changes.begin(), r.changes.end(), 200) != r.changes.end());
}

TEST(ChangepointsTest, FillMissingInterpolatesOrSkips) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> x{nan, 1, nan, nan, 4, nan};
  FillMissing(false, &x);
  EXPECT_EQ(x, (std::vector<double>{1, 1, 2, 3, 4, 4}));
  std::vector<double> y{nan, 1, nan, 4};
  FillMissing(true, &y);
  EXPECT_EQ(y, (std::vector<double>{1, 4}));
  std::vector<double> z{nan, nan};
  FillMissing(false, &z);
  EXPECT_TRUE(z.empty());
}

}  // namespace
}  // namespace tw::stats
