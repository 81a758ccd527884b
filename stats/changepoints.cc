#include "stats/changepoints.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "stats/level.h"

namespace tw::stats {
namespace {

constexpr double kSeasonMinAutocorrelation = 0.3;
constexpr size_t kSeasonMaxPeriod = 400;

// Robust variance of the lag-k differences of x (x.size() > k): (MAD / 0.6745)^2, or 0 when more
// than half of the differences sit at their median (quantised or piecewise-constant data).
double LagVariance(std::span<const double> x, size_t k) {
  std::vector<double> d(x.size() - k);
  for (size_t i = 0; i + k < x.size(); ++i) d[i] = x[i + k] - x[i];
  const double spread = EstimateLevel(d).mad / 0.6745;
  return spread * spread;
}

// Mean absolute lag-1 difference around its median, as a Gaussian variance: the fallback scale
// when the MAD is 0.
double MeanAbsLag1Variance(std::span<const double> x) {
  std::vector<double> d(x.size() - 1);
  for (size_t i = 0; i + 1 < x.size(); ++i) d[i] = x[i + 1] - x[i];
  const double med = Median(d);
  double sum = 0;
  for (double v : d) sum += std::fabs(v - med);
  const double spread = sum / static_cast<double>(d.size()) * std::sqrt(std::acos(-1.0) / 2);
  return spread * spread;
}

struct Noise {
  double long_run_variance = 0;
  double phi = 0;
};

// The AR(1) variogram estimate described in the header (x.size() >= 4).
Noise EstimateNoise(std::span<const double> x, size_t horizon, double range) {
  const size_t k = std::clamp<size_t>(horizon, 1, x.size() / 4);
  double v1 = LagVariance(x, 1);
  double vk = LagVariance(x, k);
  if (v1 == 0) v1 = MeanAbsLag1Variance(x);
  if (vk == 0) vk = v1;  // no spread at lag k seen: no evidence of dependence
  const double floor = 1e-18 * range * range;
  v1 = std::max(v1, floor);
  vk = std::max(vk, v1);
  Noise noise;
  noise.phi = std::min(1 - v1 / vk, 0.999);
  const double gamma0 = vk / 2;
  noise.long_run_variance = gamma0 * (1 + noise.phi) / (1 - noise.phi);
  return noise;
}

// x minus its seasonal profile of period p (profile averaged to 0).
std::vector<double> Deseasonalize(std::span<const double> x, size_t p) {
  const size_t n = x.size();
  const size_t h = p / 2;
  std::vector<double> prefix(n + 1, 0);
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + x[i];
  // Centred moving average over one period (a 2 x p average for even p), defined on [h, n - h).
  auto window = [&](size_t lo, size_t len) {
    return (prefix[lo + len] - prefix[lo]) / static_cast<double>(len);
  };
  std::vector<std::vector<double>> by_phase(p);
  for (size_t t = h; t + h < n; ++t) {
    const double ma = p % 2 == 1 ? window(t - h, p) : (window(t - h, p) + window(t - h + 1, p)) / 2;
    by_phase[t % p].push_back(x[t] - ma);
  }
  std::vector<double> profile(p);
  double mean = 0;
  for (size_t ph = 0; ph < p; ++ph) {
    profile[ph] = MedianInPlace(by_phase[ph]);
    mean += profile[ph] / static_cast<double>(p);
  }
  std::vector<double> out(n);
  for (size_t t = 0; t < n; ++t) out[t] = x[t] - (profile[t % p] - mean);
  return out;
}

// Segment costs on the standardised series z from prefix sums: O(1) per segment.
class SegmentCost {
 public:
  SegmentCost(std::span<const double> z, SegmentModel model, double unit)
      : model_(model), unit_(unit), p1_(z.size() + 1), p2_(z.size() + 1), pt_(z.size() + 1) {
    for (size_t i = 0; i < z.size(); ++i) {
      p1_[i + 1] = p1_[i] + z[i];
      p2_[i + 1] = p2_[i] + z[i] * z[i];
      pt_[i + 1] = pt_[i] + static_cast<double>(i) * z[i];
    }
  }

