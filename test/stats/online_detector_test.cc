#include "stats/online_detector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

namespace tw::stats {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;

// One non-kNone decision, with the bin its onset points at.
struct Event {
  int bin;
  DropDecision decision;
  int onset;
  double before;
  double after;
};

// Feeds x to d; returns its decisions. `after_bin(i)` runs after bin i when given.
std::vector<Event> Feed(DropDetector& d, const std::vector<double>& x,
                        const std::function<void(int)>& after_bin = {}) {
  std::vector<Event> events;
  for (size_t i = 0; i < x.size(); ++i) {
    const DropDecision r = d.Observe(x[i]);
    const int bin = static_cast<int>(i);
    if (r != DropDecision::kNone) {
      events.push_back({bin, r, bin - d.onset_bins_ago(), d.level_before(), d.level_after()});
    }
    if (after_bin) after_bin(bin);
  }
  return events;
}

std::vector<Event> Feed(const std::vector<double>& x) {
  DropDetector d;
  return Feed(d, x);
}

int CountDrops(const std::vector<Event>& events) {
  int drops = 0;
  for (const Event& e : events) drops += e.decision == DropDecision::kDrop ? 1 : 0;
  return drops;
}

// level(i) times log-normal noise of the given sigma (log units).
std::vector<double> LogNormal(int n, double sigma, unsigned seed,
                              const std::function<double(int)>& level) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, sigma);
  std::vector<double> x(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) x[static_cast<size_t>(i)] = level(i) * std::exp(noise(rng));
  return x;
}

double DropAt60RecoverAt120(int i) { return i >= 60 && i < 120 ? 2.5e5 : 1e6; }

TEST(DropDetectorTest, DropAndRecoveryOnsetsWithinOneBin) {
  // Log-normal noise, sigma 0.1. At kDrop the level after rests on the 4 bins seen so far:
  // 15% is about 3 of its standard errors.
  for (unsigned seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    const auto x = LogNormal(200, 0.1, seed, DropAt60RecoverAt120);
    DropDetector d;
    bool in_drop_at_100 = false;
    const auto events = Feed(d, x, [&](int bin) {
      if (bin == 100) in_drop_at_100 = d.in_drop();
    });
    ASSERT_THAT(events, SizeIs(2));
    const Event& drop = events[0];
    EXPECT_EQ(drop.decision, DropDecision::kDrop);
    EXPECT_NEAR(drop.onset, 60, 1);
    EXPECT_LE(drop.bin, 64);  // detected within a few bins
    EXPECT_NEAR(drop.before, 1e6, 0.15e6);
    EXPECT_NEAR(drop.after, 2.5e5, 0.15 * 2.5e5);
    EXPECT_TRUE(in_drop_at_100);
    const Event& rec = events[1];
    EXPECT_EQ(rec.decision, DropDecision::kRecovery);
    EXPECT_NEAR(rec.onset, 120, 1);
    EXPECT_LE(rec.bin, 124);
    EXPECT_NEAR(rec.after, 2.5e5, 0.15 * 2.5e5);  // the plateau of the whole drop
    EXPECT_NEAR(rec.before, 1e6, 0.15e6);
    EXPECT_FALSE(d.in_drop());
    EXPECT_EQ(d.bins_observed(), 200);
  }
}

TEST(DropDetectorTest, NoisyDropAndRecoveryAreDetected) {
  // Log-normal sigma 0.3 (bins commonly 0.55x to 1.8x the level): both changes are found, the
  // onsets within two bins (about 1 run in 10 is off by two), the plateau within 15%.
  for (unsigned seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    const auto events = Feed(LogNormal(200, 0.3, seed, DropAt60RecoverAt120));
    ASSERT_THAT(events, SizeIs(2));
    EXPECT_EQ(events[0].decision, DropDecision::kDrop);
    EXPECT_NEAR(events[0].onset, 60, 2);
    EXPECT_EQ(events[1].decision, DropDecision::kRecovery);
    EXPECT_NEAR(events[1].onset, 120, 2);
    EXPECT_NEAR(events[1].after, 2.5e5, 0.15 * 2.5e5);
  }
}

TEST(DropDetectorTest, StationaryLogNormalNoiseGivesNoDrop) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    EXPECT_EQ(CountDrops(Feed(LogNormal(5000, 0.5, seed, [](int) { return 1e6; }))), 0) << seed;
  }
}

