#include "detector/throttle_detector.h"

#include <algorithm>
#include <cmath>

#include "stats/level.h"
#include "stats/segmentation.h"

namespace tw::detector {

using capture::Direction;
using capture::FlowBin;

namespace {
double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  return stats::EstimateLevel(v).median;
}
}  // namespace

ThrottleDetector::ThrottleDetector(const ThrottleParams& params, EventSink* sink,
                                   uint64_t* next_event_id)
    : p_(params), sink_(sink), next_id_(next_event_id) {}

size_t ThrottleDetector::open_throttles() const {
  size_t n = 0;
  for (const auto& [id, f] : flows_) {
    for (const Series* s : f.dir) n += (s != nullptr && s->open) ? 1 : 0;
  }
  return n;
}

void ThrottleDetector::OnBin(int64_t start_ns, int64_t width_ns, std::span<const FlowBin> flows,
                             bool suppress) {
  pending_.clear();
  for (const FlowBin& fb : flows) {
    auto it = flows_.find(fb.info.id);
    if (it == flows_.end()) {
      if (fb.dir[capture::kUp].payload_bytes == 0 && fb.dir[capture::kDown].payload_bytes == 0) {
        continue;  // flows that never carried data are not tracked
      }
      it = flows_.emplace(fb.info.id, FlowSeries{}).first;
      it->second.info = fb.info;
      it->second.storage.reserve(2);
    }
    FlowSeries& f = it->second;
    for (Direction d : {capture::kUp, capture::kDown}) {
      const capture::DirectionBin& b = fb.dir[d];
      if (f.dir[d] == nullptr) {
        if (b.payload_bytes == 0) continue;  // series start with the first data
        f.storage.emplace_back(p_.drop);
        f.dir[d] = &f.storage.back();
      }
      Series& s = *f.dir[d];
      const size_t slot = size_t(s.n % kRing);
      s.payload[slot] = float(b.payload_bytes);
      s.wire[slot] = float(b.payload_bytes > 0 ? b.wire_bytes : 0);
      s.zero_window_bits = (s.zero_window_bits << 1) | (b.zero_window ? 1 : 0);
      ++s.n;
      const stats::DropDecision dec = s.det.Observe(double(b.payload_bytes));
      if (dec != stats::DropDecision::kNone) pending_.push_back({&f, d, dec});
    }
  }
  const int64_t bin_end = start_ns + width_ns;
  for (const Pending& pd : pending_) {
    if (pd.decision == stats::DropDecision::kDrop) {
      if (!suppress) OnDrop(pd.flow, pd.d, bin_end, width_ns);
    } else {
      OnRecovery(pd.flow, pd.d, bin_end, width_ns);
    }
  }
}

double ThrottleDetector::RefineOnset(const Series& s, int onset_ago, int* split_ago) const {
  const int span = int(std::min<int64_t>(s.n, std::min(kRing, onset_ago + 1 + p_.reference_bins)));
  std::vector<double> x(static_cast<size_t>(span));
  for (int i = 0; i < span; ++i) x[size_t(i)] = s.payload_ago(span - 1 - i);
  size_t split = stats::BestSingleChange(x, 1);
  if (split == 0) split = size_t(std::max(0, span - 1 - onset_ago));
  *split_ago = span - 1 - int(split);
  // The bin just before the split usually straddles the change: place the change inside it
  // in proportion to how far its value sits between the levels on either side.
  double frac = 0;  // share of bin (split - 1) that ran at the new level
  if (split >= 2) {
    const double before = Median({x.begin(), x.begin() + long(split) - 1});
    const double after = Median({x.begin() + long(split), x.end()});
    const double v = x[split - 1];
    if (before != after) frac = std::clamp((before - v) / (before - after), 0.0, 1.0);
  }
  return double(*split_ago) + frac;  // bins ago, measured from the end of the current bin
}