  // Penalised cost of z[a, b) and whether the linear fit won; slope in z units per sample.
  double Cost(size_t a, size_t b, bool* linear = nullptr, double* slope = nullptr) const {
    const double m = static_cast<double>(b - a);
    const double sy = p1_[b] - p1_[a];
    const double sse_flat = std::max(p2_[b] - p2_[a] - sy * sy / m, 0.0);
    double best = std::numeric_limits<double>::infinity();
    if (model_ != SegmentModel::kLinear) best = sse_flat + unit_;
    if (linear != nullptr) *linear = false;
    if (slope != nullptr) *slope = 0;
    if (model_ != SegmentModel::kMean && b - a >= 3) {
      const double sxx = m * (m * m - 1) / 12;  // sum of (t - mean t)^2 over b - a indices
      const double tbar = static_cast<double>(a) + (m - 1) / 2;
      const double sxy = p_t(a, b) - tbar * sy;
      const double sse = std::max(sse_flat - sxy * sxy / sxx, 0.0);
      if (sse + 2 * unit_ < best) {
        best = sse + 2 * unit_;
        if (linear != nullptr) *linear = true;
        if (slope != nullptr) *slope = sxy / sxx;
      }
    }
    return best;
  }
  // The largest and smallest parameter penalty a segment can carry.
  double MaxParamPenalty() const { return model_ == SegmentModel::kMean ? unit_ : 2 * unit_; }
  double MinParamPenalty() const { return model_ == SegmentModel::kLinear ? 2 * unit_ : unit_; }

 private:
  double p_t(size_t a, size_t b) const { return pt_[b] - pt_[a]; }
  SegmentModel model_;
  double unit_;
  std::vector<double> p1_, p2_, pt_;
};

// Optimal partitioning of z with change cost beta, segments >= m long, pruned as in PELT
// (Killick, Fearnhead & Eckley 2012). Splitting a segment lowers its SSE, so
// C(t,u) >= C(t,s) + C(s,u) + kappa with kappa = min - 2 max parameter penalty; t is dropped
// once F(t) + C(t,s) + kappa >= F(s), and only for ends u >= s + m (where s is admissible).
std::vector<size_t> Partition(const SegmentCost& cost, size_t n, size_t m, double beta) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const double kappa = cost.MinParamPenalty() - 2 * cost.MaxParamPenalty();
  std::vector<double> f(n + 1, kInf);
  std::vector<size_t> last(n + 1, 0);
  f[0] = -beta;
  std::vector<size_t> candidates;                 // admissible starts of the last segment
  std::vector<std::pair<size_t, size_t>> doomed;  // (candidate, step from which it is dropped)
  for (size_t s = m; s <= n; ++s) {
    if (s - m == 0 || s - m >= m) candidates.push_back(s - m);
    if (!doomed.empty()) {
      std::vector<size_t> drop;
      auto keep = doomed.begin();
      for (auto it = doomed.begin(); it != doomed.end(); ++it) {
        if (it->second <= s) {
          drop.push_back(it->first);
        } else {
          *keep++ = *it;
        }
      }
      doomed.erase(keep, doomed.end());
      std::sort(drop.begin(), drop.end());
      std::erase_if(candidates,
                    [&drop](size_t t) { return std::binary_search(drop.begin(), drop.end(), t); });
    }
    double best = kInf;
    size_t arg = 0;
    for (size_t t : candidates) {
      const double v = f[t] + beta + cost.Cost(t, s);
      if (v < best) {
        best = v;
        arg = t;
      }
    }
    f[s] = best;
    last[s] = arg;
    for (size_t t : candidates) {
      if (f[t] + cost.Cost(t, s) + kappa >= f[s] && t != s) doomed.emplace_back(t, s + m);
    }
    std::sort(doomed.begin(), doomed.end());
    doomed.erase(std::unique(doomed.begin(), doomed.end(),
                             [](const auto& l, const auto& r) { return l.first == r.first; }),
                 doomed.end());
  }
  std::vector<size_t> changes;
  for (size_t s = last[n]; s > 0; s = last[s]) changes.push_back(s);
  std::reverse(changes.begin(), changes.end());
  return changes;
}

}  // namespace