TEST(DropDetectorTest, ParetoBurstsGiveNoDrop) {
  // Log-normal noise plus Pareto (alpha 1.5) bursts on 5% of bins: bursts must not lift the
  // baseline so far that the ordinary bins after them look like a drop.
  for (unsigned seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0, 0.3);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<double> x(10000);
    for (double& v : x) {
      v = 1e6 * std::exp(noise(rng));
      if (u(rng) < 0.05) v *= std::pow(1 - u(rng), -1 / 1.5);
    }
    EXPECT_EQ(CountDrops(Feed(x)), 0);
  }
}

TEST(DropDetectorTest, OnOffWithShortZeroRunsGivesNoDrop) {
  // Bursty source: runs of 1-2 zero bins (at most max_zero_run) between active bins.
  for (unsigned seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0, 0.3);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<double> x;
    while (x.size() < 5000) {
      x.push_back(1e6 * std::exp(noise(rng)));
      if (u(rng) < 0.15) x.insert(x.end(), u(rng) < 0.5 ? 1 : 2, 0.0);
    }
    DropDetector d;
    EXPECT_EQ(CountDrops(Feed(d, x)), 0);
    EXPECT_FALSE(d.in_drop());
  }
}

TEST(DropDetectorTest, SingleBinBlipsAndTwoBinStallGiveNoAlarm) {
  std::vector<double> x = LogNormal(300, 0.05, 1, [](int) { return 1e6; });
  x[50] = 1e3;            // one bin at 0.1%
  x[100] = 0;             // one empty bin
  x[150] = x[151] = 0;    // a two-bin stall
  x[200] = x[201] = 1e4;  // two bins at 1%
  x[250] = std::nan("");  // garbage
  EXPECT_THAT(Feed(x), IsEmpty());
}

TEST(DropDetectorTest, DropSmallerThanMinDropGivesNoAlarm) {
  // A 40% drop on a smooth series, then a 45% drop on a noisy one (min_drop is 50%).
  DropDetector smooth;
  EXPECT_THAT(Feed(smooth, LogNormal(400, 0.02, 1, [](int i) { return i < 100 ? 1e6 : 6e5; })),
              IsEmpty());
  EXPECT_NEAR(smooth.level_before(), 6e5, 0.05 * 6e5);  // the baseline followed the shift
  EXPECT_THAT(Feed(LogNormal(400, 0.3, 2, [](int i) { return i < 100 ? 1e6 : 5.5e5; })), IsEmpty());
}

TEST(DropDetectorTest, DropJustBeyondMinDropIsReported) {
  // To 40% of the level (a 60% drop) on a moderately smooth series.
  const auto events = Feed(LogNormal(200, 0.05, 3, [](int i) { return i < 80 ? 1e6 : 4e5; }));
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].decision, DropDecision::kDrop);
  EXPECT_NEAR(events[0].onset, 80, 1);
}

TEST(DropDetectorTest, ShortStallBeforeLowRateIsTheOnset) {
  // A policer: two empty bins, then the flow continues at 20% of its rate.
  auto x = LogNormal(150, 0.05, 4, [](int i) { return i < 70 ? 1e6 : 2e5; });
  x[70] = x[71] = 0;
  const auto events = Feed(x);
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].decision, DropDecision::kDrop);
  EXPECT_EQ(events[0].onset, 70);
  EXPECT_NEAR(events[0].after, 2e5, 0.1 * 2e5);  // zero bins are not part of the level
}

TEST(DropDetectorTest, LongZeroRunDisarmsAndRelearns) {
  // The source goes idle (more than max_zero_run empty bins), then resumes at a quarter of its
  // rate: that is a new baseline, not a drop.
  std::vector<double> x = LogNormal(100, 0.1, 5, [](int) { return 1e6; });
  x.insert(x.end(), 10, 0.0);
  const auto low = LogNormal(100, 0.1, 6, [](int) { return 2.5e5; });
  x.insert(x.end(), low.begin(), low.end());
  DropDetector d;
  EXPECT_THAT(Feed(d, x), IsEmpty());
  EXPECT_NEAR(d.level_before(), 2.5e5, 0.1 * 2.5e5);
}

// 1e6, dropped to 2.5e5 at bin 50, idle for bins 100..109, then 50 bins at `resumed`.
std::vector<double> DropThenIdleThen(double resumed) {
  std::vector<double> x = LogNormal(100, 0.05, 7, [](int i) { return i < 50 ? 1e6 : 2.5e5; });
  x.insert(x.end(), 10, 0.0);
  const auto after = LogNormal(50, 0.05, 8, [resumed](int) { return resumed; });
  x.insert(x.end(), after.begin(), after.end());
  return x;
}

