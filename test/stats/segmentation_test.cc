#include "stats/segmentation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "stats/level.h"

namespace tw::stats {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Piecewise-constant means (means[k] from starts[k]) plus Gaussian noise.
std::vector<double> Steps(size_t n, const std::vector<size_t>& starts,
                          const std::vector<double>& means, double sigma, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, sigma);
  std::vector<double> x(n);
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    while (k + 1 < starts.size() && i >= starts[k + 1]) ++k;
    x[i] = means[k] + noise(rng);
  }
  return x;
}

// Reference: exact optimal partitioning by O(n^2) dynamic programming, for the documented
// objective (SSE / sigma^2 + beta per change, sigma^2 = (MAD(diff) / 0.6745)^2 / 2).
std::vector<size_t> BruteForce(const std::vector<double>& x, double beta, size_t m) {
  const size_t n = x.size();
  std::vector<double> diff(n - 1);
  for (size_t i = 0; i + 1 < n; ++i) diff[i] = x[i + 1] - x[i];
  const double sigma2 = std::pow(EstimateLevel(diff).mad / 0.6745, 2) / 2;
  auto sse = [&x](size_t a, size_t b) {
    double s = 0, s2 = 0;
    for (size_t i = a; i < b; ++i) {
      s += x[i];
      s2 += x[i] * x[i];
    }
    return s2 - s * s / static_cast<double>(b - a);
  };
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> f(n + 1, inf);
  std::vector<size_t> last(n + 1, 0);
  f[0] = -beta;
  for (size_t s = m; s <= n; ++s) {
    for (size_t t = 0; t + m <= s; ++t) {
      if (f[t] == inf) continue;
      const double v = f[t] + beta + sse(t, s) / sigma2;
      if (v < f[s]) {
        f[s] = v;
        last[s] = t;
      }
    }
  }
  std::vector<size_t> changes;
  for (size_t s = last[n]; s > 0; s = last[s]) changes.push_back(s);
  std::reverse(changes.begin(), changes.end());
  return changes;
}

TEST(SegmentPeltTest, DegenerateInputsHaveNoChanges) {
  EXPECT_THAT(SegmentPelt({}), IsEmpty());
  const std::vector<double> one = {3.0};
  EXPECT_THAT(SegmentPelt(one), IsEmpty());
  const std::vector<double> two = {1.0, 5.0};
  EXPECT_THAT(SegmentPelt(two), IsEmpty());  // min_segment 2: no room for a change
  const std::vector<double> constant(1000, 42.0);
  EXPECT_THAT(SegmentPelt(constant), IsEmpty());
}

TEST(SegmentPeltTest, NoiseFreeStepsAreExact) {
  std::vector<double> x(300, 1.0);
  std::fill(x.begin() + 100, x.begin() + 200, 4.0);
  EXPECT_THAT(SegmentPelt(x), ElementsAre(100, 200));
}

TEST(SegmentPeltTest, FindsKnownChangesWithinOneIndex) {
  const std::vector<size_t> truth = {200, 450, 700, 760};
  for (unsigned seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE(seed);
    const auto x = Steps(1000, {0, 200, 450, 700, 760}, {0, 3, 0, -3, 1}, 1.0, seed);
    const auto changes = SegmentPelt(x);
    ASSERT_THAT(changes, SizeIs(truth.size()));
    for (size_t k = 0; k < truth.size(); ++k) {
      EXPECT_NEAR(static_cast<double>(changes[k]), static_cast<double>(truth[k]), 1.0);
    }
  }
}

TEST(SegmentPeltTest, ScaleAndOffsetInvariant) {
  const auto x = Steps(2000, {0, 500, 1300}, {0, 2, 0.5}, 1.0, 3);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = 1e6 + 2.5e5 * x[i];
  EXPECT_EQ(SegmentPelt(x), SegmentPelt(y));
  EXPECT_THAT(SegmentPelt(x), SizeIs(2));
}

TEST(SegmentPeltTest, MatchesBruteForceOptimalPartitioning) {
  for (unsigned seed = 1; seed <= 6; ++seed) {
    const auto x = Steps(160, {0, 30, 45, 100, 104, 130}, {0, 2, -1, 1, 4, 0}, 1.0, seed);
    for (size_t m : {1, 2, 5}) {
      for (double penalty : {0.0, 4.0, 25.0}) {
        SCOPED_TRACE(testing::Message() << "seed " << seed << " m " << m << " pen " << penalty);
        const double beta = penalty > 0 ? penalty : 3 * std::log(160.0);
        EXPECT_EQ(SegmentPelt(x, {.penalty = penalty, .min_segment = m}), BruteForce(x, beta, m));
      }
    }
  }
}

TEST(SegmentPeltTest, RespectsMinSegment) {
  // Many short segments and a one-sample outlier; every segment must still be at least
  // min_segment long.
  std::vector<size_t> starts;
  std::vector<double> means;
  for (size_t i = 0; i < 40; ++i) {
    starts.push_back(i * 25);
    means.push_back(i % 2 == 0 ? 0.0 : 5.0);
  }
  auto x = Steps(1000, starts, means, 1.0, 11);
  x[510] += 30;
  for (size_t m : {1, 3, 10, 40}) {
    SCOPED_TRACE(m);
    const auto changes = SegmentPelt(x, {.penalty = 0, .min_segment = m});
    size_t prev = 0;
    for (size_t c : changes) {
      EXPECT_GE(c - prev, m);
      prev = c;
    }
    EXPECT_GE(x.size() - prev, m);
    const bool isolated = std::find(changes.begin(), changes.end(), 510) != changes.end() &&
                          std::find(changes.begin(), changes.end(), 511) != changes.end();
    EXPECT_EQ(isolated, m == 1);  // only min_segment 1 gives the outlier its own segment
  }
}

