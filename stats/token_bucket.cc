#include "stats/token_bucket.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace tw::stats {

const char* BucketFitName(BucketFit f) {
  switch (f) {
    case BucketFit::kConsistent:
      return "consistent";
    case BucketFit::kTooFewLosses:
      return "too_few_losses";
    case BucketFit::kSparseLosses:
      return "sparse_losses";
    case BucketFit::kNoRate:
      return "no_rate";
    case BucketFit::kLossWithTokens:
      return "loss_with_tokens";
    case BucketFit::kPassWithoutTokens:
      return "pass_without_tokens";
    case BucketFit::kLossBelowRate:
      return "loss_below_rate";
    case BucketFit::kRttInflation:
      return "rtt_inflation";
  }
  return "unknown";
}

double RttFloor(std::span<const RttSample> rtt) {
  if (rtt.empty()) return 0;
  std::vector<double> v;
  v.reserve(rtt.size());
  for (const RttSample& s : rtt) v.push_back(s.rtt);
  const size_t k = v.size() / 100;
  std::nth_element(v.begin(), v.begin() + long(k), v.end());
  return v[k];
}

double InflatedShareBefore(std::span<const double> times, std::span<const RttSample> rtt,
                           double floor, const TokenBucketParams& p, int* checked) {
  int n = 0, inflated = 0;
  for (double t : times) {
    // Latest sample sent strictly before t.
    auto it = std::lower_bound(rtt.begin(), rtt.end(), t,
                               [](const RttSample& s, double v) { return s.t < v; });
    if (it == rtt.begin()) continue;
    const double r = std::prev(it)->rtt;
    ++n;
    if (r > p.inflated_ratio * floor && r - floor > p.min_queue_s) ++inflated;
  }
  if (checked != nullptr) *checked = n;
  return n > 0 ? double(inflated) / n : 0;
}

