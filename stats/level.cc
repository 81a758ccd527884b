#include "stats/level.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace tw::stats {
namespace {

double Midpoint(double lower, double upper) { return lower + (upper - lower) / 2; }

}  // namespace

double MedianInPlace(std::vector<double>& v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  // After nth_element every element before mid is <= upper; the lower middle is their maximum.
  return Midpoint(*std::max_element(v.begin(), v.begin() + mid), upper);
}

double Median(std::span<const double> x) {
  std::vector<double> v(x.begin(), x.end());
  return MedianInPlace(v);
}

double MedianOfSorted(std::span<const double> sorted) {
  const size_t n = sorted.size();
  if (n == 0) return 0;
  return n % 2 == 1 ? sorted[n / 2] : Midpoint(sorted[n / 2 - 1], sorted[n / 2]);
}

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
