#include "stats/drop_detector_bank.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "stats/online_detector.h"

namespace tw::stats {
namespace {

// A rate series of one of several shapes: steady noise; a drop and a recovery; a shift smaller
// than min_drop; short stalls and idle stretches; bad values; bursts.
std::vector<double> Series(int kind, int bins, std::mt19937* rng) {
  std::uniform_real_distribution<double> u(0, 1);
  const double level = std::exp(8 + 6 * u(*rng));
  const double sigma = 0.05 + 0.5 * u(*rng);
  std::normal_distribution<double> noise(0, sigma);
  const int at = 20 + int(u(*rng) * (bins - 60)), len = 10 + int(u(*rng) * 60);
  const double depth = 0.05 + 0.55 * u(*rng);
  std::vector<double> x(static_cast<size_t>(bins));
  for (int t = 0; t < bins; ++t) {
    double v = level * std::exp(noise(*rng));
    const bool inside = t >= at && t < at + len;
    switch (kind) {
      case 1: v *= inside ? depth : 1; break;               // a drop, then back
      case 2: v *= t >= at ? 0.7 : 1; break;                // smaller than min_drop
      case 3: v = (t % 37 < 2 || (inside && t < at + 6)) ? 0 : v; break;  // stalls, idle
      case 4: v = u(*rng) < 0.02 ? (u(*rng) < 0.5 ? -1.0 : std::nan("")) : v; break;
      case 5: v *= u(*rng) < 0.05 ? 20 : 1; break;          // bursts
      case 6: v *= inside ? depth : (t >= at + len ? 0.3 : 1); break;  // stays low
      default: break;
    }
    x[size_t(t)] = v;
  }
  return x;
}

// The bank against one DropDetector per series, bin by bin: the same decisions, and the same
// state (bit for bit) behind every accessor.
TEST(DropDetectorBankTest, SameAsOneDetectorPerSeries) {
  std::mt19937 rng(11);
  constexpr int kSeries = 700, kBins = 300;
  DropDetectorBank bank;
  std::vector<DropDetector> solo(kSeries);
  std::vector<uint32_t> slot(kSeries);
  std::vector<std::vector<double>> x;
  for (int i = 0; i < kSeries; ++i) {
    slot[size_t(i)] = bank.Add();
    x.push_back(Series(i % 7, kBins, &rng));
  }
  EXPECT_EQ(bank.size(), size_t(kSeries));
  int drops = 0, recoveries = 0, rebased = 0;
  std::vector<std::pair<uint32_t, DropDecision>> got;
  for (int t = 0; t < kBins; ++t) {
    std::vector<std::pair<uint32_t, DropDecision>> want;
    for (int i = 0; i < kSeries; ++i) {
      if ((i + t) % 50 == 0) continue;  // now and then a series skips a bin
      bank.Set(slot[size_t(i)], x[size_t(i)][size_t(t)]);
      const DropDecision d = solo[size_t(i)].Observe(x[size_t(i)][size_t(t)]);
      if (d != DropDecision::kNone) want.emplace_back(slot[size_t(i)], d);
    }
    got.clear();
    bank.Observe(&got);
    std::sort(want.begin(), want.end());
    ASSERT_EQ(got, want) << "bin " << t;
    for (const auto& [s, d] : got) {
      drops += d == DropDecision::kDrop;
      recoveries += d == DropDecision::kRecovery;
      const size_t i = size_t(std::find(slot.begin(), slot.end(), s) - slot.begin());
      if (d == DropDecision::kDrop && i % 3 == 0) {  // as a caller that dismisses the drop
        bank.Rebase(s);
        solo[i].Rebase();
        ++rebased;
      }
    }
    for (int i = 0; i < kSeries; ++i) {
      const DropDetector& d = solo[size_t(i)];
      const uint32_t s = slot[size_t(i)];
      ASSERT_EQ(bank.in_drop(s), d.in_drop()) << i << " bin " << t;
      ASSERT_EQ(bank.bins_observed(s), d.bins_observed()) << i;
      ASSERT_EQ(bank.level_before(s), d.level_before()) << i << " bin " << t;
      ASSERT_EQ(bank.level_after(s), d.level_after()) << i << " bin " << t;
      if (d.bins_observed() > 0 && (d.in_drop() || d.level_after() > 0)) {
        ASSERT_EQ(bank.onset_bins_ago(s), d.onset_bins_ago()) << i;
      }
    }
  }
  // The input reached every path.
  EXPECT_GT(drops, 100);
  EXPECT_GT(recoveries, 30);
  EXPECT_GT(rebased, 20);
}

TEST(DropDetectorBankTest, RemovedSlotsAreReusedFresh) {
  DropDetectorBank bank;
  const uint32_t a = bank.Add(), b = bank.Add();
  std::vector<std::pair<uint32_t, DropDecision>> out;
  for (int t = 0; t < 10; ++t) {
    bank.Set(a, 1000);
    bank.Set(b, 1000);
    bank.Observe(&out);
  }
  bank.Remove(a);
  EXPECT_EQ(bank.size(), 1u);
  const uint32_t c = bank.Add();
  EXPECT_EQ(c, a);
  EXPECT_EQ(bank.bins_observed(c), 0);
  EXPECT_EQ(bank.level_before(c), 0);
  EXPECT_EQ(bank.bins_observed(b), 10);
  // Many more series than the first block: the bank grows and keeps every state.
  std::vector<uint32_t> more;
  for (int i = 0; i < 1000; ++i) more.push_back(bank.Add());
  EXPECT_EQ(bank.bins_observed(b), 10);
  EXPECT_GE(DropDetectorBank::bytes_per_series(), 200u);
}

}  // namespace
}  // namespace tw::stats
