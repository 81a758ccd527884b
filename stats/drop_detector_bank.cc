#include "stats/drop_detector_bank.h"

#include <algorithm>
#include <cmath>

namespace tw::stats {

namespace {

// Lanes per block: the block's temporaries (a dozen arrays of doubles) stay in the L1 cache.
constexpr Eigen::Index kBlock = 256;
using Block = Eigen::Array<double, Eigen::Dynamic, 1, 0, kBlock, 1>;
using IntBlock = Eigen::Array<int, Eigen::Dynamic, 1, 0, kBlock, 1>;

// What pass 1 found a lane to need this bin.
enum Lane : uint8_t { kSkip, kSteady, kInDrop, kIdle, kScalar };

}  // namespace

DropDetectorBank::DropDetectorBank(const DropDetectorParams& params)
    : proto_(params), scratch_(params) {}

size_t DropDetectorBank::bytes_per_series() {
  return 11 * sizeof(double) + 8 * sizeof(int) + sizeof(int64_t) + 4 * sizeof(uint8_t) +
         DropDetector::kMaxWarmup * sizeof(double) + sizeof(uint32_t);
}

void DropDetectorBank::Grow() {
  const size_t cap = std::max<size_t>(64, 2 * capacity_);
  const auto grow = [&](auto& a) {
    a.conservativeResize(Eigen::Index(cap));
    a.tail(Eigen::Index(cap - capacity_)).setZero();
  };
  for (Eigen::ArrayXd* a : {&x_, &y_, &mu_, &mad_, &s_, &exc_sum_, &exc_dev_, &mu_before_,
                            &after_sum_, &up_s_, &up_sum_}) {
    grow(*a);
  }
  for (Eigen::ArrayXi* a : {&warm_, &run_, &zero_run_, &exc_n_, &after_n_, &up_run_, &up_n_,
                            &onset_}) {
    grow(*a);
  }
  grow(n_);
  for (auto* a : {&in_drop_, &dropped_, &marked_, &used_}) grow(*a);
  warm_vals_.resize(cap * DropDetector::kMaxWarmup);
  for (size_t i = cap; i-- > capacity_;) free_.push_back(uint32_t(i));  // lowest slots first
  capacity_ = cap;
}

uint32_t DropDetectorBank::Add() {
  if (free_.empty()) Grow();
  const uint32_t slot = free_.back();
  free_.pop_back();
  Store(slot, proto_);
  used_[slot] = 1;
  marked_[slot] = 0;
  ++in_use_;
  return slot;
}

void DropDetectorBank::Remove(uint32_t slot) {
  used_[slot] = 0;
  marked_[slot] = 0;
  free_.push_back(slot);
  --in_use_;
}

DropDetector DropDetectorBank::Load(uint32_t i) const {
  DropDetector d = proto_;
  LoadInto(i, &d);
  return d;
}

void DropDetectorBank::LoadInto(uint32_t i, DropDetector* dp) const {
  DropDetector& d = *dp;
  d.n_ = n_[i];
  d.warm_ = warm_[i];
  std::copy_n(&warm_vals_[size_t(i) * DropDetector::kMaxWarmup], d.warm_, d.warm_vals_);
  d.mu_ = mu_[i];
  d.mad_ = mad_[i];
  d.s_ = s_[i];
  d.run_ = run_[i];
  d.zero_run_ = zero_run_[i];
  d.exc_sum_ = exc_sum_[i];
  d.exc_dev_ = exc_dev_[i];
  d.exc_n_ = exc_n_[i];
  d.in_drop_ = in_drop_[i] != 0;
  d.dropped_ = dropped_[i] != 0;
  d.mu_before_ = mu_before_[i];
  d.after_sum_ = after_sum_[i];
  d.after_n_ = after_n_[i];
  d.up_s_ = up_s_[i];
  d.up_run_ = up_run_[i];
  d.up_sum_ = up_sum_[i];
  d.up_n_ = up_n_[i];
  d.onset_bins_ago_ = onset_[i];
}

void DropDetectorBank::Store(uint32_t i, const DropDetector& d) {
  n_[i] = d.n_;
  warm_[i] = d.warm_;
  std::copy_n(d.warm_vals_, d.warm_, &warm_vals_[size_t(i) * DropDetector::kMaxWarmup]);
  mu_[i] = d.mu_;
  mad_[i] = d.mad_;
  s_[i] = d.s_;
  run_[i] = d.run_;
  zero_run_[i] = d.zero_run_;
  exc_sum_[i] = d.exc_sum_;
  exc_dev_[i] = d.exc_dev_;
  exc_n_[i] = d.exc_n_;
  in_drop_[i] = d.in_drop_ ? 1 : 0;
  dropped_[i] = d.dropped_ ? 1 : 0;
  mu_before_[i] = d.mu_before_;
  after_sum_[i] = d.after_sum_;
  after_n_[i] = d.after_n_;
  up_s_[i] = d.up_s_;
  up_run_[i] = d.up_run_;
  up_sum_[i] = d.up_sum_;
  up_n_[i] = d.up_n_;
  onset_[i] = d.onset_bins_ago_;
}

void DropDetectorBank::Rebase(uint32_t slot) {
  DropDetector d = Load(slot);
  d.Rebase();
  Store(slot, d);
}

void DropDetectorBank::Observe(std::vector<std::pair<uint32_t, DropDecision>>* decisions) {
  const DropDetectorParams& p = proto_.p_;
  const double drop_log = proto_.drop_log_;
  scalar_.clear();
  uint8_t lane[kBlock];
  for (Eigen::Index b = 0; b < Eigen::Index(capacity_); b += kBlock) {
    const Eigen::Index m = std::min<Eigen::Index>(kBlock, Eigen::Index(capacity_) - b);
    // Pass 1, per lane: what the bin needs, and the log of the value as DropDetector takes it.
    for (Eigen::Index i = 0; i < m; ++i) {
      const Eigen::Index k = b + i;
      y_[k] = 0;
      if (marked_[k] == 0) {
        lane[i] = kSkip;
        continue;
      }
      marked_[k] = 0;
      const double x = x_[k];
      if (!(x > 0 && std::isfinite(x))) {
        lane[i] = zero_run_[k] + 1 > p.max_zero_run ? kIdle : kScalar;
      } else if (warm_[k] >= p.warmup_bins) {
        lane[i] = in_drop_[k] == 0 ? kSteady : kInDrop;
        y_[k] = std::log(x);
      } else {
        lane[i] = kScalar;
      }
    }
    // Pass 2, vectorized over the block: DropDetector::StepDown for a non-zero bin, and both of
    // its outcomes that need no scalar code (no change suspected; a suspicion that goes on).
    const auto y = y_.segment(b, m);
    auto mu = mu_.segment(b, m), mad = mad_.segment(b, m), s = s_.segment(b, m);
    auto exc_sum = exc_sum_.segment(b, m), exc_dev = exc_dev_.segment(b, m);
    auto exc_n = exc_n_.segment(b, m), run = run_.segment(b, m);
    const Block noise = (DropDetector::kMadToSigma * mad).max(p.min_scale);
    const Block sig = noise.max(drop_log / 2);
    const Block drift = (drop_log / (2 * sig)).max(DropDetector::kDrift);
    const Block s_new = (s + ((mu - y) / sig).min(p.clip) - drift).max(0.0);
    const Block dev = (y - mu).abs();
    const Block bound = DropDetector::kHuber * sig;
    const Block mu_learned = mu + p.alpha * (y - mu).max(-bound).min(bound);
    const Block mad_learned = mad + p.alpha * (dev.min(bound) - mad);
    const IntBlock run_next = run + 1, exc_n_next = exc_n + 1;
    const Block exc_sum_next = exc_sum + y, exc_dev_next = exc_dev + dev;
    const Block count = exc_n_next.cast<double>();
    const Block deficit = mu - exc_sum_next / count;
    const Block half = DropDetector::kConfidence * noise / count.sqrt();
    // Pass 3, per lane: keep what pass 2 computed, or send the lane to the scalar path.
    for (Eigen::Index i = 0; i < m; ++i) {
      const Eigen::Index k = b + i;
      if (lane[i] == kSteady) {
        if (s_new[i] == 0) {
          if (exc_n[i] > 0) {
            // A suspicion ends: the baseline learns its bins, then this one.
            double mu_k = mu[i], mad_k = mad[i];
            DropDetector::UpdateBaselineOf(p, drop_log, &mu_k, &mad_k, exc_sum[i] / exc_n[i],
                                           exc_dev[i] / exc_n[i], exc_n[i]);
            DropDetector::UpdateBaselineOf(p, drop_log, &mu_k, &mad_k, y[i],
                                           std::fabs(y[i] - mu_k), 1);
            mu[i] = mu_k;
            mad[i] = mad_k;
            exc_n[i] = 0;
          } else {
            mu[i] = mu_learned[i];
            mad[i] = mad_learned[i];
          }
          s[i] = 0;
          run[i] = 0;
          exc_sum[i] = exc_dev[i] = 0;
        } else {
          if (run_next[i] >= p.min_bins &&
              ((s_new[i] >= p.threshold && deficit[i] - half[i] >= drop_log) ||
               (run_next[i] >= 2 * p.min_bins && deficit[i] + half[i] < drop_log))) {
            scalar_.push_back(uint32_t(k));  // an alarm, or a smaller shift to learn
            continue;
          }
          s[i] = s_new[i];
          run[i] = run_next[i];
          exc_sum[i] = exc_sum_next[i];
          exc_dev[i] = exc_dev_next[i];
          exc_n[i] = exc_n_next[i];
        }
        zero_run_[k] = 0;
        ++n_[k];
      } else if (lane[i] == kInDrop) {
        // DropDetector::StepUp for a non-zero bin, unless a recovery or a new plateau is due.
        const double mu_after = after_sum_[k] / after_n_[k];
        const double z = std::min((y[i] - mu_after) / sig[i], p.clip);
        const double u = std::max(0.0, up_s_[k] + z - drift[i]);
        if (u == 0) {  // still at the level after the drop
          after_sum_[k] += up_sum_[k];
          after_n_[k] += up_n_[k];
          up_s_[k] = up_sum_[k] = 0;
          up_run_[k] = up_n_[k] = 0;
          after_sum_[k] += y[i];
          ++after_n_[k];
        } else {
          const int up_run = up_run_[k] + 1, up_n = up_n_[k] + 1;
          const double up_sum = up_sum_[k] + y[i];
          if (up_run >= p.min_bins) {
            const double level = up_sum / up_n;
            const double to = mu_before_[k] + proto_.recovery_log_;
            const double half_up = DropDetector::kConfidence * noise[i] / std::sqrt(up_n);
            if ((u >= p.threshold && level >= to) ||
                (up_run >= 2 * p.min_bins && level + half_up < to)) {
              scalar_.push_back(uint32_t(k));
              continue;
            }
          }
          up_s_[k] = u;
          up_run_[k] = up_run;
          up_sum_[k] = up_sum;
          up_n_[k] = up_n;
        }
        zero_run_[k] = 0;
        ++n_[k];
      } else if (lane[i] == kIdle) {  // DropDetector::Disarm
        ++n_[k];
        ++zero_run_[k];
        warm_[k] = 0;
        s[i] = 0;
        run[i] = 0;
        exc_sum[i] = exc_dev[i] = 0;
        exc_n[i] = 0;
        up_s_[k] = up_sum_[k] = 0;
        up_run_[k] = up_n_[k] = 0;
      } else if (lane[i] == kScalar) {
        scalar_.push_back(uint32_t(k));
      }
    }
  }
  for (uint32_t k : scalar_) {
    LoadInto(k, &scratch_);
    const DropDecision dec = scratch_.Observe(x_[k]);
    Store(k, scratch_);
    if (dec != DropDecision::kNone) decisions->emplace_back(k, dec);
  }
}

}  // namespace tw::stats
