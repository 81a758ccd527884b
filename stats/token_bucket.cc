#include "stats/token_bucket.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace tw::stats {

const char* BucketFitName(BucketFit f) {
  switch (f) {
    case BucketFit::kConsistent:
      return "consistent";
    case BucketFit::kTooFewLosses:
      return "too_few_losses";
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
    case BucketFit::kLossesByChance:
      return "losses_by_chance";
    case BucketFit::kQueueAtRate:
      return "queue_at_rate";
    case BucketFit::kPathRate:
      return "path_rate";
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
    // Latest sample sent strictly before t, or the smallest of those sent in the floor before t.
    auto it = std::lower_bound(rtt.begin(), rtt.end(), t,
                               [](const RttSample& s, double v) { return s.t < v; });
    if (it == rtt.begin()) continue;
    double r = std::prev(it)->rtt;
    for (auto k = std::prev(it); k->t >= t - floor; --k) {
      r = std::min(r, k->rtt);
      if (k == rtt.begin()) break;
    }
    ++n;
    if (r > p.inflated_ratio * floor && r - floor > p.min_queue_s) ++inflated;
  }
  if (checked != nullptr) *checked = n;
  return n > 0 ? double(inflated) / n : 0;
}

double QueuedShareBefore(std::span<const Transmission> tx, std::span<const size_t> episode_first,
                         double rate, const TokenBucketParams& p, int* checked) {
  const size_t run_len = size_t(std::max(2, p.queue_run_packets));
  int queued = 0;
  *checked = 0;
  if (!(rate > 0)) return 0;
  std::vector<double> acks;
  for (size_t f : episode_first) {
    if (f >= tx.size()) continue;
    size_t from = f;  // the run is [from, f)
    while (from > 0 && f - from < run_len) {
      const Transmission& a = tx[from - 1];
      const double gap = tx[from].t - a.t;
      if (a.lost || a.acked_t < 0 || !(gap < 0.25 * a.bytes / rate)) break;
      --from;
    }
    if (f - from < run_len) continue;
    acks.clear();
    for (size_t k = from; k < f; ++k) acks.push_back(tx[k].acked_t);
    std::sort(acks.begin(), acks.end());
    acks.erase(std::unique(acks.begin(), acks.end()), acks.end());
    acks.pop_back();  // the last ACK may have waited for a segment the loss took
    if (acks.size() < 2) continue;
    const double t0 = acks.front(), t1 = acks.back();
    double bytes = 0;
    for (size_t k = from; k < f; ++k) {
      if (tx[k].acked_t > t0 && tx[k].acked_t <= t1) bytes += tx[k].bytes;
    }
    ++*checked;
    if (bytes <= p.queue_rate_ratio * rate * (t1 - t0)) ++queued;
  }
  return *checked > 0 ? double(queued) / *checked : 0;
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

// TokenBucketEstimate::path_rate_Bps of `tx`: over each run of eight consecutive passes, the
// bytes of the last seven over the time from the first to the last; the 99th percentile (one run
// squeezed by capture timing does not set it). 0 with fewer than eight passes.
double ArrivalRate(std::span<const Transmission> tx) {
  constexpr size_t kRun = 8;
  std::vector<size_t> pass;
  for (size_t i = 0; i < tx.size(); ++i) {
    if (!tx[i].lost) pass.push_back(i);
  }
  std::vector<double> rates;
  double bytes = 0;  // of passes (k - kRun + 1 .. k]
  for (size_t k = 0; k < pass.size(); ++k) {
    bytes += tx[pass[k]].bytes;
    if (k + 1 < kRun) continue;
    const size_t first = pass[k + 1 - kRun];
    bytes -= k + 1 > kRun ? tx[pass[k - kRun]].bytes : 0;
    const double span = tx[pass[k]].t - tx[first].t;
    if (span > 0) rates.push_back((bytes - tx[first].bytes) / span);
  }
  if (rates.empty()) return 0;
  const size_t q = std::min(rates.size() - 1, size_t(0.99 * double(rates.size())));
  std::nth_element(rates.begin(), rates.begin() + long(q), rates.end());
  return rates[q];
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
  double envelope = 0;         // EnvelopeRate() of the losses
  bool exact = false;          // the exact checks of RunReplay, no tolerances
  bool robust_bucket = false;  // see ReplayPolicer
};

// A policer replayed at one rate: its bucket and the shares of losses (after the first) that
// fell on an empty bucket and of passes (after the first loss) that found tokens.
struct Replay {
  double burst = 0, loss_share = 0, pass_share = 0;
};

// The tokens each transmission after the first loss found, losses and passes apart: what the
// chance test compares.
struct TokenLevels {
  std::vector<double> at_loss, at_pass;
};

// One replay of a policer of (`rate`, `burst`) over `t.tx`, the bucket holding `start` tokens
// when the capture began; passes take tokens, a loss with the bucket about empty pins it at zero
// (not with t.exact). The shares count after the first loss; they are 1 when there is nothing to
// check.
Replay RunReplay(const Trace& t, double rate, double burst, double start,
                 const TokenBucketParams& p, TokenLevels* levels) {
  std::span<const Transmission> tx = t.tx;
  const double max_pkt_d = t.max_pkt;
  Replay r;
  r.burst = burst;
  // With t.exact a loss must find fewer tokens than it needed and a pass must not find the bucket
  // overdrawn (whether a policer takes a packet's tokens at its first byte or its last leaves a
  // packet of doubt), and a loss does not pin the bucket: with nothing re-anchoring the replay,
  // only the true rate keeps it in step with the drops (pinned at every drop, any faster rate
  // would look empty at each of them). Otherwise each check may be off by a packet and by the
  // tokens of the timing tolerances (TokenBucketParams::loss_tolerance_rtts, pass_...).
  const double tol_loss = p.loss_tolerance_rtts * rate * t.rtt_s + max_pkt_d;
  const double tol_pass = p.pass_tolerance_rtts * rate * t.rtt_s + max_pkt_d;
  double tokens = start;
  double prev_t = tx[0].t;
  bool seen_loss = false;
  int loss_ok = 0, loss_n = 0, pass_ok = 0, pass_n = 0;
  for (const Transmission& x : tx) {
    tokens = std::min(burst, tokens + rate * (x.t - prev_t));
    prev_t = x.t;
    // Empty within the tolerance, and never a full bucket: a policer does not drop while it
    // holds a bucket of tokens (without this, a bucket smaller than the tolerance would make
    // every loss look consistent).
    const bool empty =
        t.exact ? tokens < x.bytes : tokens <= tol_loss && tokens < burst - max_pkt_d;
    if (x.lost) {
      if (seen_loss) {
        ++loss_n;
        if (empty) ++loss_ok;
        if (levels != nullptr) levels->at_loss.push_back(tokens);
      }
      seen_loss = true;
      // A loss with the bucket (about) empty pins the bucket at zero (re-anchoring stops
      // estimation error from drifting); one with tokens left had another cause (a spurious
      // resend, a drop elsewhere) and says nothing about the bucket.
      if (empty && !t.exact) tokens = 0;
    } else {
      if (seen_loss) {
        ++pass_n;
        if (tokens >= (t.exact ? 0 : -tol_pass)) ++pass_ok;
        if (levels != nullptr) levels->at_pass.push_back(tokens);
      }
      tokens -= x.bytes;
    }
  }
  r.loss_share = loss_n > 0 ? double(loss_ok) / loss_n : 1;
  r.pass_share = pass_n > 0 ? double(pass_ok) / pass_n : 1;
  return r;
}

// Replays a token-bucket policer of `rate` over `t.tx` (not empty) with RunReplay(). The bucket
// is the smallest that lets every observed pass through at that rate (at least one packet). Its
// level when the capture began is unknown: full, or drained by traffic before the capture (the
// least that lets the passes before the first loss through); the start under which losses and
// passes fit better is taken. `levels`, when given, receives the chosen replay's token levels.
Replay ReplayPolicer(const Trace& t, double rate, const TokenBucketParams& p,
                     TokenLevels* levels = nullptr) {
  std::span<const Transmission> tx = t.tx;
  std::span<const double> delivered = t.delivered;
  const double max_pkt_d = t.max_pkt;
  // Burst: whatever passed in any interval beyond the tokens the rate made in it was in the
  // bucket at the interval's start, so the bucket is at least the largest such excess (the
  // token-bucket envelope of the delivered bytes; O(n) with a running minimum).
  // With t.robust_bucket the bucket is not set by the one pass that jitter made look the largest:
  // it is the smallest that lets all but max_pass_out_of_range of the passes through, the share
  // the pass test forgives.
  double burst = max_pkt_d, min_slack = 0;
  std::vector<double> need;
  if (t.robust_bucket) need.reserve(tx.size());
  for (size_t i = 0; i < tx.size(); ++i) {
    const double slack = delivered[i] - rate * (tx[i].t - tx[0].t);
    if (i == 0 || slack < min_slack) min_slack = slack;
    const double excess = delivered[i + 1] - rate * (tx[i].t - tx[0].t) - min_slack;
    if (!t.robust_bucket) {
      burst = std::max(burst, excess);
    } else if (!tx[i].lost) {
      need.push_back(excess);
    }
  }
  if (!need.empty()) {
    const size_t q =
        std::min(need.size() - 1, size_t((1 - p.max_pass_out_of_range) * double(need.size())));
    std::nth_element(need.begin(), need.begin() + long(q), need.end());
    burst = std::max(burst, need[q]);
  }
  // The least start: what the passes before the first loss needed.
  double least = 0;
  for (size_t i = 0; i < tx.size() && !tx[i].lost; ++i) {
    least = std::max(least, delivered[i + 1] - rate * (tx[i].t - tx[0].t));
  }
  least = std::min(burst, least);
  const Replay full = RunReplay(t, rate, burst, burst, p, nullptr);
  const Replay drained = RunReplay(t, rate, burst, least, p, nullptr);
  const bool use_drained =
      drained.loss_share + drained.pass_share > full.loss_share + full.pass_share + 1e-9;
  if (levels != nullptr) RunReplay(t, rate, burst, use_drained ? least : burst, p, levels);
  return use_drained ? drained : full;
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

// A policer whose bucket holds a few packets empties for a moment at each burst and drops one
// packet, while the sender averages far below its rate: no span between losses shows the rate.
// It shows at the scale of the burst, in which rate makes the losses fall on an empty bucket and
// the passes on tokens. `t` is replayed as given: with its exact checks (RunReplay), since an
// allowance of an RTT of tokens would blur every rate above the true one into a fit. Candidates
// from `lo` (the average rate between the first and last loss: a policer's rate is at least what it
// let through) up to kScanRange times that in kScanStep steps, then refined around the best in
// kRefineStep steps; the rate with the most checks in range, the lowest of ties. Unless the loss
// times are bounds (params.loss_times_exact false, a receiver): a loss then sits right after the
// arrival before it, and above the true rate, where the bucket that lets the passes through
// shrinks to a packet or two, every rate finds it short there and fits perfectly. Then the lowest
// rate that passes the loss and pass tests is taken: what the data cannot tell apart, the lowest
// rate explains with the fewest tokens.
constexpr double kScanRange = 64, kScanStep = 1.03, kRefineStep = 1.005;
double ScanRate(const Trace& t, double lo, const TokenBucketParams& p) {
  double best_rate = lo, best_score = -1;
  const auto passes = [&](const Replay& r) {
    return 1 - r.loss_share <= p.max_loss_out_of_range &&
           1 - r.pass_share <= p.max_pass_out_of_range;
  };
  const auto consider = [&](double cand) {
    const Replay r = ReplayPolicer(t, cand, p);
    if (r.loss_share + r.pass_share > best_score + 1e-9) {
      best_rate = cand;
      best_score = r.loss_share + r.pass_share;
    }
    return passes(r);
  };
  for (double cand = lo; cand <= lo * kScanRange; cand *= kScanStep) {
    if (consider(cand) && !p.loss_times_exact) {
      // The lowest that passes, to a refine step: between the previous candidate and this one.
      double lowest = cand;
      for (double c = cand / kScanStep * kRefineStep; c < cand; c *= kRefineStep) {
        if (passes(ReplayPolicer(t, c, p))) {
          lowest = c;
          break;
        }
      }
      return lowest;
    }
  }
  const double center = best_rate;
  for (double cand = center / kScanStep; cand <= center * kScanStep; cand *= kRefineStep) {
    consider(cand);
  }
  return best_rate;
}

// Share of loss episodes (first loss at each of `episode_first`, not empty) before which the
// sender offered at least params.min_offered_share of what a policer of (rate, burst) needs to
// drop: over the `span` before a policer drop, what passed is the tokens made in it plus those
// in the bucket at its start, less those thrown away when the bucket was full; if it was full
// at some moment, at least a bucket passed since then. So the sender offered at least
// min(rate * span, bucket). Random loss also strikes senders that offer far less.
double OfferedShare(const Trace& t, const std::vector<size_t>& episode_first, double span,
                    double rate, double burst, const TokenBucketParams& p) {
  std::span<const Transmission> tx = t.tx;
  const double need = std::min(rate * span, burst);
  int above = 0;
  for (size_t f : episode_first) {
    const double from = tx[f].t - span;
    double offered = 0;
    for (size_t k = f + 1; k-- > 0 && tx[k].t >= from;) offered += tx[k].bytes;
    if (offered >= p.min_offered_share * need) ++above;
  }
  return double(above) / double(episode_first.size());
}

// At a receiver: whether the last queue_run_packets arrivals before the loss at tx[i] (holes
// between them skipped: what a queue dropped never took its rate) came faster than
// params.queue_rate_ratio * rate, bytes per second: they did not leave a queue draining at the
// rate. False when fewer arrived before it.
bool ArrivedFasterBefore(std::span<const Transmission> tx, size_t i, double rate,
                         const TokenBucketParams& p) {
  const size_t run_len = size_t(std::max(2, p.queue_run_packets));
  size_t n = 0, k = i;
  double bytes = 0, t0 = 0, t1 = -1;
  while (k > 0 && n < run_len) {
    const Transmission& a = tx[--k];
    if (a.lost) continue;
    if (t1 < 0) t1 = a.t;
    t0 = a.t;
    if (++n > 1) bytes += a.bytes;  // the run's first arrival opens the span: not counted
  }
  if (n < run_len || !(rate > 0)) return false;
  return bytes > p.queue_rate_ratio * rate * (t1 - t0);
}

// InflatedShareBefore() the losses at `loss_idx`: the share of losses after an inflated RTT,
// with *checked the losses that had a sample before them. 0 and 0 without an RTT floor. At a
// receiver (params.loss_times_exact false) a loss whose arrivals before it came faster than a
// queue at `limit` releases them is not counted inflated: the queue that inflated its RTT was not
// the limiter's but one further on, which a policer's burst fills as well as a shaper's queue
// does. `limit`, bytes per second, must bound the limiter's rate from above.
double RttBeforeLosses(std::span<const Transmission> tx, const std::vector<size_t>& loss_idx,
                       double limit, std::span<const RttSample> rtt, double floor,
                       const TokenBucketParams& p, int* checked) {
  *checked = 0;
  if (!(floor > 0)) return 0;
  std::vector<double> loss_t;
  loss_t.reserve(loss_idx.size());
  for (size_t i : loss_idx) loss_t.push_back(tx[i].t);
  const double share = InflatedShareBefore(loss_t, rtt, floor, p, checked);
  if (p.loss_times_exact || *checked == 0) return share;
  std::vector<double> at_limit_t;
  bool faster = false;  // of the previous loss: the losses of one hole share their arrivals
  for (size_t k = 0; k < loss_idx.size(); ++k) {
    const size_t i = loss_idx[k];
    if (k == 0 || loss_idx[k - 1] + 1 != i) faster = ArrivedFasterBefore(tx, i, limit, p);
    if (!faster) at_limit_t.push_back(tx[i].t);
  }
  if (at_limit_t.size() == loss_t.size()) return share;
  int at_limit_checked = 0;
  const double at_limit_share = InflatedShareBefore(at_limit_t, rtt, floor, p, &at_limit_checked);
  return at_limit_share * at_limit_checked / *checked;
}

// The chance test: a policer drops only when its bucket is empty, so the tokens its losses find
// sit below those its passes find; random loss strikes whatever the bucket holds. The
// Mann-Whitney rank test of "losses find fewer tokens than passes" against "as many": log10 of
// its one-sided p-value (normal approximation, ties at half rank, no tie correction, which only
// makes it more cautious). 0 when either side is empty.
double ChanceLog10P(std::vector<double> at_loss, const std::vector<double>& at_pass) {
  const double n1 = double(at_loss.size()), n2 = double(at_pass.size());
  if (at_loss.empty() || at_pass.empty()) return 0;
  std::vector<double> pass = at_pass;
  std::sort(pass.begin(), pass.end());
  // U: pairs (loss, pass) with the loss finding fewer tokens, ties counting half.
  double u = 0;
  for (double x : at_loss) {
    const auto lo = std::lower_bound(pass.begin(), pass.end(), x);
    const auto hi = std::upper_bound(lo, pass.end(), x);
    u += double(pass.end() - hi) + 0.5 * double(hi - lo);
  }
  const double z = (u - n1 * n2 / 2) / std::sqrt(n1 * n2 * (n1 + n2 + 1) / 12);
  if (z < 30) return std::log10(0.5 * std::erfc(z / std::sqrt(2.0)));
  // Beyond erfc's range: the tail's asymptote, exp(-z^2/2) / (z sqrt(2 pi)).
  return (-z * z / 2 - std::log(z * std::sqrt(2 * std::numbers::pi))) / std::log(10.0);
}

// A rate within this factor of the path's is not told from it: the 10 % a rate is stated to.
constexpr double kPathMargin = 1.1;

// The verdict on a fitted bucket, the tests in order: a rate no slower than the path's (no
// policer to tell), RTT inflation and a queue at the rate (a shaper or a congested link, not a
// policer), then losses below the rate, losses with tokens, passes without tokens, and last
// whether the bucket explains the losses better than chance.
BucketFit Classify(const TokenBucketEstimate& e, const TokenBucketParams& p) {
  if (e.path_rate_Bps > 0 && e.rate_Bps * kPathMargin >= e.path_rate_Bps) {
    return BucketFit::kPathRate;
  }
  if (e.losses_after_inflation > p.max_inflated_share) return BucketFit::kRttInflation;
  if (e.queue_checked >= p.min_queue_episodes && e.queued_share > p.max_queued_share) {
    return BucketFit::kQueueAtRate;
  }
  if (1 - e.episodes_above_rate > p.max_low_offered) return BucketFit::kLossBelowRate;
  if (1 - e.losses_in_range > p.max_loss_out_of_range) return BucketFit::kLossWithTokens;
  if (1 - e.passes_in_range > p.max_pass_out_of_range) return BucketFit::kPassWithoutTokens;
  if (e.chance_log10p > std::log10(p.max_chance_p)) return BucketFit::kLossesByChance;
  return BucketFit::kConsistent;
}

// Fills `out`'s fit and checks at `rate`: the replay's bucket and shares, chance, offered, RTT
// inflation, the queue test, and the verdict.
void Judge(const Trace& trace, const Losses& losses, double rate, double span,
           std::span<const RttSample> rtt, const TokenBucketParams& p, TokenBucketEstimate* out) {
  TokenBucketEstimate& e = *out;
  std::span<const Transmission> tx = trace.tx;
  TokenLevels levels;
  const Replay replay = ReplayPolicer(trace, rate, p, &levels);
  e.rate_Bps = rate;
  e.burst_bytes = replay.burst;
  e.losses_in_range = replay.loss_share;
  e.passes_in_range = replay.pass_share;
  e.chance_log10p = ChanceLog10P(std::move(levels.at_loss), levels.at_pass);
  e.episodes_above_rate = OfferedShare(trace, losses.episode_first, span, rate, replay.burst, p);
  // Neither the fitted rate nor the envelope of the rate between losses is below the limiter's.
  e.losses_after_inflation = RttBeforeLosses(tx, losses.idx, std::max(rate, trace.envelope), rtt,
                                             e.rtt_floor_s, p, &e.rtt_checked);
  e.queued_share = QueuedShareBefore(tx, losses.episode_first, rate, p, &e.queue_checked);
  e.result = Classify(e, p);
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

  if (!p.loss_times_exact) e.path_rate_Bps = ArrivalRate(tx);
  const std::vector<double> delivered = DeliveredBefore(tx);
  const double envelope = EnvelopeRate(tx, losses.idx, delivered, span, p.rate_quantile);
  if (envelope <= 0) {
    e.result = BucketFit::kNoRate;
    return e;
  }
  const Trace trace{tx, delivered, double(losses.max_pkt), rtt_s, envelope};
  Judge(trace, losses, BestRate(trace, envelope, p).rate, span, rtt, p, &e);
  // The fit at the scale of bursts, judged without a jitter allowance: when it holds, it is the
  // sharper claim (and for a bucket of a few packets the only one that finds the rate).
  const size_t first = losses.idx.front(), last = losses.idx.back();
  const double lo = tx[last].t > tx[first].t
                        ? (delivered[last] - delivered[first]) / (tx[last].t - tx[first].t)
                        : 0;
  if (lo > 0 && std::isfinite(lo)) {
    Trace exact = trace;
    exact.exact = true;
    const double rate = ScanRate(exact, lo, p);
    exact.robust_bucket = true;
    TokenBucketEstimate strict = e;
    Judge(exact, losses, rate, span, rtt, p, &strict);
    // With loss times that are only bounds (see ScanRate) and both fits holding, the one with the
    // lower rate explains the same drops with fewer tokens. A fit that holds but for the queue
    // ahead of its losses is a shaper's: that is the finding.
    const bool lower_holds = !p.loss_times_exact && e.consistent() && e.rate_Bps < strict.rate_Bps;
    if (strict.consistent() && !lower_holds) return strict;
    if (strict.result == BucketFit::kQueueAtRate) return strict;
  }
  return e;
}

}  // namespace tw::stats
