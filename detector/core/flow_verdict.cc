#include "detector/core/flow_verdict.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <map>
#include <system_error>
#include <thread>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "capture/ip_proto.h"
#include "stats/level.h"
#include "util/hash.h"

namespace tw::detector {

using capture::Direction;

namespace {
// The confidence weights and thresholds of FlowVerdictTracker::Classify. Each follows from the
// mechanism named beside it; none is fitted to a data set.

// Policed: a consistent policer test (the losses line up with one token bucket) is by itself
// worth kPolicedBase; kPolicedEvidence more scales with the weakest of the test's checks (losses
// with the bucket empty, passes with tokens, episodes above the rate, losses not after a queue),
// since one failing check undermines the bucket as a whole. The two add up to 1.
constexpr double kPolicedBase = 0.4;
constexpr double kPolicedEvidence = 0.6;
// Each loss episode empties the bucket anew and checks the same rate and bucket independently:
// the evidence counts in full from this many episodes (twice the policer test's default minimum,
// TokenBucketParams::min_loss_episodes).
constexpr double kPolicedFullEpisodes = 6;

// A queue holds packets, so its delay spans several inter-packet gaps; an application pacing its
// sends delays each timestamp echo by up to one gap. The queue delay must exceed this many mean
// gaps to count as a queue.
constexpr double kQueueMinGaps = 2;

// Delivery-rate windows of a queued flow: a TCP sender's delivery moves in rounds of one RTT
// (ACK clocking), so a window of fewer than a couple of RTTs measures the rounds rather than the
// rate, and below 0.2 s the timing jitter between the capture point and the limiter dominates
// (the spans of the policer test, TokenBucketParams::min_span_s and min_span_rtts).
constexpr double kRateWindowMinS = 0.2;
constexpr double kRateWindowRtts = 2;
// One window always sits at its own median and two are measured against their own mean: three is
// the fewest in which a steady share can tell a steady rate from chance.
constexpr size_t kMinRateWindows = 3;
// Shaped against congested is a choice between two: half the confidence is that of a coin toss,
// the other half follows the share of windows that back the choice (those near the median rate
// for shaped, the others for congested).
constexpr double kQueueVerdictBase = 0.5;
constexpr double kQueueVerdictShare = 0.5;

// Lossy and unlimited are verdicts by elimination (no queue; no bucket behind the losses):
// kFirmConfidence when every check could run (lossy: losses in at least the policer test's
// minimum of separate episodes; unlimited: RTT samples to look for a queue in),
// kTentativeConfidence when one could not.
constexpr double kFirmConfidence = 0.8;
constexpr double kTentativeConfidence = 0.6;
}  // namespace

const char* VerdictName(VerdictKind k) {
  switch (k) {
    case VerdictKind::kInsufficientData:
      return "insufficient data";
    case VerdictKind::kUnlimited:
      return "unlimited";
    case VerdictKind::kLossy:
      return "lossy";
    case VerdictKind::kCongested:
      return "congested";
    case VerdictKind::kShaped:
      return "shaped";
    case VerdictKind::kPoliced:
      return "policed";
    case VerdictKind::kNotJudged:
      return "not judged";
  }
  return "unknown";
}

namespace {
int32_t SeqDiff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }
constexpr int32_t kMaxHole = 1 << 20;     // larger forward jumps are capture gaps, not losses
constexpr size_t kMaxLookBack = 1 << 14;  // records searched for the original of a resend

// Bit i set: ring[i] == v. Branch-free: 16 vector compares with SSE2.
uint64_t TsMatches(const uint32_t (&ring)[64], uint32_t v) {
#if defined(__SSE2__)
  const __m128i key = _mm_set1_epi32(static_cast<int>(v));
  const auto* r = reinterpret_cast<const __m128i*>(ring);
  uint64_t bits = 0;
  for (int i = 0; i < 16; i += 4) {
    const __m128i a = _mm_cmpeq_epi32(_mm_loadu_si128(r + i), key);
    const __m128i b = _mm_cmpeq_epi32(_mm_loadu_si128(r + i + 1), key);
    const __m128i c = _mm_cmpeq_epi32(_mm_loadu_si128(r + i + 2), key);
    const __m128i d = _mm_cmpeq_epi32(_mm_loadu_si128(r + i + 3), key);
    // Lanes are all-ones or zero, so the saturating packs keep them in order, one byte each.
    const __m128i bytes = _mm_packs_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d));
    bits |= uint64_t(uint32_t(_mm_movemask_epi8(bytes))) << (4 * i);
  }
  return bits;
