#include "stats/level.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace tw::stats {
namespace {

// Median of v (non-empty); reorders v. For even sizes, the mean of the two middle values.
double MedianInPlace(std::vector<double>& v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  // After nth_element every element before mid is <= upper; the lower middle is their maximum.
  const double lower = *std::max_element(v.begin(), v.begin() + mid);
  return lower + (upper - lower) / 2;
}

}  // namespace

Level EstimateLevel(std::span<const double> x) {
  Level level;
  if (x.empty()) return level;
  std::vector<double> v(x.begin(), x.end());
  level.median = MedianInPlace(v);
  for (double& d : v) d = std::fabs(d - level.median);
  level.mad = MedianInPlace(v);
  level.n = static_cast<int>(x.size());
  return level;
}

}  // namespace tw::stats
