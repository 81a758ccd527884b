#ifndef THROTTLEWATCH_STATS_LEVEL_H_
#define THROTTLEWATCH_STATS_LEVEL_H_

#include <span>
#include <vector>

namespace tw::stats {

// A robust level estimate of a plateau, e.g. the rate a throttled flow settles on.
struct Level {
  double median = 0;  // the level
  double mad = 0;     // median absolute deviation (spread), same units
  int n = 0;          // samples used
};

// The project's one median. For an even count, the midpoint of the two middle values; 0 for an
// empty input. Median() copies x; MedianInPlace() reorders v instead; MedianOfSorted() needs x
// sorted and touches nothing.
double Median(std::span<const double> x);
double MedianInPlace(std::vector<double>& v);
double MedianOfSorted(std::span<const double> sorted);

// Median and MAD of x (x is not modified; allocates a copy). Empty input gives n == 0.
Level EstimateLevel(std::span<const double> x);

}  // namespace tw::stats

#endif  // THROTTLEWATCH_STATS_LEVEL_H_