#else
  uint64_t bits = 0;
  for (int i = 0; i < 64; ++i) bits |= uint64_t(ring[i] == v) << i;
  return bits;
#endif
}

using stats::Median;
}  // namespace

namespace {
// A list of n items takes fewer than 1.5n + 16 slots of its arena (util/list_arena.h): three slots
// per item of the total cap leave room for the partly filled chunks of many short flows.
size_t ArenaSlots(size_t total) { return std::min<size_t>(3 * total, UINT32_MAX); }
}  // namespace

FlowVerdictTracker::FlowVerdictTracker(const VerdictParams& params)
    : p_(params),
      records_(ArenaSlots(p_.max_records_total)),
      rtts_(ArenaSlots(p_.max_records_total)),
      acks_(ArenaSlots(p_.max_records_total)) {}

FlowVerdictTracker::Trace* FlowVerdictTracker::Find(const capture::FlowInfo& info) {
  const uint64_t id = info.id;
  if (cached_ != 0 && cached_id_ == id) return &traces_[cached_ - 1];
  if (index_.empty() || 2 * (traces_.size() + 1) > index_.size()) {
    // Grow the index (a new flow's cost, never a packet's).
    std::vector<std::pair<uint64_t, uint32_t>> old(std::max<size_t>(64, 2 * index_.size()));
    old.swap(index_);
    for (const auto& [key, pos] : old) {
      if (pos == 0) continue;
      size_t i = util::HashU64(key) & (index_.size() - 1);
      while (index_[i].second != 0) i = (i + 1) & (index_.size() - 1);
      index_[i] = {key, pos};
    }
  }
  const size_t mask = index_.size() - 1;
  size_t i = util::HashU64(id) & mask;
  while (index_[i].second != 0 && index_[i].first != id) i = (i + 1) & mask;
  if (index_[i].second == 0) {
    uint32_t pos = 0;
    if (!free_traces_.empty()) {
      pos = free_traces_.back();
      free_traces_.pop_back();
      traces_[pos] = Trace{};
    } else {
      pos = uint32_t(traces_.size());
      traces_.emplace_back();
    }
    traces_[pos].info = info;
    index_[i] = {id, pos + 1};
  }
  cached_id_ = id;
  cached_ = index_[i].second;
  return &traces_[cached_ - 1];
}

void FlowVerdictTracker::AddRecord(Side* s, const Record& r) {
  if (s->rec.size >= p_.max_records_per_flow || records_total_ >= p_.max_records_total ||
      !records_.Append(&s->rec, r)) {
    s->truncated = true;
    return;
  }
  ++records_total_;
}

