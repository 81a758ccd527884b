#include "stats/online_detector.h"

#include <algorithm>
#include <cmath>

#include "stats/level.h"

namespace tw::stats {
namespace {

// Least CUSUM reference value (allowance) per bin, in units of the effective scale; see Drift().
constexpr double kDrift = 0.5;
// E|y - mu| = sigma * sqrt(2 / pi) for a Gaussian; this converts the mean absolute deviation.
constexpr double kMadToSigma = 1.2533;
// Baseline updates are Huber-clipped at this many effective scales, so one burst moves the
// baseline by at most alpha * kHuber scales.
constexpr double kHuber = 3.0;
// Width, in standard errors, of the interval on a run's mean level that decides a run: a drop
// is confirmed only when the whole interval is beyond the min_drop bound, and a run is
// dismissed as too small only when the whole interval is short of it.
constexpr double kConfidence = 2.0;

DropDetectorParams Sanitize(DropDetectorParams p) {
  p.warmup_bins = std::clamp(p.warmup_bins, 1, 16);
  p.min_bins = std::max(p.min_bins, 1);
  p.max_zero_run = std::max(p.max_zero_run, 0);
  return p;
}

}  // namespace

DropDetector::DropDetector(const DropDetectorParams& params)
    : p_(Sanitize(params)),
      drop_log_(-std::log1p(-p_.min_drop)),
      recovery_log_(std::log1p(-p_.min_drop / 2)) {}

double DropDetector::level_before() const {
  if (dropped_) return std::exp(mu_before_);
  return warm_ > 0 ? std::exp(mu_) : 0.0;
}

double DropDetector::level_after() const {
  return after_n_ > 0 ? std::exp(after_sum_ / after_n_) : 0.0;
}

void DropDetector::Rebase() {
  if (!in_drop_ || after_n_ == 0) return;
  mu_ = after_sum_ / after_n_;
  in_drop_ = false;
  dropped_ = false;
  ClearExcursion();
  ClearUpExcursion();
}

double DropDetector::NoiseScale() const { return std::max(kMadToSigma * mad_, p_.min_scale); }

double DropDetector::HalfWidth(int count) const {
  return kConfidence * NoiseScale() / std::sqrt(count);
}

double DropDetector::SigmaEff() const {
  // Floored so that a min_drop drop is at most two effective scales: on a smooth series, the
  // drift, clip and threshold stay in units of the smallest reportable drop instead of a tiny
  // noise scale, and a drop smaller than min_drop adds less than Drift() per bin.
  return std::max(NoiseScale(), drop_log_ / 2);
}

double DropDetector::Drift() const {
  // Page's reference value for the smallest shift of interest (a min_drop drop is
  // -log(1 - min_drop) in log units): half of it, so that bins halfway to such a drop add no
  // evidence. It is 1 on a smooth series (where the drop is two effective scales) and never
  // below kDrift. Compared with a fixed 0.5, noise before a change starts far fewer excursions,
  // which makes the onset (where the excursion began) and the level after it much more
  // accurate, at the cost of one more bin before an alarm.
  return std::max(kDrift, drop_log_ / (2 * SigmaEff()));
}

void DropDetector::ClearExcursion() {
  s_ = 0;
  run_ = 0;
  exc_sum_ = 0;
  exc_dev_ = 0;
  exc_n_ = 0;
}

void DropDetector::ClearUpExcursion() {
  up_s_ = 0;
  up_run_ = 0;
  up_sum_ = 0;
  up_n_ = 0;
}

void DropDetector::Disarm() {
  warm_ = 0;
  ClearExcursion();
  ClearUpExcursion();
}

void DropDetector::Learn(double y) {
  warm_vals_[warm_++] = y;
  // Median, and the median absolute deviation from it scaled to a mean absolute deviation
  // (x 1.2533 * 0.6745 for a Gaussian): robust to a partial first bin or a start-up burst.
  double v[kMaxWarmup];
  std::copy(warm_vals_, warm_vals_ + warm_, v);
  std::sort(v, v + warm_);
  mu_ = MedianOfSorted({v, size_t(warm_)});
  double dev[kMaxWarmup];
  for (int i = 0; i < warm_; ++i) dev[i] = std::fabs(v[i] - mu_);
  std::sort(dev, dev + warm_);
  mad_ = 1.2533 * 0.6745 * MedianOfSorted({dev, size_t(warm_)});
}

void DropDetector::UpdateBaseline(double y_mean, double dev_mean, int count) {
  const double w = count == 1 ? p_.alpha : 1 - std::pow(1 - p_.alpha, count);
  const double bound = kHuber * SigmaEff();
  mu_ += w * std::clamp(y_mean - mu_, -bound, bound);
  mad_ += w * (std::min(dev_mean, bound) - mad_);
}

DropDecision DropDetector::Observe(double x) {
  ++n_;
  if (!(x > 0 && std::isfinite(x))) x = 0;  // NaN, infinite and negative values too
  if (x == 0) {
    if (++zero_run_ > p_.max_zero_run) {
      // Idle. Outside a drop, the baseline is relearned when the source resumes. In a drop,
      // the levels before and since it are what a recovery is judged by, and idleness changes
      // neither: a rise in the making is forgotten, and the first bins after the pause are
      // judged at once (a sender stalled by retransmission timeouts under a limiter resumes at
      // the path's rate the moment the limit lifts; relearning first would put the end late).
      if (in_drop_) {
        ClearUpExcursion();
      } else {
        Disarm();
      }
      return DropDecision::kNone;
    }
    if (warm_ < p_.warmup_bins) return DropDecision::kNone;
    return in_drop_ ? StepUp(0, true) : StepDown(0, true);
  }
  zero_run_ = 0;
  const double y = std::log(x);
  if (warm_ < p_.warmup_bins) {
    Learn(y);
    return DropDecision::kNone;
  }
  return in_drop_ ? StepUp(y, false) : StepDown(y, false);
}

DropDecision DropDetector::StepDown(double y, bool zero) {
  const double z = zero ? p_.clip : std::min((mu_ - y) / SigmaEff(), p_.clip);
  const double s = std::max(0.0, s_ + z - Drift());
  if (s == 0) {
    // No change suspected: the excursion (if any) was noise; the baseline learns it and this bin.
    if (exc_n_ > 0) UpdateBaseline(exc_sum_ / exc_n_, exc_dev_ / exc_n_, exc_n_);
    ClearExcursion();
    if (!zero) UpdateBaseline(y, std::fabs(y - mu_), 1);
    return DropDecision::kNone;
  }
  s_ = s;
  ++run_;
  if (!zero) {
    exc_sum_ += y;
    exc_dev_ += std::fabs(y - mu_);
    ++exc_n_;
  }
  if (run_ < p_.min_bins || exc_n_ == 0) return DropDecision::kNone;
  const double deficit = mu_ - exc_sum_ / exc_n_;
  const double half = HalfWidth(exc_n_);
  // Alarm, confirmed: the drop is at least min_drop, with confidence.
  if (s_ >= p_.threshold && deficit - half >= drop_log_) {
    in_drop_ = true;
    dropped_ = true;
    mu_before_ = mu_;
    after_sum_ = exc_sum_;
    after_n_ = exc_n_;
    onset_bins_ago_ = run_ - 1;
    ClearExcursion();
    ClearUpExcursion();
    return DropDecision::kDrop;
  }
  if (run_ >= 2 * p_.min_bins && deficit + half < drop_log_) {
    // A sustained shift confidently smaller than min_drop (e.g. less demand, or a baseline
    // learned too high): it becomes the new baseline instead of freezing it.
    mu_ -= deficit;
    ClearExcursion();
  }
  return DropDecision::kNone;
}

DropDecision DropDetector::StepUp(double y, bool zero) {
  const double mu_after = after_sum_ / after_n_;
  const double z = zero ? -p_.clip : std::min((y - mu_after) / SigmaEff(), p_.clip);
  const double u = std::max(0.0, up_s_ + z - Drift());
  if (u == 0) {
    // Still at the level after the drop: the pending bins and this one belong to it.
    after_sum_ += up_sum_;
    after_n_ += up_n_;
    ClearUpExcursion();
    if (!zero) {
      after_sum_ += y;
      ++after_n_;
    }
    return DropDecision::kNone;
  }
  up_s_ = u;
  ++up_run_;
  if (!zero) {
    up_sum_ += y;
    ++up_n_;
  }
  if (up_run_ < p_.min_bins || up_n_ == 0) return DropDecision::kNone;
  const double level = up_sum_ / up_n_;
  const double bound = mu_before_ + recovery_log_;
  // Alarm, confirmed by the mean level of the rise reaching the recovery bound (a point
  // estimate: a missed recovery would hide the next drop, a premature one only shortens this).
  if (up_s_ >= p_.threshold && level >= bound) {
    in_drop_ = false;
    mu_ = level;
    onset_bins_ago_ = up_run_ - 1;
    ClearUpExcursion();
    ClearExcursion();
    return DropDecision::kRecovery;
  }
  const double half = HalfWidth(up_n_);
  if (up_run_ >= 2 * p_.min_bins && level + half < bound) {
    // A rise confidently short of a recovery. If it is also confidently more than half a
    // min_drop step above the level after the drop, the throttled rate changed: track the new
    // plateau. Otherwise the rise is part of the level after the drop.
    if (level - half > after_sum_ / after_n_ + drop_log_ / 2) {
      after_sum_ = 0;
      after_n_ = 0;
    }
    after_sum_ += up_sum_;
    after_n_ += up_n_;
    ClearUpExcursion();
  }
  return DropDecision::kNone;
}

}  // namespace tw::stats