int DetectSeasonPeriod(std::span<const double> x) {
  const size_t n = x.size();
  if (n < 9) return 0;
  std::vector<double> d(n - 1);
  for (size_t i = 0; i + 1 < n; ++i) d[i] = x[i + 1] - x[i];
  double mean = 0;
  for (double v : d) mean += v / static_cast<double>(d.size());
  double var = 0;
  for (double& v : d) {
    v -= mean;
    var += v * v;
  }
  if (!(var > 0)) return 0;
  // The autocorrelation at every candidate lag; multiples of the period score about as high as
  // the period itself, so the shortest peak within 10 % of the best is taken.
  const size_t max_p = std::min(n / 4, kSeasonMaxPeriod);
  std::vector<double> r(max_p + 1, 0);
  double best_r = 0;
  for (size_t p = 2; p <= max_p; ++p) {
    double acc = 0;
    for (size_t i = 0; i + p < d.size(); ++i) acc += d[i] * d[i + p];
    r[p] = acc / var;
    best_r = std::max(best_r, r[p]);
  }
  if (best_r <= kSeasonMinAutocorrelation) return 0;
  int best_p = 0;
  for (size_t p = 2; p <= max_p && best_p == 0; ++p) {
    const bool peak = r[p] >= r[p - 1] && (p == max_p || r[p] >= r[p + 1]);
    if (peak && r[p] >= 0.9 * best_r) best_p = static_cast<int>(p);
  }
  return best_p;
}

ChangepointResult FindChangepoints(std::span<const double> x, const ChangepointParams& params) {
  ChangepointResult result;
  const size_t n = x.size();
  const size_t m = std::max<size_t>(params.min_segment, 2);
  const auto [min_it, max_it] =
      n == 0 ? std::pair(x.end(), x.end()) : std::minmax_element(x.begin(), x.end());
  const double range = n == 0 ? 0 : *max_it - *min_it;
  if (n < 2 * m || n < 4 || !(range > 0)) {
    if (n > 0) result.segments.push_back({0, n, x[0], 0});
    if (n > 0 && range > 0) {
      double sum = 0;
      for (double v : x) sum += v;
      result.segments.back().level = sum / static_cast<double>(n);
    }
    return result;
  }

  int period = params.season_period;
  if (period == 0) period = DetectSeasonPeriod(x);
  if (period < 2 || static_cast<size_t>(period) * 2 > n) period = 0;
  result.season_period = period;
  std::vector<double> y = period > 0 ? Deseasonalize(x, static_cast<size_t>(period))
                                     : std::vector<double>(x.begin(), x.end());

  const Noise noise = EstimateNoise(y, params.horizon, range);
  result.phi = noise.phi;
  const double scale = std::sqrt(noise.long_run_variance);
  double center = 0;
  for (double v : y) center += v / static_cast<double>(n);
  for (double& v : y) v = (v - center) / scale;

  const double per_change = params.penalty > 0 ? params.penalty : 3 * std::log(double(n));
  const double unit = per_change / 3;
  const SegmentCost cost(y, params.model, unit);
  result.changes = Partition(cost, n, m, 2 * unit);

  size_t start = 0;
  for (size_t i = 0; i <= result.changes.size(); ++i) {
    const size_t end = i < result.changes.size() ? result.changes[i] : n;
    ChangepointSegment seg{start, end, 0, 0};
    for (size_t t = start; t < end; ++t) seg.level += x[t] / static_cast<double>(end - start);
    bool linear = false;
    double slope = 0;
    cost.Cost(start, end, &linear, &slope);
    if (linear) seg.slope = slope * scale;
    result.segments.push_back(seg);
    start = end;
  }
  return result;
}

void FillMissing(bool skip, std::vector<double>* x) {
  std::vector<double>& v = *x;
  if (skip) {
    std::erase_if(v, [](double d) { return std::isnan(d); });
    return;
  }
  size_t prev = v.size();  // index of the last finite value seen, v.size() if none
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) continue;
    const size_t from = prev == v.size() ? 0 : prev + 1;
    for (size_t j = from; j < i; ++j) {
      v[j] = prev == v.size() ? v[i]
                              : v[prev] + (v[i] - v[prev]) * double(j - prev) / double(i - prev);
    }
    prev = i;
  }
  if (prev == v.size()) {
    v.clear();
    return;
  }
  for (size_t j = prev + 1; j < v.size(); ++j) v[j] = v[prev];
}

}  // namespace tw::stats