void FlowVerdictTracker::OnPacket(int64_t ts_ns, uint32_t wire_len, const capture::DecodedPacket& p,
                                  const capture::BinnedPacket& b) {
  if (b.info == nullptr || p.ip_proto != capture::kIpProtoTcp || p.later_fragment) return;
  Trace* t = nullptr;
  if (b.user != nullptr && *b.user != 0 && *b.user <= traces_.size() &&
      traces_[*b.user - 1].info.id == b.info->id) {
    t = &traces_[*b.user - 1];
  } else {
    t = Find(*b.info);
    if (b.user != nullptr) *b.user = cached_;
  }
  Side& s = t->side[b.dir];
  Side& o = t->side[1 - b.dir];

  if (p.tcp_has_ts) {
    if (t->clocks == 0) {
      if (!free_clocks_.empty()) {
        t->clocks = free_clocks_.back() + 1;
        free_clocks_.pop_back();
      } else {
        clocks_.emplace_back();
        t->clocks = uint32_t(clocks_.size());
      }
    }
    Clock& sc = clocks_[t->clocks - 1][b.dir];
    Clock& oc = clocks_[t->clocks - 1][1 - b.dir];
    // This side's clock values, first sighting of each (pping): the other side echoes them.
    if (!sc.have_tsval || p.tcp_ts_val != sc.last_tsval) {
      sc.ts_val[sc.ts_next] = p.tcp_ts_val;
      sc.ts_ns[sc.ts_next] = ts_ns;
      sc.ts_waiting |= uint64_t{1} << sc.ts_next;
      sc.ts_next = (sc.ts_next + 1) % kTsRing;
      sc.last_tsval = p.tcp_ts_val;
      sc.have_tsval = true;
    }
    if ((p.tcp_flags & capture::kTcpAck) && p.tcp_ts_ecr != 0 && oc.ts_waiting != 0) {
      // The first waiting slot holding the echoed value.
      const uint64_t match = TsMatches(oc.ts_val, p.tcp_ts_ecr) & oc.ts_waiting;
      if (match != 0) {
        const int i = std::countr_zero(match);
        oc.ts_waiting &= ~(uint64_t{1} << i);
        const int64_t sent = oc.ts_ns[i];
        if (o.rtt.size < p_.max_records_per_flow / 4 && rtts_total_ < p_.max_records_total &&
            rtts_.Append(&o.rtt, {double(sent) * 1e-9, double(ts_ns - sent) * 1e-9})) {
          ++rtts_total_;
        }
      }
    }
  }
  if ((p.tcp_flags & capture::kTcpAck) && (!s.ack_valid || SeqDiff(p.tcp_ack, s.acked) > 0)) {
    s.acked = p.tcp_ack;
    s.ack_valid = true;
    if (s.acks.size < p_.max_records_per_flow && acks_total_ < p_.max_records_total &&
        acks_.Append(&s.acks, {ts_ns, p.tcp_ack, 0})) {
      ++acks_total_;
    }
  }
  if (p.tcp_flags & capture::kTcpSyn) {
    s.high = p.tcp_seq + 1;
    s.seq_valid = true;
    return;
  }
  if (p.payload_len > 0) OnData(&s, ts_ns, wire_len, p);
}

void FlowVerdictTracker::OnFlowEnd(const capture::FlowInfo& info) {
  if (index_.empty()) return;
  const size_t mask = index_.size() - 1;
  size_t i = util::HashU64(info.id) & mask;
  while (index_[i].second != 0 && index_[i].first != info.id) i = (i + 1) & mask;
  if (index_[i].second == 0) return;  // not TCP, or never seen
  const uint32_t pos = index_[i].second - 1;
  Trace& t = traces_[pos];
  if (t.clocks != 0) {
    clocks_[t.clocks - 1] = {};
    free_clocks_.push_back(t.clocks - 1);
    t.clocks = 0;
  }
  if (t.side[0].payload + t.side[1].payload > 0) return;  // kept for its verdict
  // No data: nothing to judge. Free the trace and its index slot (backward-shift deletion).
  t = Trace{};
  free_traces_.push_back(pos);
  if (cached_ == pos + 1) cached_ = 0;
  for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
    if (index_[j].second == 0) break;
    const size_t home = util::HashU64(index_[j].first) & mask;
    // Move slot j into the hole at i unless its home lies in (i, j] cyclically.
    const bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!between) {
      index_[i] = index_[j];
      i = j;
    }
  }
  index_[i] = {0, 0};
}

