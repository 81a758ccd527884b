#ifndef THROTTLEWATCH_STATS_SEGMENTATION_H_
#define THROTTLEWATCH_STATS_SEGMENTATION_H_

#include <cstddef>
#include <span>
#include <vector>

namespace tw::stats {

// Offline multiple change-point segmentation of a series under a Gaussian mean-shift model
// with a robust noise estimate (sigma^2 = (MAD of first differences / 0.6745)^2 / 2), minimising
// sum of squared errors / sigma^2 + penalty * changes.
struct SegmentationParams {
  // Penalty per change point, in units of the noise variance. <= 0 selects the per-change part
  // of MBIC (Zhang & Siegmund 2007): 3 log n (its segment-length term is not used).
  double penalty = 0;
  size_t min_segment = 2;  // shortest segment allowed, in samples (values < 1 count as 1)
};

// The exact minimiser of the penalised cost (optimal partitioning), as PELT (Killick, Fearnhead
// & Eckley 2012) would return it, computed with functional pruning (FPOP, Maidstone et al.
// 2017), which prunes everything PELT prunes and more: PELT's pruning alone is quadratic when
// changes are few (its candidate set grows with the segment length).
// x must be finite. Returns the sorted indices i where a new segment starts (0 < i < x.size()).
// Empty input, a constant series, or one shorter than 2 * min_segment gives no change points.
// About O(n log n) in practice whether changes are few or many; O(n^2) worst case.
// Allocates O(n); thread-compatible.
std::vector<size_t> SegmentPelt(std::span<const double> x, const SegmentationParams& params = {});

// The single best change point of a short series under a median-shift model: the split k that
// minimises the absolute deviations of x[0, k) from their median plus those of x[k, n) from
// theirs, searched in [max(1, earliest), n - 1]; ties go to the smallest index. Unlike squared
// error, a few outlying values (a burst among the bins before a drop) cannot draw the split to
// themselves. `earliest` confines the search when the change is known to be recent while the
// bins before it still describe the level before. Returns 0 when no candidate is left.
// O(n^2 log n): meant for windows of tens of values. Allocates O(n).
size_t BestSingleChangeRobust(std::span<const double> x, size_t earliest = 0);

// Log transform for rate series used by the engines: log(x + floor) with floor > 0; negative
// and NaN x count as 0. Resizes *out to in.size().
void LogTransform(std::span<const double> in, double floor, std::vector<double>* out);

}  // namespace tw::stats

#endif  // THROTTLEWATCH_STATS_SEGMENTATION_H_