namespace {

// The losses of `tx`: their indices in order, the index of the first loss of each episode (an
// episode starts when the previous loss is more than `rtt_s` back), and the largest transmission
// in bytes (lost or not).
struct Losses {
  std::vector<size_t> idx;
  std::vector<size_t> episode_first;
  uint32_t max_pkt = 0;
};

Losses FindLosses(std::span<const Transmission> tx, double rtt_s) {
  Losses l;
  for (size_t i = 0; i < tx.size(); ++i) {
    l.max_pkt = std::max(l.max_pkt, tx[i].bytes);
    if (!tx[i].lost) continue;
    if (l.idx.empty() || tx[i].t - tx[l.idx.back()].t > rtt_s) l.episode_first.push_back(i);
    l.idx.push_back(i);
  }
  return l;
}

// delivered[i]: the bytes of the transmissions before i that were not lost (tx.size() + 1
// entries; the last is the total).
std::vector<double> DeliveredBefore(std::span<const Transmission> tx) {
  std::vector<double> delivered(tx.size() + 1, 0);
  for (size_t i = 0; i < tx.size(); ++i) {
    delivered[i + 1] = delivered[i] + (tx[i].lost ? 0 : tx[i].bytes);
  }
  return delivered;
}

// The upper envelope of the delivery rate between losses: for each loss (at most 4096 evenly
// spaced start points), the best delivered/elapsed to any later loss at least `span` away; then
// the `quantile` of those. 0 when no loss has a partner that far away: no rate.
double EnvelopeRate(std::span<const Transmission> tx, const std::vector<size_t>& loss_idx,
                    const std::vector<double>& delivered, double span, double quantile) {
  std::vector<double> per_loss;
  const size_t step = std::max<size_t>(1, loss_idx.size() / 4096);
  for (size_t a = 0; a < loss_idx.size(); a += step) {
    const size_t i = loss_idx[a];
    const double ti = tx[i].t;
    auto first = std::lower_bound(loss_idx.begin() + long(a), loss_idx.end(), ti + span,
                                  [&](size_t j, double v) { return tx[j].t < v; });
    if (first == loss_idx.end()) break;  // later start points have no partner either
    double best = 0;
    for (auto it = first; it != loss_idx.end(); ++it) {
      const size_t j = *it;
      best = std::max(best, (delivered[j] - delivered[i]) / (tx[j].t - ti));
    }
    per_loss.push_back(best);
  }
  if (per_loss.empty()) return 0;
  const size_t q = std::min(per_loss.size() - 1, size_t(quantile * double(per_loss.size())));
  std::nth_element(per_loss.begin(), per_loss.begin() + long(q), per_loss.end());
  return per_loss[q];
}

// What a policer replay reads: the transmissions, DeliveredBefore() of them, the largest
// transmission and the RTT the tolerances are counted in.
struct Trace {
  std::span<const Transmission> tx;
  std::span<const double> delivered;
  double max_pkt = 0;
  double rtt_s = 0;
};

// A policer replayed at one rate: its bucket and the shares of losses (after the first) that
// fell on an empty bucket and of passes (after the first loss) that found tokens.
struct Replay {
  double burst = 0, loss_share = 0, pass_share = 0;
};

// Replays a token-bucket policer of `rate` over `t.tx` (not empty). The bucket is the smallest
// that lets every observed pass through at that rate (at least one packet); passes take tokens,
// a loss with the bucket about empty pins it at zero. Shares are 1 when there is nothing to
// check.
Replay ReplayPolicer(const Trace& t, double rate, const TokenBucketParams& p) {
  std::span<const Transmission> tx = t.tx;
  std::span<const double> delivered = t.delivered;
  const double max_pkt_d = t.max_pkt;
  Replay r;
  // Burst: whatever passed in any interval beyond the tokens the rate made in it was in the
  // bucket at the interval's start, so the bucket is at least the largest such excess (the
  // token-bucket envelope of the delivered bytes; O(n) with a running minimum).
  double burst = max_pkt_d, min_slack = 0;
  for (size_t i = 0; i < tx.size(); ++i) {
    const double slack = delivered[i] - rate * (tx[i].t - tx[0].t);
    if (i == 0 || slack < min_slack) min_slack = slack;
    burst = std::max(burst, delivered[i + 1] - rate * (tx[i].t - tx[0].t) - min_slack);
  }
  r.burst = burst;
  // Replay a policer with (rate, burst), driven by what was observed: passes take tokens.
  const double tol_loss = p.loss_tolerance_rtts * rate * t.rtt_s + max_pkt_d;
  const double tol_pass = p.pass_tolerance_rtts * rate * t.rtt_s + max_pkt_d;
  double tokens = burst;
  double prev_t = tx[0].t;
  bool seen_loss = false;
  int loss_ok = 0, loss_n = 0, pass_ok = 0, pass_n = 0;
  for (const Transmission& x : tx) {
    tokens = std::min(burst, tokens + rate * (x.t - prev_t));
    prev_t = x.t;
    if (x.lost) {
      // Empty within the tolerance, and never a full bucket: a policer does not drop while
      // it holds a bucket of tokens (without this, a bucket smaller than the tolerance would
      // make every loss look consistent).
      const bool empty = tokens <= tol_loss && tokens < burst - max_pkt_d;
      if (seen_loss) {
        ++loss_n;
        if (empty) ++loss_ok;
      }
      seen_loss = true;
      // A loss with the bucket (about) empty pins the bucket at zero (re-anchoring stops
      // estimation error from drifting); one with tokens left had another cause (a spurious
      // resend, a drop elsewhere) and says nothing about the bucket.
      if (empty) tokens = 0;
    } else {
      if (seen_loss) {
        ++pass_n;
        if (tokens >= -tol_pass) ++pass_ok;
      }
      tokens -= x.bytes;
    }
  }
  r.loss_share = loss_n > 0 ? double(loss_ok) / loss_n : 1;
  r.pass_share = pass_n > 0 ? double(pass_ok) / pass_n : 1;
  return r;
}

// The policer's rate and its replay.
struct RateFit {
  double rate = 0;
  Replay replay;
};

// The envelope is an upper bound on the rate blurred by jitter; the rate that makes the most
// losses fall on an empty bucket and the most passes on tokens is the policer's. Candidates
// from 80 % to 105 % of the envelope in 1 % steps (jitter only inflates the envelope, waste
// is already excluded by the quantile); the envelope itself wins ties, then the lowest.
RateFit BestRate(const Trace& t, double envelope, const TokenBucketParams& p) {
  RateFit best{envelope, ReplayPolicer(t, envelope, p)};
  for (int pct = 80; pct <= 105; ++pct) {
    const double cand = envelope * pct / 100;
    const Replay r = ReplayPolicer(t, cand, p);
    if (r.loss_share + r.pass_share > best.replay.loss_share + best.replay.pass_share + 1e-9) {
      best = {cand, r};
    }
  }
  return best;
}

// Share of loss episodes (first loss at each of `episode_first`, not empty) before which the
// sender offered at least params.min_offered_share of what a policer of (rate, burst) needs to
// drop: over the `span` before a policer drop, what passed is the tokens made in it plus those
// in the bucket at its start, less those thrown away when the bucket was full; if it was full
// at some moment, at least a bucket passed since then. So the sender offered at least
// min(rate * span, bucket). Random loss also strikes senders that offer far less. The bucket
// counts for at least the loss tolerance: a smaller claim could not be told from timing jitter.
double OfferedShare(const Trace& t, const std::vector<size_t>& episode_first, double span,
                    double rate, double burst, const TokenBucketParams& p) {
  std::span<const Transmission> tx = t.tx;
  const double tol_loss = p.loss_tolerance_rtts * rate * t.rtt_s + t.max_pkt;
  const double need = std::min(rate * span, std::max(burst, tol_loss));
  int above = 0;
  for (size_t f : episode_first) {
    const double from = tx[f].t - span;
    double offered = 0;
    for (size_t k = f + 1; k-- > 0 && tx[k].t >= from;) offered += tx[k].bytes;
    if (offered >= p.min_offered_share * need) ++above;
  }
  return double(above) / double(episode_first.size());
}

// InflatedShareBefore() the losses at `loss_idx`: the share of losses after an inflated RTT,
// with *checked the losses that had a sample before them. 0 and 0 without an RTT floor.
double RttBeforeLosses(std::span<const Transmission> tx, const std::vector<size_t>& loss_idx,
                       std::span<const RttSample> rtt, double floor, const TokenBucketParams& p,
                       int* checked) {
  *checked = 0;
  if (!(floor > 0)) return 0;
  std::vector<double> loss_t;
  loss_t.reserve(loss_idx.size());
  for (size_t i : loss_idx) loss_t.push_back(tx[i].t);
  return InflatedShareBefore(loss_t, rtt, floor, p, checked);
}

// The verdict on a fitted bucket, the tests in order: RTT inflation first (a queue, not a
// policer), then losses below the rate, losses with tokens, passes without tokens.
BucketFit Classify(const TokenBucketEstimate& e, const TokenBucketParams& p) {
  if (e.losses_after_inflation > p.max_inflated_share) return BucketFit::kRttInflation;
  if (1 - e.episodes_above_rate > p.max_low_offered) return BucketFit::kLossBelowRate;
  if (1 - e.losses_in_range > p.max_loss_out_of_range) return BucketFit::kLossWithTokens;
  if (1 - e.passes_in_range > p.max_pass_out_of_range) return BucketFit::kPassWithoutTokens;
  return BucketFit::kConsistent;
}

}  // namespace