TEST(SegmentPeltTest, HigherPenaltyNeverAddsChanges) {
  const auto x = Steps(3000, {0, 1000, 1010, 2000}, {0, 1, 0, 0.7}, 1.0, 5);
  size_t prev = std::numeric_limits<size_t>::max();
  for (double penalty : {2.0, 8.0, 24.0, 100.0, 1000.0}) {
    const size_t count = SegmentPelt(x, {.penalty = penalty}).size();
    EXPECT_LE(count, prev) << penalty;
    prev = count;
  }
  EXPECT_EQ(prev, 0u);
}

TEST(SegmentPeltTest, StationaryGaussianNoiseHasNoChanges) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    EXPECT_THAT(SegmentPelt(Steps(10000, {0}, {5}, 2.0, seed)), IsEmpty()) << seed;
  }
}

TEST(SegmentPeltTest, LogOfHeavyTailedRatesHasFewChanges) {
  // Log-normal rates (sigma 0.5) with Pareto bursts (alpha 1.5) on 5% of bins: after
  // LogTransform the bursts are sparse outliers, which MBIC must not turn into many changes.
  for (unsigned seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0, 0.5);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<double> rate(5000);
    for (double& r : rate) {
      r = 1e6 * std::exp(noise(rng));
      if (u(rng) < 0.05) r *= std::pow(1 - u(rng), -1 / 1.5);
    }
    std::vector<double> y;
    LogTransform(rate, 1.0, &y);
    EXPECT_THAT(SegmentPelt(y), SizeIs(::testing::Le(2)));
  }
}

TEST(SegmentPeltTest, LargeSeriesWithFewChanges) {
  const size_t n = 200000;
  const auto x = Steps(n, {0, 50000, 120000, 121000, 180000}, {0, 3, 6, 3, 0}, 1.0, 9);
  const auto changes = SegmentPelt(x);
  ASSERT_THAT(changes, SizeIs(4));
  const std::vector<size_t> truth = {50000, 120000, 121000, 180000};
  for (size_t k = 0; k < truth.size(); ++k) {
    EXPECT_NEAR(static_cast<double>(changes[k]), static_cast<double>(truth[k]), 1.0);
  }
}

TEST(BestSingleChangeRobustTest, FindsStep) {
  std::vector<double> x(100, 2.0);
  std::fill(x.begin() + 37, x.end(), 5.0);
  EXPECT_EQ(BestSingleChangeRobust(x), 37u);
  for (unsigned seed = 1; seed <= 10; ++seed) {
    const auto y = Steps(400, {0, 123}, {0, 4}, 1.0, seed);
    EXPECT_NEAR(static_cast<double>(BestSingleChangeRobust(y)), 123.0, 1.0) << seed;
  }
}

// The throttle_onoff lab capture (kB per bin): TCP's catch-up burst after one squeeze ends, a
// steady level, then the next squeeze, which the online detector places at index 10 or 11.
// Unconfined, the burst is taken for a level of its own; confined to the recent bins, the
// medians find the drop (a mean before it would still be inflated by the burst).
TEST(BestSingleChangeRobustTest, FindsTheDropBehindABurst) {
  const std::vector<double> x = {987, 844, 187, 187, 188, 188, 185, 188, 188, 188, 82, 36, 36, 36};
  EXPECT_EQ(BestSingleChangeRobust(x), 2u);
  EXPECT_EQ(BestSingleChangeRobust(x, 8), 10u);
  EXPECT_EQ(BestSingleChangeRobust(x, 9), 10u);
}

TEST(BestSingleChangeRobustTest, EarliestAndEdgeCases) {
  std::vector<double> x(20, 5.0);
  std::fill(x.begin() + 4, x.end(), 1.0);
  EXPECT_EQ(BestSingleChangeRobust(x), 4u);
  EXPECT_EQ(BestSingleChangeRobust(x, 9), 9u);   // the change is earlier: the first candidate
  EXPECT_EQ(BestSingleChangeRobust(x, 20), 0u);  // no candidate left
  EXPECT_EQ(BestSingleChangeRobust({}), 0u);
  const std::vector<double> one = {1.0};
  EXPECT_EQ(BestSingleChangeRobust(one), 0u);
}

TEST(LogTransformTest, AddsFloorAndMapsInvalidToFloor) {
  const std::vector<double> in = {0.0, 9.0, -5.0, std::nan("")};
  std::vector<double> out = {123.0};
  LogTransform(in, 1.0, &out);
  ASSERT_THAT(out, SizeIs(4));
  EXPECT_DOUBLE_EQ(out[0], 0.0);
  EXPECT_DOUBLE_EQ(out[1], std::log(10.0));
  EXPECT_DOUBLE_EQ(out[2], 0.0);
  EXPECT_DOUBLE_EQ(out[3], 0.0);
}

}  // namespace
}  // namespace tw::stats