void FlowVerdictTracker::OnData(Side* s, int64_t ts_ns, uint32_t wire_len,
                                const capture::DecodedPacket& p) {
  const uint32_t seq = p.tcp_seq, len = p.payload_len, end = seq + len;
  // When the data packet before this one came (this one's time for the first).
  const int64_t before_ns = s->data_packets == 0 ? ts_ns : std::min(s->last_ns, ts_ns);
  // The earliest and the latest: a capture's timestamps may go backwards within a flow.
  if (s->data_packets == 0 || ts_ns < s->first_ns) s->first_ns = ts_ns;
  if (s->data_packets == 0 || ts_ns > s->last_ns) s->last_ns = ts_ns;
  ++s->data_packets;
  s->payload += len;
  s->wire += wire_len;
  if (!s->seq_valid) {
    s->high = end;
    s->seq_valid = true;
    AddRecord(s, Record::Make(ts_ns, seq, len, wire_len, false));
    return;
  }
  const int32_t ahead = SeqDiff(seq, s->high);
  if (ahead > 0 && ahead <= kMaxHole) {
    // A hole: the bytes in between never reached this point (receiver vantage). They were
    // lost upstream, in segments like this one, between the packet before and this one. They
    // are placed right after the packet before: a limiter that dropped them was short of
    // tokens then, and its tokens only grow until the next packet it passes (this one), so
    // that is when a policer's drop shows as one (placed at this packet, the drop would meet
    // the tokens this packet found).
    s->holes += uint32_t(ahead);
    for (uint32_t at = s->high; SeqDiff(at, seq) < 0;) {
      const uint32_t piece = std::min<uint32_t>(len, uint32_t(SeqDiff(seq, at)));
      const uint32_t wire = uint32_t(uint64_t(piece) * wire_len / len);
      AddRecord(s, Record::Make(before_ns, at, piece, wire, true, true));
      at += piece;
    }
  } else if (ahead < 0 && SeqDiff(end, s->high) > -kMaxHole) {
    // Repeats sequence space: at a sender, the earlier transmission of it was lost; at a
    // receiver it fills a hole (already counted as missing).
    const uint32_t repeated = SeqDiff(end, s->high) <= 0 ? len : uint32_t(-ahead);
    bool fills_hole = false;
    const size_t stop = s->rec.size > kMaxLookBack ? s->rec.size - kMaxLookBack : 0;
    for (size_t i = s->rec.size; i-- > stop;) {
      Record& r = records_.At(s->rec, uint32_t(i));
      if (uint32_t(seq - r.seq) < r.payload()) {
        fills_hole = r.hole();
        r.set_lost();
        break;
      }
    }
    if (!fills_hole) s->resent += repeated;
  }
  if (SeqDiff(end, s->high) > 0 || ahead > kMaxHole) s->high = end;
  AddRecord(s, Record::Make(ts_ns, seq, len, wire_len, false));
}

namespace {

struct PathRtt {
  const std::vector<stats::RttSample>* samples = nullptr;
  // stats::RttFloor of the samples (their 1st percentile) and their median; -1: no samples.
  double floor = -1, median = -1;
};

// The RTT of the path: of the two sides' samples, the one with the larger median (the other
// side's are the short hop between the capture point and the nearby host).
PathRtt ChooseRtt(const std::vector<stats::RttSample>& a, const std::vector<stats::RttSample>& b) {
  auto med = [](const std::vector<stats::RttSample>& v) {
    std::vector<double> x;
    x.reserve(v.size());
    for (const auto& s : v) x.push_back(s.rtt);
    return Median(std::move(x));
  };
  PathRtt r;
  const double ma = med(a), mb = med(b);
  r.samples = ma >= mb ? &a : &b;
  if (r.samples->empty()) return r;
  r.median = std::max(ma, mb);
  r.floor = stats::RttFloor(*r.samples);
  return r;
}

}  // namespace

void FlowVerdictTracker::AppendTransmissions(const Side& s, const Side& acks_from,
                                             std::vector<stats::Transmission>* out) const {
  const auto rec = records_.view(s.rec);
  const auto acks = acks_.view(acks_from.acks);
  const bool sender = s.holes <= s.resent;
  for (size_t i = 0; i < rec.size(); ++i) {
    if (sender && rec[i].hole()) continue;
    stats::Transmission tx{double(rec[i].ns()) * 1e-9, rec[i].wire(), rec[i].lost()};
    if (sender && !tx.lost) {
      // The first ACK at or beyond this segment's end (the ACKs advance in sequence order).
      const uint32_t end = rec[i].seq + rec[i].payload();
      size_t lo = 0, hi = acks.size();
      while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        if (SeqDiff(acks[mid].ack, end) >= 0) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      if (lo < acks.size()) tx.acked_t = double(acks[lo].ns) * 1e-9;
    }
    out->push_back(tx);
  }
}