TokenBucketEstimate FitTokenBucket(std::span<const Transmission> tx, std::span<const RttSample> rtt,
                                   const TokenBucketParams& p) {
  TokenBucketEstimate e;
  e.rtt_floor_s = RttFloor(rtt);
  const double rtt_s = e.rtt_floor_s > 0 ? e.rtt_floor_s : p.default_rtt_s;
  const double span = std::max(p.min_span_s, p.min_span_rtts * rtt_s);

  const Losses losses = FindLosses(tx, rtt_s);
  e.losses = int(losses.idx.size());
  e.loss_episodes = int(losses.episode_first.size());
  if (losses.idx.empty()) return e;
  e.first_loss_t = tx[losses.idx.front()].t;
  if (e.losses < p.min_losses || e.loss_episodes < p.min_loss_episodes) return e;
  if (e.losses < p.min_losses_per_episode * e.loss_episodes) {
    e.result = BucketFit::kSparseLosses;
    return e;
  }

  const std::vector<double> delivered = DeliveredBefore(tx);
  const double envelope = EnvelopeRate(tx, losses.idx, delivered, span, p.rate_quantile);
  if (envelope <= 0) {
    e.result = BucketFit::kNoRate;
    return e;
  }
  const Trace trace{tx, delivered, double(losses.max_pkt), rtt_s};
  const RateFit fit = BestRate(trace, envelope, p);
  e.rate_Bps = fit.rate;
  e.burst_bytes = fit.replay.burst;
  e.losses_in_range = fit.replay.loss_share;
  e.passes_in_range = fit.replay.pass_share;
  e.episodes_above_rate =
      OfferedShare(trace, losses.episode_first, span, fit.rate, fit.replay.burst, p);
  e.losses_after_inflation = RttBeforeLosses(tx, losses.idx, rtt, e.rtt_floor_s, p, &e.rtt_checked);
  e.result = Classify(e, p);
  return e;
}

}  // namespace tw::stats
