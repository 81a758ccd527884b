#include "stats/segmentation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "stats/level.h"

namespace tw::stats {
namespace {

// Robust noise standard deviation of x (size >= 2) under a piecewise-constant mean: a mean shift
// touches one first difference only, so the MAD of the differences sees the noise alone.
// Var(x[i+1] - x[i]) = 2 sigma^2, and MAD / 0.6745 estimates a Gaussian standard deviation:
// sigma^2 = (MAD(diff) / 0.6745)^2 / 2. When more than half of the differences are equal (e.g.
// quantised counts), the MAD is 0; then the mean absolute deviation of the differences
// (times sqrt(pi/2) for a Gaussian) is used instead. Both are floored at 1e-9 of the value range
// so that a noise-free series still has a finite, positive scale.
double NoiseSigma(std::span<const double> x, double range) {
  std::vector<double> diff(x.size() - 1);
  for (size_t i = 0; i + 1 < x.size(); ++i) diff[i] = x[i + 1] - x[i];
  const Level level = EstimateLevel(diff);
  double spread = level.mad / 0.6745;
  if (spread == 0) {
    double sum = 0;
    for (double d : diff) sum += std::fabs(d - level.median);
    spread = sum / static_cast<double>(diff.size()) * std::sqrt(std::acos(-1.0) / 2);
  }
  return std::max(spread / std::sqrt(2.0), 1e-9 * range);
}

// One piece of the functional cost: on [lo, hi] of the segment mean, candidate `tau` (start of
// the last segment) gives the lowest penalised cost among the candidates inserted so far.
struct Piece {
  double lo;
  double hi;
  size_t tau;
};

}  // namespace

// Exact optimal partitioning of the standardised series z = (x - mean) / sigma:
//   minimise  sum over segments of SSE(z_segment) + beta * (number of changes),
// every segment at least min_segment long, beta = params.penalty, or 3 log n if penalty <= 0
// (the per-change part of MBIC; MBIC's segment-length term is left out, because it depends on
// the segment length and so would break the functional pruning below).
//
// Pruning. Plain PELT (inequality pruning) only discards candidates before the latest true
// change, so with few changes its candidate set grows with the segment length and the run time
// is quadratic (Maidstone et al. 2017, "On optimal multiple changepoint algorithms for large
// data"). We prune functionally instead (FPOP): candidate tau's cost as a function of the last
// segment's mean mu is q_tau(mu) = F(tau) + beta + sum_{tau <= i < s} (z_i - mu)^2, and tau
// survives only while it is the lowest q on some interval of mu. The difference of two
// candidates' q does not change with s, so the partition of mu changes only when a candidate is
// inserted; every candidate PELT prunes is pruned here too, and the result is the same exact
// optimum. A candidate tau is inserted at s = tau + min_segment, when it becomes admissible.
std::vector<size_t> SegmentPelt(std::span<const double> x, const SegmentationParams& params) {
  const size_t n = x.size();
  if (n < 2) return {};
  const auto [min_it, max_it] = std::minmax_element(x.begin(), x.end());
  const double range = *max_it - *min_it;
  if (!(range > 0)) return {};  // constant (or non-finite) series
  const size_t m = std::max<size_t>(params.min_segment, 1);
  if (n < 2 * m) return {};

  const double sigma = NoiseSigma(x, range);
  double center = 0;
  for (double v : x) center += v;
  center /= static_cast<double>(n);
  const double beta = params.penalty > 0 ? params.penalty : 3 * std::log(static_cast<double>(n));

  // Prefix sums of z and z^2: p1[k] = sum_{i<k} z_i.
  std::vector<double> p1(n + 1), p2(n + 1);
  for (size_t i = 0; i < n; ++i) {
    const double z = (x[i] - center) / sigma;
    p1[i + 1] = p1[i] + z;
    p2[i + 1] = p2[i] + z * z;
  }
  const double zlo = (*min_it - center) / sigma;
  const double zhi = (*max_it - center) / sigma;

  // f[s]: optimal cost of z[0, s), with f[0] = -beta so that the first segment pays no penalty.
  // last[s]: start of the last segment in that optimum.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> f(n + 1, kInf);
  std::vector<size_t> last(n + 1, 0);
  f[0] = -beta;

  std::vector<Piece> pieces, next;
  for (size_t s = m; s <= n; ++s) {
    const size_t tau = s - m;
    if (tau == 0) {
      pieces.push_back({zlo, zhi, 0});
    } else if (tau >= m) {
      // Insert tau: on each piece of candidate j, d(mu) = q_j(mu) - q_tau(mu)
      //   = a mu^2 - 2 b mu + c with a = tau - j > 0, so tau wins outside the roots of d.
      next.clear();
      auto emit = [&next](double lo, double hi, size_t t) {
        if (!(lo < hi)) return;
        if (!next.empty() && next.back().tau == t) {
          next.back().hi = hi;
        } else {
          next.push_back({lo, hi, t});
        }
      };
      for (const Piece& pc : pieces) {
        const size_t j = pc.tau;
        const double a = static_cast<double>(tau - j);
        const double mean = (p1[tau] - p1[j]) / a;
        const double c = f[j] - f[tau] + p2[tau] - p2[j];
        const double disc = mean * mean - c / a;
        if (disc <= 0) {
          emit(pc.lo, pc.hi, tau);
          continue;
        }
        const double r = std::sqrt(disc);
        const double keep_lo = std::max(pc.lo, mean - r);
        const double keep_hi = std::min(pc.hi, mean + r);
        if (!(keep_lo < keep_hi)) {
          emit(pc.lo, pc.hi, tau);
          continue;
        }
        emit(pc.lo, keep_lo, tau);
        emit(keep_lo, keep_hi, j);
        emit(keep_hi, pc.hi, tau);
      }
      pieces.swap(next);
    }

    // f[s] = min over pieces of min over mu in the piece of q_tau(mu).
    double best = kInf;
    size_t arg = 0;
    for (const Piece& pc : pieces) {
      const size_t j = pc.tau;
      const double a = static_cast<double>(s - j);
      const double s1 = p1[s] - p1[j];
      const double mean = s1 / a;
      const double mu = std::clamp(mean, pc.lo, pc.hi);
      const double val = f[j] + beta + (p2[s] - p2[j] - s1 * mean) + a * (mu - mean) * (mu - mean);
      if (val < best) {
        best = val;
        arg = j;
      }
    }
    f[s] = best;
    last[s] = arg;
  }

  std::vector<size_t> changes;
  for (size_t s = last[n]; s > 0; s = last[s]) changes.push_back(s);
  std::reverse(changes.begin(), changes.end());
  return changes;
}

namespace {
// Sum of |v - median(v)|; reorders v.
double AbsDeviationFromMedian(std::vector<double>* v) {
  if (v->empty()) return 0;
  const size_t mid = v->size() / 2;
  std::nth_element(v->begin(), v->begin() + static_cast<long>(mid), v->end());
  const double med = (*v)[mid];
  double sum = 0;
  for (double x : *v) sum += std::fabs(x - med);
  return sum;
}
}  // namespace

size_t BestSingleChangeRobust(std::span<const double> x, size_t earliest) {
  const size_t n = x.size();
  size_t best = 0;
  double best_cost = 0;
  std::vector<double> left, right;
  for (size_t k = std::max<size_t>(earliest, 1); k < n; ++k) {
    left.assign(x.begin(), x.begin() + static_cast<long>(k));
    right.assign(x.begin() + static_cast<long>(k), x.end());
    const double cost = AbsDeviationFromMedian(&left) + AbsDeviationFromMedian(&right);
    if (best == 0 || cost < best_cost) {
      best = k;
      best_cost = cost;
    }
  }
  return best;
}

void LogTransform(std::span<const double> in, double floor, std::vector<double>* out) {
  out->resize(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const double v = in[i] > 0 ? in[i] : 0;  // also maps NaN to 0
    (*out)[i] = std::log(v + floor);
  }
}

}  // namespace tw::stats