std::vector<stats::RttSample> FlowVerdictTracker::RttSamples(const Side& s) const {
  const auto rtt = rtts_.view(s.rtt);
  std::vector<stats::RttSample> out(rtt.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = rtt[i];
  return out;
}

namespace {
std::vector<stats::RttSample> Sorted(std::vector<stats::RttSample> v) {
  std::stable_sort(v.begin(), v.end(),
                   [](const stats::RttSample& a, const stats::RttSample& b) { return a.t < b.t; });
  return v;
}
}  // namespace

FlowVerdict FlowVerdictTracker::Measure(const Trace& t, Direction d) const {
  const Side& s = t.side[d];
  FlowVerdict v;
  v.info = t.info;
  v.dir = d;
  v.first_ns = s.first_ns;
  v.last_ns = s.last_ns;
  v.payload_bytes = s.payload;
  v.wire_bytes = s.wire;
  v.receiver_vantage = s.holes > s.resent;
  v.retrans_bytes = s.resent + s.holes;
  v.data_packets = s.data_packets;
  v.truncated = s.truncated;
  v.remote_host = t.info.remote().ToString();
  const double dur = double(s.last_ns - s.first_ns) * 1e-9;
  if (dur > 0) v.goodput_bps = double(s.payload - std::min(s.payload, s.resent)) * 8 / dur;
  // Of the bytes sent in this direction, the share lost: the payload seen includes the resent
  // bytes, but not the missing ones (a hole the capture never saw filled, e.g. a segment it
  // dropped itself, is counted as sent once and lost). A fraction in [0, 1].
  if (s.payload + s.holes > 0) {
    v.retrans_rate = double(v.retrans_bytes) / double(s.payload + s.holes);
  }
  const std::vector<stats::RttSample> rtt_d = RttSamples(t.side[d]),
                                      rtt_o = RttSamples(t.side[1 - d]);
  const PathRtt path = ChooseRtt(rtt_d, rtt_o);
  v.rtt_floor_s = path.floor;
  v.rtt_median_s = path.median;
  if (path.median > 0) v.queue_delay_s = std::max(0.0, path.median - path.floor);
  if (s.data_packets >= p_.min_data_packets) {
    std::vector<stats::Transmission> tx;
    tx.reserve(s.rec.size);
    AppendTransmissions(s, t.side[1 - d], &tx);
    const auto rtt =
        Sorted(path.samples != nullptr ? *path.samples : std::vector<stats::RttSample>{});
    stats::TokenBucketParams bucket = p_.bucket;
    bucket.loss_times_exact = !v.receiver_vantage;
    v.fit = stats::FitTokenBucket(tx, rtt, bucket);
  }
  return v;
}

void FlowVerdictTracker::Classify(const Side& s, FlowVerdict* v) const {
  const auto rec = records_.view(s.rec);
  auto conf_of = [](const stats::TokenBucketEstimate& e) {
    const double m = std::min({e.losses_in_range, e.passes_in_range, e.episodes_above_rate,
                               1 - e.losses_after_inflation});
    // More loss episodes, more independent checks of the same bucket.
    const double n = std::min(1.0, double(e.loss_episodes) / kPolicedFullEpisodes);
    return std::clamp(kPolicedBase + kPolicedEvidence * m * n, 0.0, 1.0);
  };
  if (v->data_packets < p_.min_data_packets) {
    v->kind = VerdictKind::kInsufficientData;
    return;
  }
  // Policed, at the rate and bucket of `fit` (the flow's own, or its service's).
  const auto policed = [&](const stats::TokenBucketEstimate& fit, EventScope scope) {
    v->kind = VerdictKind::kPoliced;
    v->scope = scope;
    v->rate_bps = fit.rate_Bps * 8;
    v->burst_bytes = fit.burst_bytes;
    v->confidence = conf_of(fit);
    v->limited_since = v->fit.first_loss_t;
  };
  if (v->host_fit.consistent() && v->fit.losses > 0) {
    return policed(v->host_fit, EventScope::kRemoteHost);
  }
  // A flow that looks policed on its own while the losses of its service follow a shared queue
  // lost its packets at that queue.
  const bool shared_queue = v->host_fit.result == stats::BucketFit::kRttInflation ||
                            v->host_fit.result == stats::BucketFit::kQueueAtRate;
  if (v->fit.consistent() && !shared_queue) return policed(v->fit, EventScope::kFlow);
  const double floor = v->rtt_median_s > 0 ? v->rtt_median_s - v->queue_delay_s : 0;
  // A queue holds packets: its delay spans several inter-packet gaps. An application pacing its
  // sends delays each timestamp echo by up to one gap, which is not a queue.
  const double gap_s =
      rec.size() > 1 ? double(rec.back().ns() - rec.front().ns()) * 1e-9 / double(rec.size() - 1)
                     : 0;
  const bool queue = v->rtt_median_s > 0 && v->rtt_median_s > p_.queue_ratio * floor &&
                     v->queue_delay_s > p_.min_queue_s && v->queue_delay_s > kQueueMinGaps * gap_s;
  if (queue) {
    // Delivery rate in windows of two median RTTs inside busy periods (the first window of each
    // period is the ramp-up and is skipped): a shaper holds it steady.
    const double w = std::max(kRateWindowMinS, kRateWindowRtts * v->rtt_median_s);
    std::vector<double> rates;
    size_t i = 0;
    while (i < rec.size()) {
      size_t j = i + 1;
      while (j < rec.size() && double(rec[j].ns() - rec[j - 1].ns()) * 1e-9 <= w) ++j;
      const double t0 = double(rec[i].ns()) * 1e-9 + w;  // skip the first window
      double acc = 0, edge = t0 + w;
      for (size_t k = i; k < j; ++k) {
        const double t = double(rec[k].ns()) * 1e-9;
        if (t < t0) continue;
        while (t >= edge) {
          if (edge + w <= double(rec[j - 1].ns()) * 1e-9) rates.push_back(acc * 8 / w);
          acc = 0;
          edge += w;
        }
        if (!rec[k].lost()) acc += rec[k].wire();
      }
      i = j;
    }
    const double med = Median(rates);
    int near = 0;
    for (double r : rates) near += std::fabs(r - med) <= p_.rate_band * med ? 1 : 0;
    const double share = rates.empty() ? 0 : double(near) / double(rates.size());
    const bool steady = rates.size() >= kMinRateWindows && share >= p_.steady_share;
    v->kind = steady ? VerdictKind::kShaped : VerdictKind::kCongested;
    v->rate_bps = steady ? med : 0;
    v->confidence =
        std::clamp(kQueueVerdictBase + kQueueVerdictShare * (steady ? share : 1 - share), 0.0, 1.0);
    // The first limited moment is taken to be the flow's first data packet (`first_ns`), not
    // the onset of the queue: the queue is judged over the whole flow and not located in time.
    v->limited_since = double(v->first_ns) * 1e-9;
    return;
  }
  const int losses = v->fit.losses;
  if (v->retrans_rate >= p_.lossy_share && losses >= p_.lossy_min_losses) {
    v->kind = VerdictKind::kLossy;
    v->confidence = v->fit.loss_episodes >= p_.bucket.min_loss_episodes ? kFirmConfidence
                                                                        : kTentativeConfidence;
    return;
  }
  v->kind = VerdictKind::kUnlimited;
  v->confidence = v->rtt_median_s > 0 ? kFirmConfidence : kTentativeConfidence;
}

std::vector<FlowVerdict> FlowVerdictTracker::Finish() {
  FlowVerdictTracker* self = this;
  return Finish(std::span<FlowVerdictTracker* const>(&self, 1));
}

std::vector<FlowVerdict> FlowVerdictTracker::Finish(std::span<FlowVerdictTracker* const> trackers) {
  struct Item {
    const FlowVerdictTracker* owner;
    const Trace* t;
    Direction d;
  };
  std::vector<Item> items;
  for (const FlowVerdictTracker* tr : trackers) {
    for (const Trace& t : tr->traces_) {
      if (t.side[0].payload + t.side[1].payload == 0) continue;
      items.push_back({tr, &t,
                       t.side[capture::kUp].payload >= t.side[capture::kDown].payload
                           ? capture::kUp
                           : capture::kDown});
    }
  }
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.t->info.id < b.t->info.id; });
  // Measuring (RTT statistics, the flow's own policer test) is most of the cost and reads only
  // the flow's tracker: each tracker's flows are measured on a thread of their own, the first
  // tracker's on the caller's.
  std::vector<FlowVerdict> out(items.size());
  const auto measure = [&items, &out](const FlowVerdictTracker* tr) {
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].owner == tr) out[i] = tr->Measure(*items[i].t, items[i].d);
    }
  };
  std::vector<std::thread> helpers;
  for (size_t k = 1; k < trackers.size(); ++k) {
    try {
      helpers.emplace_back(measure, trackers[k]);
    } catch (const std::system_error&) {  // no thread to be had: measure here
      measure(trackers[k]);
    }
  }
  if (!trackers.empty()) measure(trackers[0]);
  for (std::thread& t : helpers) t.join();
  if (trackers.empty()) return out;
  const VerdictParams& p = trackers.front()->p_;

  // Service level: flows towards one remote host in one direction may share one policer
  // (a per-service or per-subscriber cap). Test their transmissions merged in time.
  std::map<std::pair<std::string, int>, std::vector<size_t>> groups;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].data_packets < p.min_data_packets) continue;
    groups[{out[i].remote_host, int(out[i].dir)}].push_back(i);
  }
  for (auto& [key, members] : groups) {
    // The flows of one host in one direction pass the capture point on the same side of any
    // limiter: the side of the flow with the most lost bytes. A flow whose own counts say the
    // other side (a few spurious resends at a receiver) has no losses to test a shared bucket
    // with, and is left out.
    size_t most = members.front();
    for (size_t i : members) {
      if (out[i].retrans_bytes > out[most].retrans_bytes) most = i;
    }
    const bool receiver = out[most].receiver_vantage;
    std::erase_if(members, [&](size_t i) { return out[i].receiver_vantage != receiver; });
    int with_losses = 0;
    for (size_t i : members) with_losses += out[i].fit.losses > 0 ? 1 : 0;
    if (members.size() < 2 || with_losses < 2) continue;
    std::vector<stats::Transmission> tx;
    std::vector<stats::RttSample> rtt;
    for (size_t i : members) {
      const Item& it = items[i];
      const Trace& t = *it.t;
      it.owner->AppendTransmissions(t.side[it.d], t.side[1 - it.d], &tx);
      const std::vector<stats::RttSample> rtt_d = it.owner->RttSamples(t.side[it.d]),
                                          rtt_o = it.owner->RttSamples(t.side[1 - it.d]);
      const PathRtt path = ChooseRtt(rtt_d, rtt_o);
      if (path.samples != nullptr)
        rtt.insert(rtt.end(), path.samples->begin(), path.samples->end());
    }
    std::stable_sort(
        tx.begin(), tx.end(),
        [](const stats::Transmission& a, const stats::Transmission& b) { return a.t < b.t; });
    rtt = Sorted(std::move(rtt));
    stats::TokenBucketParams bucket = p.bucket;
    bucket.loss_times_exact = !receiver;
    const stats::TokenBucketEstimate est = stats::FitTokenBucket(tx, rtt, bucket);
    for (size_t i : members) {
      out[i].host_fit = est;
      out[i].host_flows = with_losses;
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    items[i].owner->Classify(items[i].t->side[items[i].d], &out[i]);
  }
  for (FlowVerdictTracker* tr : trackers) tr->Clear();
  return out;
}

void FlowVerdictTracker::Clear() {
  traces_.clear();
  free_traces_.clear();
  clocks_.clear();
  free_clocks_.clear();
  index_.clear();
  cached_ = 0;
  records_total_ = 0;
  rtts_total_ = 0;
  acks_total_ = 0;
  records_.Clear();
  rtts_.Clear();
  acks_.Clear();
}

}  // namespace tw::detector
