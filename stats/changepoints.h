#ifndef THROTTLEWATCH_STATS_CHANGEPOINTS_H_
#define THROTTLEWATCH_STATS_CHANGEPOINTS_H_

#include <cstddef>
#include <span>
#include <vector>

namespace tw::stats {

// Change points of an arbitrary measured series (the `changepoints` command), robust to what
// real series carry besides changes: autocorrelated noise, trends and seasonal cycles.
//
//   1. Season: with season_period 0 the period p is the lag in [2, min(n/4, 400)] where the
//      autocorrelation of the first differences is largest (the shortest peak within 10 % of
//      it, not a multiple of the period), kept when it exceeds 0.3; the
//      seasonal profile (per phase, the median deviation from a centred moving average over one
//      period) is subtracted. A step survives this (the profile is a median over cycles).
//   2. Noise: the robust variance v_k of lag-k differences (MAD / 0.6745, squared; a median
//      absolute deviation of zero counts as "no dependence seen") at k = 1 and k = horizon
//      gives an AR(1) variogram: gamma0 = v_K / 2, phi = 1 - v_1 / v_K, and the long-run
//      variance gamma0 (1 + phi) / (1 - phi) by which the cost is scaled. Unlike v_1 alone,
//      autocorrelation does not shrink it, so a wandering series does not become a staircase.
//   3. Cost: optimal partitioning (exact, with PELT pruning) of
//        sum over segments of [SSE / long-run variance + u * params] + 2 u * changes,
//      with u = log n (so a mean change costs 3 log n as in MBIC) and params 1 for a flat
//      segment, 2 for a linear trend; with model kAuto each segment takes the cheaper of the
//      two, so a trend is one segment, not a staircase.
enum class SegmentModel { kAuto, kMean, kLinear };

struct ChangepointParams {
  SegmentModel model = SegmentModel::kAuto;
  // Penalty per change of a flat segment, in long-run noise variances; a linear segment pays
  // penalty / 3 more. <= 0 selects 3 log n.
  double penalty = 0;
  size_t min_segment = 5;  // shortest segment in samples (values < 2 count as 2)
  size_t horizon = 16;     // lag K of the noise variogram (clamped to [1, n / 4])
  int season_period = 0;   // 0: detect; < 0: none; p >= 2: remove a cycle of p samples
};

struct ChangepointSegment {
  size_t start = 0;  // first index
  size_t end = 0;    // one past the last
  double level = 0;  // mean of the input over the segment (seasonal cycle included)
  double slope = 0;  // per sample, for a linear segment of the deseasonalised series; else 0
};

struct ChangepointResult {
  std::vector<size_t> changes;  // sorted indices where a new segment starts (0 < i < n)
  std::vector<ChangepointSegment> segments;
  int season_period = 0;  // the removed cycle, 0 if none
  double phi = 0;         // the variogram's lag-1 autocorrelation
};

// x must be finite. A series shorter than 2 * min_segment, or constant, has no change points.
// O(n^2) worst case, much less when changes are frequent (pruning); allocates O(n).
ChangepointResult FindChangepoints(std::span<const double> x, const ChangepointParams& params);

// The seasonal period that step 1 above would remove, or 0.
int DetectSeasonPeriod(std::span<const double> x);

// Replaces NaN entries: by linear interpolation between the nearest finite neighbours (the
// nearest one at either end), or, with skip, removes them. All-NaN input becomes empty.
void FillMissing(bool skip, std::vector<double>* x);

}  // namespace tw::stats

#endif  // THROTTLEWATCH_STATS_CHANGEPOINTS_H_