void ThrottleDetector::OnDrop(FlowSeries* f, Direction d, int64_t bin_end_ns, int64_t width_ns) {
  Series& s = *f->dir[d];
  if (s.open) return;
  const double width_s = double(width_ns) * 1e-9;
  int split_ago = 0;
  const double change_ago = RefineOnset(s, s.det.onset_bins_ago(), &split_ago);
  const double ts = double(bin_end_ns) * 1e-9 - (change_ago + 1) * width_s;

  // Levels before (excluding the straddling bin) and after (excluding the first low bin when
  // there are enough) the change, in wire bits per second.
  std::vector<double> before, after;
  for (int k = split_ago + 2; k < std::min<int64_t>(s.n, kRing) && k <= split_ago + 1 +
                                                                       p_.reference_bins;
       ++k) {
    before.push_back(s.wire_ago(k));
  }
  int zero_bins = 0;
  for (int k = 0; k <= split_ago; ++k) {
    if (k == split_ago && split_ago >= 3) break;
    after.push_back(s.wire_ago(k));
    if (s.payload_ago(k) == 0) ++zero_bins;
  }
  const double rate_before = Median(before) * 8 / width_s;
  const double rate_after = Median(after) * 8 / width_s;
  if (before.empty() || rate_before < p_.min_rate_bps) return;
  if (rate_after > (1 - p_.drop.min_drop) * rate_before) return;  // the refined drop is too small
  // Application-limited: the flow mostly stopped sending rather than slowing down.
  if (double(zero_bins) > p_.max_idle_share * double(after.size())) return;
  // Receiver-limited: a zero window since the change.
  const uint64_t since_mask = split_ago >= 63 ? ~0ULL : ((2ULL << split_ago) - 1);
  if (s.zero_window_bits & since_mask) return;

  // Reference: concurrent flows in the same direction that carried data before the change.
  int refs = 0, refs_dropped = 0;
  const int ref_end = split_ago + 1;  // bins [0, ref_end) are after the change
  for (auto& [id, other] : flows_) {
    if (&other == f || other.dir[d] == nullptr) continue;
    const Series& o = *other.dir[d];
    if (o.n < ref_end + 3) continue;
    double sum_after = 0, sum_before = 0;
    int n_before = 0;
    for (int k = 0; k < ref_end; ++k) sum_after += o.payload_ago(k);
    for (int k = ref_end + 1; k < std::min<int64_t>(o.n, kRing) && k <= ref_end + p_.reference_bins;
         ++k, ++n_before) {
      sum_before += o.payload_ago(k);
    }
    if (n_before == 0) continue;
    const double mean_before = sum_before / n_before;
    if (mean_before * 8 / width_s < p_.min_rate_bps) continue;
    ++refs;
    if (sum_after / ref_end < p_.ref_dropped_ratio * mean_before) ++refs_dropped;
  }
  const bool targeted = refs > 0 && refs_dropped == 0;

  // Confidence: depth of the drop, how many reference flows vouch for "targeted", persistence.
  const double depth = std::clamp(std::log(rate_before / std::max(rate_after, 1.0)) / std::log(8.0),
                                  0.0, 1.0);
  double conf = 0.45 + 0.25 * depth;
  if (refs > 0) conf += 0.3 * double(refs - refs_dropped) / refs;
  Event& e = s.start;
  e = Event{};
  e.id = (*next_id_)++;
  e.kind = EventKind::kThrottle;
  e.state = EventState::kStart;
  e.ts = ts;
  e.detected_at = double(bin_end_ns) * 1e-9;
  e.scope = EventScope::kFlow;
  e.direction = d;
  e.has_flow = true;
  e.flow = f->info;
  e.rate_before_bps = rate_before;
  e.rate_after_bps = rate_after;
  e.targeted = targeted;
  e.confidence = std::clamp(conf, 0.0, 1.0);
  s.open = true;
  sink_->OnEvent(e);
}

void ThrottleDetector::End(Series* s, double ts, double detected_at, double rate_during,
                           double rate_after, const char* reason) {
  Event e = s->start;
  e.state = EventState::kEnd;
  e.ts = ts;
  e.detected_at = detected_at;
  e.rate_before_bps = rate_during;
  e.rate_after_bps = rate_after;
  e.duration_s = ts - s->start.ts;
  e.reason = reason;
  s->open = false;
  sink_->OnEvent(e);
}

void ThrottleDetector::OnRecovery(FlowSeries* f, Direction d, int64_t bin_end_ns,
                                  int64_t width_ns) {
  Series& s = *f->dir[d];
  if (!s.open) return;
  const double width_s = double(width_ns) * 1e-9;
  int split_ago = 0;
  const double change_ago = RefineOnset(s, s.det.onset_bins_ago(), &split_ago);
  const double ts = std::max(s.start.ts, double(bin_end_ns) * 1e-9 - (change_ago + 1) * width_s);
  std::vector<double> during, after;
  const double bins_throttled = (ts - s.start.ts) / width_s;
  for (int k = split_ago + 2; k < std::min<int64_t>(s.n, kRing) && k < split_ago + 2 +
                                                                       bins_throttled - 1;
       ++k) {
    during.push_back(s.wire_ago(k));
  }
  for (int k = 0; k <= split_ago; ++k) after.push_back(s.wire_ago(k));
  const double rate_during = during.empty() ? s.start.rate_after_bps
                                            : Median(during) * 8 / width_s;
  End(&s, ts, double(bin_end_ns) * 1e-9, rate_during, Median(after) * 8 / width_s, "recovered");
}

void ThrottleDetector::OnFlowEnd(const capture::FlowInfo& info, capture::FlowEnd why,
                                 int64_t last_ns) {
  auto it = flows_.find(info.id);
  if (it == flows_.end()) return;
  if (why != capture::FlowEnd::kEndOfInput) {
    const char* reason = why == capture::FlowEnd::kEvicted ? "evicted" : "flow_end";
    for (Series* s : it->second.dir) {
      if (s == nullptr || !s->open) continue;
      // The throttle ends with the flow, at its last packet.
      End(s, std::max(s->start.ts, double(last_ns) * 1e-9), double(last_ns) * 1e-9,
          s->start.rate_after_bps, 0, reason);
    }
  }
  flows_.erase(it);
}

}  // namespace tw::detector