TEST(DropDetectorTest, IdleDuringDropKeepsDropUntilRecovery) {
  const std::vector<double> x = DropThenIdleThen(1e6);
  DropDetector d;
  const auto events = Feed(d, x, [&d](int bin) {
    if (bin == 109) {  // end of the idle period
      EXPECT_TRUE(d.in_drop());
      EXPECT_NEAR(d.level_after(), 2.5e5, 0.05 * 2.5e5);
    }
  });
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[0].decision, DropDecision::kDrop);
  EXPECT_NEAR(events[0].onset, 50, 1);
  EXPECT_EQ(events[1].decision, DropDecision::kRecovery);
  // The source resumed at bin 110 at its old rate: the recovery began there, and is decided
  // as soon as the rise's CUSUM reaches its threshold: threshold / (clip - drift) = 4 bins (no
  // warmup in a drop: the levels it is judged by are kept; a warmup took 5 bins more).
  EXPECT_EQ(events[1].onset, 110);
  EXPECT_LE(events[1].bin, 113);
  EXPECT_NEAR(events[1].after, 2.5e5, 0.05 * 2.5e5);
}

TEST(DropDetectorTest, IdleDuringDropThenResumingThrottledIsNoRecovery) {
  // A pause in a drop, then the source resumes at the throttled rate: still the same drop.
  DropDetector d;
  const auto events = Feed(d, DropThenIdleThen(2.5e5));
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].decision, DropDecision::kDrop);
  EXPECT_TRUE(d.in_drop());
}

TEST(DropDetectorTest, PartialRiseIsNotARecovery) {
  // 1e6 -> 2e5 -> 5e5 (below 75% of the level before) -> 1e6.
  const auto events = Feed(LogNormal(300, 0.05, 9, [](int i) {
    return i < 60 ? 1e6 : i < 120 ? 2e5 : i < 200 ? 5e5 : 1e6;
  }));
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[0].decision, DropDecision::kDrop);
  EXPECT_NEAR(events[0].onset, 60, 1);
  EXPECT_EQ(events[1].decision, DropDecision::kRecovery);
  EXPECT_NEAR(events[1].onset, 200, 1);
}

TEST(DropDetectorTest, InvalidInputIsSafe) {
  DropDetector d;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double v : {nan, -1.0, -inf, 0.0}) EXPECT_EQ(d.Observe(v), DropDecision::kNone);
  for (int i = 0; i < 20; ++i) d.Observe(1e6);
  for (double v : {nan, -5.0, inf}) EXPECT_EQ(d.Observe(v), DropDecision::kNone);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(d.Observe(1e6), DropDecision::kNone);
  EXPECT_DOUBLE_EQ(d.level_before(), 1e6);
  EXPECT_EQ(d.level_after(), 0);  // no drop yet
  EXPECT_EQ(d.bins_observed(), 47);
}

TEST(DropDetectorTest, NoDecisionBeforeWarmup) {
  DropDetectorParams p;
  p.warmup_bins = 10;
  DropDetector d(p);
  // Zero bins do not count towards the warmup: 9 active bins, interleaved with zeros.
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(d.Observe(1e6), DropDecision::kNone);
    EXPECT_EQ(d.Observe(0), DropDecision::kNone);
  }
  d.Observe(1e6);  // the 10th active bin arms the detector
  std::vector<DropDecision> seen;
  for (int i = 0; i < 10; ++i) seen.push_back(d.Observe(1e5));
  EXPECT_THAT(seen, ::testing::Contains(DropDecision::kDrop));
  EXPECT_TRUE(d.in_drop());
}

}  // namespace
}  // namespace tw::stats

namespace tw::stats {
namespace {

// A drop judged not to be a throttle (the source slowed itself) becomes the new baseline: the
// next drop, from that level, is found, instead of the detector waiting for a recovery.
TEST(DropDetectorTest, RebaseTakesTheNewLevelAndFindsTheNextDrop) {
  DropDetector d;
  int drops = 0;
  for (int i = 0; i < 30; ++i)
    drops += d.Observe(1e6 * (1 + 0.01 * (i % 3))) == DropDecision::kDrop;
  for (int i = 0; i < 10 && !d.in_drop(); ++i) {
    drops += d.Observe(2e5 * (1 + 0.01 * (i % 3))) == DropDecision::kDrop;
  }
  ASSERT_EQ(drops, 1);
  d.Rebase();
  EXPECT_FALSE(d.in_drop());
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(d.Observe(2e5 * (1 + 0.01 * (i % 3))), DropDecision::kNone);
  bool again = false;
  for (int i = 0; i < 10 && !again; ++i) again = d.Observe(4e4) == DropDecision::kDrop;
  EXPECT_TRUE(again);
}

}  // namespace
}  // namespace tw::stats
