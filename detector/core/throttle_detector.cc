#include "detector/core/throttle_detector.h"

#include <algorithm>
#include <cmath>

#include "capture/ip_proto.h"
#include "stats/level.h"
#include "stats/segmentation.h"
#include "util/floor_div.h"

namespace tw::detector {

using capture::Direction;
using capture::FlowBin;

namespace {

using stats::Median;

// A squeeze within this many bins of a series' start is reported with the bytes that passed
// before it as the token bucket's burst: a bucket drains within seconds of a fast start,
// whereas a throttle switched on mid-flow has no "burst" to speak of.
constexpr int64_t kBurstHorizonBins = 30;

// Confidence of a flow or host throttle: a base for a drop the change-point test found, plus
// how deep the drop is (full at kFullDepthRatio, on a log scale), how clearly concurrent flows
// kept their rate (full with kFullReferences of them unharmed), and whether TCP shows the
// network's hand (a queue or losses). The weights add up to 1.
constexpr double kConfidenceBase = 0.35;
constexpr double kDepthWeight = 0.2;
constexpr double kFullDepthRatio = 8.0;
constexpr double kTargetedWeight = 0.25;
constexpr int kFullReferences = 2;
constexpr double kEvidenceWeight = 0.2;
// Confidence of a link throttle: a base, the depth, the share of flows that dropped with the
// link, and the share of them that TCP shows limited by the network. The weights add up to 1.
constexpr double kLinkConfidenceBase = 0.4;
constexpr double kLinkSharedWeight = 0.2;
constexpr double kLinkAgreementWeight = 0.2;
// A link-wide throttle needs network-limited TCP flows of this many distinct remote hosts.
constexpr int kMinLinkHosts = 2;
// A drop judged idle is judged again this many bins later, at most kMaxRejudges times: enough
// for one empty bin at the onset (a fetch ending as a limiter begins) to weigh less than the
// idle share, not so long that a source that really stopped holds a drop open. A drop with no
// reference yet (other sites read, not fetched) waits as long as it lasts and its onset, with
// the bins before it, is still in the series' history: no reference is no evidence either way.
constexpr int kRejudgeBins = 3;
constexpr int kMaxRejudges = 3;

// A host's busy series outlives its last flow by this many bins (a minute at the default bin):
// the pages of a site come back within it, and its history is that of all its visits.
constexpr int64_t kHostLingerBins = 60;

// "Most flows": the share of concurrent flows whose drop makes a drop not one flow's own.
constexpr double kMostFlows = 0.5;
// A host throttle needs at least this many of the host's flows, most of them squeezed.
constexpr int kMinHostMembers = 2;

// A TCP bin's rate while busy (see BusyFactor) needs this many data packets: fewer gaps are
// no estimate of a rate.
constexpr uint32_t kMinBusyPackets = 8;

// A UDP series whose data packets after a drop average less than this share of their size
// before it was not limited but sent less (see Judge): half, well beyond the few large or small
// packets a bin's mix of data and control gains or loses.
constexpr double kMinPacketSizeShare = 0.5;

// More than half: `part` of `whole`.
constexpr bool StrictMajority(int part, int whole) { return 2 * part > whole; }

// How deep a drop is, from 0 (none) to 1 (kFullDepthRatio or deeper), on a log scale.
double DropDepth(double rate_before_bps, double rate_after_bps) {
  return std::clamp(
      std::log(rate_before_bps / std::max(rate_after_bps, 1.0)) / std::log(kFullDepthRatio), 0.0,
      1.0);
}

}  // namespace

const char* DropClassName(DropClass c) {
  switch (c) {
    case DropClass::kThrottle:
      return "throttle";
    case DropClass::kDemandChange:
      return "demand_change";
    case DropClass::kIdle:
      return "idle";
    case DropClass::kReceiverLimited:
      return "receiver_limited";
    case DropClass::kCongestion:
      return "congestion";
    case DropClass::kTooSlow:
      return "too_slow";
    case DropClass::kUnsettled:
      return "unsettled";
    case DropClass::kNoReference:
      return "no_reference";
  }
  return "?";
}

ThrottleDetector::ThrottleDetector(const ThrottleParams& params, EventSink* sink,
                                   uint64_t* next_event_id)
    : p_(params),
      sink_(sink),
      next_id_(next_event_id),
      link_{Series(params.drop), Series(params.drop)} {}

size_t ThrottleDetector::open_throttles() const {
  size_t n = 0;
  for (const auto& [id, f] : flows_) {
    for (const auto& s : f.dir) n += (s != nullptr && s->open) ? 1 : 0;
  }
  for (const Series& s : link_) n += s.open ? 1 : 0;
  for (const auto& [key, h] : hosts_) n += h.open() ? 1 : 0;
  return n;
}

double ThrottleDetector::BusyFactor(const capture::DirectionBin& b, const capture::BusyBin& busy,
                                    int64_t width_ns) {
  if (b.payload_bytes == 0 || b.data_packets < kMinBusyPackets || busy.us == 0) return 1;
  const double busy_rate = double(busy.bytes) / (double(busy.us) * 1e3);  // bytes per ns
  return std::max(1.0, busy_rate * double(width_ns) / double(b.payload_bytes));
}

bool ThrottleDetector::Unmeasured(const capture::DirectionBin& b, const capture::BusyBin& busy,
                                  int64_t width_ns) {
  return b.data_packets < kMinBusyPackets && int64_t(busy.us) * 2000 < width_ns;
}

void ThrottleDetector::Push(Series* s, const capture::DirectionBin& b, const capture::RttBin* rtt,
                            int64_t bin_no, double factor) {
  const size_t slot = size_t(s->n % kRing);
  if (s->origin_bin < 0) s->origin_bin = bin_no;
  s->ring[slot].bin = uint32_t(bin_no - s->origin_bin);
  s->ring[slot].payload = float(double(b.payload_bytes) * factor);
  s->ring[slot].carried = float(b.payload_bytes);
  s->ring[slot].wire = float(b.payload_bytes > 0 ? double(b.wire_bytes) * factor : 0);
  s->ring[slot].retrans = float(b.retrans_bytes);
  s->ring[slot].packets = float(b.data_packets);
  // The bin's smallest sample: pacing and delayed ACKs only ever add to a sample, a queue
  // raises all of them.
  s->ring[slot].rtt = rtt != nullptr && rtt->samples > 0 ? rtt->min_s : 0.0f;
  s->zero_window_bits = (s->zero_window_bits << 1) | (b.zero_window ? 1 : 0);
  s->cum_payload += double(b.payload_bytes);
  ++s->n;
}

void ThrottleDetector::FindAndPrefetch(std::span<const FlowBin> block, FlowSeries** found) {
  for (size_t j = 0; j < block.size(); ++j) {
    auto it = flows_.find(block[j].info.id);
    found[j] = it == flows_.end() ? nullptr : &it->second;
  }
  for (size_t j = 0; j < block.size(); ++j) {
    if (found[j] == nullptr) continue;
    for (Direction d : {capture::kUp, capture::kDown}) {
      const Series* s = found[j]->dir[d].get();
      if (s == nullptr) continue;
      s->Prefetch();
      __builtin_prefetch(found[j]->host[d], 1);
    }
  }
  for (size_t j = 0; j < block.size(); ++j) {  // the slot of the ring the bin goes to
    if (found[j] == nullptr) continue;
    for (const SeriesPool::Ptr& s : found[j]->dir) {
      if (s != nullptr) s->PrefetchSlot();
    }
  }
}

void ThrottleDetector::RecordBin(const FlowBin& fb, FlowSeries* found, int64_t bin_no,
                                 int64_t width_ns, capture::DirectionBin* link) {
  for (Direction d : {capture::kUp, capture::kDown}) {
    link[d].payload_bytes += fb.dir[d].payload_bytes;
    link[d].wire_bytes += fb.dir[d].payload_bytes > 0 ? fb.dir[d].wire_bytes : 0;
    link[d].retrans_bytes += fb.dir[d].retrans_bytes;
  }
  if (found == nullptr) {
    if (fb.dir[capture::kUp].payload_bytes == 0 && fb.dir[capture::kDown].payload_bytes == 0) {
      return;  // flows that never carried data are not tracked
    }
    found = &flows_.emplace(fb.info.id, FlowSeries{}).first->second;
    found->info = fb.info;
  }
  FlowSeries& f = *found;
  f.closed = f.closed || fb.closed;
  for (Direction d : {capture::kUp, capture::kDown}) {
    if (f.dir[d] == nullptr) {
      if (fb.dir[d].payload_bytes == 0) continue;  // a series starts with its first data
      if (f.dir[1 - d] == nullptr) f.first = d;
      f.dir[d] = series_pool_.Make(p_.drop);
      HostSeries& h = hosts_[{fb.info.remote(), int(d)}];
      f.host[d] = &h;
      h.some_flow = std::max(h.some_flow, fb.info.id);  // the newest: whatever the bin's order
      h.tcp = h.tcp && fb.info.proto() == capture::kIpProtoTcp;
      if (++h.flows >= 2 && h.series == nullptr) {
        h.series = series_pool_.Make(p_.drop);
        const HostKey key{fb.info.remote(), int(d)};
        series_hosts_.insert(
            std::lower_bound(series_hosts_.begin(), series_hosts_.end(), key,
                             [](const auto& e, const HostKey& k) { return e.first < k; }),
            {key, &h});
      }
    }
    Series& s = *f.dir[d];
    // A download's series holds its rate while busy: a sender that pauses between transfers
    // (a player with a full buffer, over TCP or QUIC) is judged by what the path gave it while
    // it sent. Arrivals only: their spacing is the path's; a local sender's departures, seen
    // before the path, leave in bursts at the speed of its own interface.
    const bool tcp = fb.info.proto() == capture::kIpProtoTcp;
    const bool busy_rate = (tcp || fb.info.proto() == capture::kIpProtoUdp) && d == capture::kDown;
    Push(&s, fb.dir[d], &fb.rtt, bin_no,
         busy_rate ? BusyFactor(fb.dir[d], fb.busy[d], width_ns) : 1.0);
    {  // summed for every flow, used once the host has a series (see below)
      HostSeries& h = *f.host[d];
      if (!h.summed) {
        h.summed = true;
        summed_.push_back(&h);
      }
      const capture::DirectionBin& b = fb.dir[d];
      h.sum.payload_bytes += b.payload_bytes;
      h.sum.wire_bytes += b.payload_bytes > 0 ? b.wire_bytes : 0;
      h.sum.retrans_bytes += b.retrans_bytes;
      h.sum.data_packets += b.data_packets;
      h.sum.zero_window = h.sum.zero_window || b.zero_window;
      h.busy.bytes += fb.busy[d].bytes;
      h.busy.us = std::max(h.busy.us, fb.busy[d].us);
      if (fb.rtt.samples > 0 && (h.rtt.samples == 0 || fb.rtt.min_s < h.rtt.min_s)) {
        h.rtt.min_s = fb.rtt.min_s;
      }
      h.rtt.samples += fb.rtt.samples;
    }
    const stats::DropDecision dec = s.det.Observe(double(s.ring[s.slot(0)].payload));
    const bool rejudge = RejudgeDue(&s, dec);
    if (dec != stats::DropDecision::kNone || rejudge) {
      pending_.push_back({&f, d, rejudge ? stats::DropDecision::kDrop : dec});
    }
  }
}

void ThrottleDetector::OnBin(int64_t start_ns, int64_t width_ns, std::span<const FlowBin> flows,
                             bool suppress) {
  pending_.clear();
  const int64_t bin_no = util::FloorDiv(start_ns, width_ns);
  capture::DirectionBin link[2];
  // A block of flows at a time: their lookups first, then the lines their series and hosts
  // will need are asked for, then they are recorded. Taken flow by flow, the few cache misses
  // of each series (a bin close visits every flow's) came one after another; asked for a block
  // ahead, they overlap (bench/detector_bench, 200 000 flows: a bin close 2x faster).
  constexpr size_t kBlock = 16;
  std::array<FlowSeries*, kBlock> found;
  for (size_t b0 = 0; b0 < flows.size(); b0 += kBlock) {
    const std::span<const FlowBin> block = flows.subspan(b0, std::min(kBlock, flows.size() - b0));
    FindAndPrefetch(block, found.data());
    for (size_t j = 0; j < block.size(); ++j) {
      RecordBin(block[j], found[j], bin_no, width_ns, link);
    }
  }
  const int64_t bin_end = start_ns + width_ns;
  // Host series first: a flow's drop defers to its host's service event.
  // Results must not depend on the order of `flows` (a sharded pipeline concatenates its
  // shards' bins): sums above are exact, drops are judged in order of flow id.
  std::sort(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) {
    return a.flow->info.id != b.flow->info.id ? a.flow->info.id < b.flow->info.id : a.d < b.d;
  });
  for (size_t i = 0; i < series_hosts_.size(); ++i) {  // in order of host, as hosts_
    // The same misses as the flows' (the host, its series, the series' ring slot), asked for
    // a few hosts ahead: one level per distance.
    if (i + 12 < series_hosts_.size()) __builtin_prefetch(series_hosts_[i + 12].second);
    if (i + 8 < series_hosts_.size()) series_hosts_[i + 8].second->series->Prefetch();
    if (i + 4 < series_hosts_.size()) series_hosts_[i + 4].second->series->PrefetchSlot();
    const auto& [key, hp] = series_hosts_[i];
    HostSeries& h = *hp;
    const bool busy = Busy(Direction(key.second));
    const bool data = h.sum.payload_bytes > 0;
    if (data) h.last_data_bin = bin_no;
    // A busy series holds the bins its flows sent in, at their rate while busy. A bin with too
    // few packets to measure that rate (BusyFactor) whose senders were busy for less than half
    // of it measured nothing of the path (a short exchange, then silence: its average is the
    // application's, not a limiter's), and is skipped too; a sender held to a low rate is busy
    // all the bin, its average the rate.
    if (busy && (!data || Unmeasured(h.sum, h.busy, width_ns))) {
      h.sum = {};
      h.busy = {};
      h.rtt = {};
      continue;
    }
    Push(h.series.get(), h.sum, &h.rtt, bin_no, busy ? BusyFactor(h.sum, h.busy, width_ns) : 1.0);
    h.sum = {};
    h.busy = {};
    h.rtt = {};
    Series& hs = *h.series;
    const stats::DropDecision dec = hs.det.Observe(double(hs.ring[hs.slot(0)].payload));
    const bool rejudge = RejudgeDue(h.series.get(), dec);
    if (dec == stats::DropDecision::kDrop || rejudge) {
      if (!suppress) OnHostDrop(key, &h, bin_end, width_ns);
    } else if (dec == stats::DropDecision::kRecovery) {
      OnRecovery(h.series.get(), bin_end, width_ns);
    }
  }
  for (HostSeries* h : summed_) {  // the sums of hosts without a series, unused
    h->sum = {};
    h->busy = {};
    h->rtt = {};
    h->summed = false;
  }
  summed_.clear();
  ExpireHosts(bin_no, width_ns);
  for (const Pending& pd : pending_) {
    if (pd.decision == stats::DropDecision::kDrop) {
      if (!suppress) OnDrop(pd.flow, pd.d, bin_end, width_ns);
    } else {
      OnRecovery(pd.flow->dir[pd.d].get(), bin_end, width_ns);
    }
  }
  for (Direction d : {capture::kUp, capture::kDown}) {
    Series& s = link_[d];
    Push(&s, link[d], nullptr, bin_no);
    const stats::DropDecision dec = s.det.Observe(double(link[d].payload_bytes));
    const bool rejudge = RejudgeDue(&s, dec);
    if (dec == stats::DropDecision::kDrop || rejudge) {
      if (!suppress) OnLinkDrop(d, bin_end, width_ns);
    } else if (dec == stats::DropDecision::kRecovery) {
      OnRecovery(&s, bin_end, width_ns);
    }
  }
}

void ThrottleDetector::Dismiss(DropClass c, Series* s) {
  ++dismissed_[c];
  const bool again =
      c == DropClass::kIdle || c == DropClass::kUnsettled || c == DropClass::kNoReference;
  // A drop with no reference yet waits while its onset stays judgeable (see kRejudgeBins).
  const bool waits =
      c == DropClass::kNoReference && s->onset_ago + kRejudgeBins + 1 + p_.reference_bins < kRing;
  if (again && (s->rejudges < kMaxRejudges || waits)) {
    if (s->rejudges++ == 0) s->onset_ago = int16_t(s->det.onset_bins_ago());
    s->rejudge_in = kRejudgeBins;
    return;  // still in the drop: no new baseline yet
  }
  s->rejudges = 0;
  s->rejudge_in = 0;
  s->det.Rebase();
}

bool ThrottleDetector::RejudgeDue(Series* s, stats::DropDecision dec) {
  if (s->rejudges == 0) return false;
  if (dec != stats::DropDecision::kNone || !s->det.in_drop() || s->open) {
    s->rejudges = 0;  // recovered, or a new decision: the pending one is moot
    s->rejudge_in = 0;
    return false;
  }
  // The onset moves a bin further back with every bin (at most the series' history).
  s->onset_ago = int16_t(std::min<int>(s->onset_ago + 1, kRing - 1));
  return s->rejudge_in > 0 && --s->rejudge_in == 0;
}

double ThrottleDetector::RefineOnset(const Series& s, int onset_ago, int* split_ago) const {
  const int span = std::min(s.history(), onset_ago + 1 + p_.reference_bins);
  // The bins the series was backlogged in, oldest first, and how many bins ago each was: a
  // pause shows no level, and splitting a burst-and-pause series at a pause places the change
  // where the bursts changed rhythm, not where the level changed.
  std::vector<double> x;
  std::vector<int> ago;
  x.reserve(size_t(span));
  ago.reserve(size_t(span));
  for (int k = span - 1; k >= 0; --k) {
    const double v = s.ring[s.slot(k)].payload;
    if (v <= 0) continue;
    x.push_back(v);
    ago.push_back(k);
  }
  if (x.size() < 2) {
    *split_ago = onset_ago;
    return double(onset_ago);
  }
  // The detector's excursion began `onset_ago` bins back; the change is there or in the bin
  // before it (a straddling bin may fall too little to start the excursion). Earlier bins only
  // describe the level before: a catch-up burst among them (TCP after an earlier squeeze) is
  // not the change.
  size_t onset_index = 0;
  while (onset_index + 1 < x.size() && ago[onset_index] > onset_ago) ++onset_index;
  size_t split = stats::BestSingleChangeRobust(x, onset_index > 0 ? onset_index - 1 : 0);
  if (split == 0 || split >= x.size()) split = onset_index;
  *split_ago = ago[split];
  // The bin just before the split usually straddles the change (when it is the bin right before
  // it, not one before a pause): place the change inside it in proportion to how far its value
  // sits between the levels on either side.
  double frac = 0;  // share of bin (split - 1) that ran at the new level
  if (split >= 2 && ago[split - 1] == ago[split] + 1) {
    const double before = Median({x.begin(), x.begin() + long(split) - 1});
    const double after = Median({x.begin() + long(split), x.end()});
    const double v = x[split - 1];
    if (before != after) frac = std::clamp((before - v) / (before - after), 0.0, 1.0);
  }
  return double(*split_ago) + frac;
}

ThrottleDetector::Evidence ThrottleDetector::Judge(const Series& s, bool tcp, int split_ago,
                                                   double width_s) const {
  Evidence ev;
  const int hist = s.history();
  std::vector<double> before, after, rtt_before, rtt_after;
  // Rates are judged over the bins the series was backlogged in, not averaged with its pauses:
  // a player that fetches in bursts is as fast inside them as ever, and a lower average is no
  // squeeze. Empty bins after the change count towards the idle share instead.
  double carried_before = 0, packets_before = 0, carried_after = 0;
  for (int k = split_ago + 2; k < hist && k <= split_ago + 1 + p_.reference_bins; ++k) {
    if (s.ring[s.slot(k)].payload == 0) continue;
    before.push_back(s.ring[s.slot(k)].wire);
    carried_before += s.ring[s.slot(k)].carried;
    packets_before += s.ring[s.slot(k)].packets;
    if (s.ring[s.slot(k)].rtt > 0) rtt_before.push_back(s.ring[s.slot(k)].rtt);
  }
  int zero_bins = 0;
  double retrans = 0, payload = 0, packets_after = 0;
  for (int k = 0; k <= split_ago + 1 && k < hist; ++k) {
    // The straddling bin (split_ago + 1) carries the first losses and queueing of the change.
    retrans += s.ring[s.slot(k)].retrans;
    payload += s.ring[s.slot(k)].payload;
    if (s.ring[s.slot(k)].rtt > 0) rtt_after.push_back(s.ring[s.slot(k)].rtt);
    if (k > split_ago) continue;
    if (k == split_ago && split_ago >= 3) continue;  // the first low bin is still settling
    if (s.ring[s.slot(k)].payload == 0) {
      ++zero_bins;
      continue;
    }
    after.push_back(s.ring[s.slot(k)].wire);
    carried_after += s.ring[s.slot(k)].carried;
    packets_after += s.ring[s.slot(k)].packets;
  }
  ev.rate_before_bps = Median(before) * 8 / width_s;
  ev.rate_after_bps = Median(after) * 8 / width_s;
  ev.rtt_before_s = Median(rtt_before);
  ev.rtt_after_s = Median(rtt_after);
  ev.loss_share = payload > 0 ? retrans / payload : 0;
  const double gap_s = packets_after > 0 ? width_s * double(after.size()) / packets_after : width_s;
  const double rise = ev.rtt_after_s - ev.rtt_before_s;
  ev.inflated = ev.rtt_before_s > 0 && ev.rtt_after_s >= p_.rtt_inflation * ev.rtt_before_s &&
                rise >= p_.min_rtt_rise_s && rise >= p_.queue_packets * gap_s;
  ev.lossy = ev.loss_share >= p_.min_loss_share;
  ev.mechanism = ev.inflated ? Mechanism::kShaping
                 : ev.lossy  ? Mechanism::kPolicing
                             : Mechanism::kUnknown;
  const uint64_t since_mask = split_ago >= 63 ? ~0ULL : ((2ULL << split_ago) - 1);
  if (before.empty() || ev.rate_before_bps < p_.min_rate_bps) {
    ev.cls = DropClass::kTooSlow;
  } else if (after.empty() ||
             double(zero_bins) > p_.max_idle_share * double(after.size() + zero_bins)) {
    ev.cls = DropClass::kIdle;
  } else if (s.zero_window_bits & since_mask) {
    ev.cls = DropClass::kReceiverLimited;
  } else if (ev.rate_after_bps > (1 - p_.drop.min_drop) * ev.rate_before_bps) {
    ev.cls = DropClass::kDemandChange;  // the refined drop is smaller than reported drops
  } else if (tcp && !ev.inflated && !ev.lossy) {
    // TCP shows a network limit as a queue or as loss; a slower flow with neither is the
    // application sending less.
    ev.cls = DropClass::kDemandChange;
  } else if (!tcp && packets_before > 0 && packets_after > 0 &&
             carried_after / packets_after <
                 kMinPacketSizeShare * carried_before / packets_before) {
    // A limiter delays or drops a sender's packets; it does not make them smaller. A flow whose
    // packets shrank has less to say (a transfer done, keep-alives left), whatever its rate.
    ev.cls = DropClass::kDemandChange;
  } else if (!tcp && !IsPlateau(after)) {
    // UDP shows neither to a passive observer. What a rate limiter leaves is its own rate: a
    // sender backlogged behind it gets the same bytes every bin. A sender that fetches in
    // bursts and pauses (a player with a full buffer) shows a lower average, not a plateau;
    // the first bins after a limiter begins may not show it yet either (see Dismiss).
    ev.cls = DropClass::kUnsettled;
  }
  return ev;
}

bool ThrottleDetector::IsPlateau(std::span<const double> bins) {
  // At least three bins in four within a quarter of their median: a limiter's steady output
  // varies by the packets that straddle a bin's edge and by the sender's own jitter; bursts and
  // pauses put most bins far from the median.
  if (bins.size() < 3) return false;
  std::vector<double> v(bins.begin(), bins.end());
  const double median = stats::MedianInPlace(v);
  if (median <= 0) return false;
  size_t near = 0;
  for (double b : bins) near += std::abs(b - median) <= 0.25 * median ? 1 : 0;
  return near * 4 >= bins.size() * 3;
}

double ThrottleDetector::Confidence(const Evidence& ev, double shared, int refs) {
  const double depth = DropDepth(ev.rate_before_bps, ev.rate_after_bps);
  double conf =
      kConfidenceBase + kDepthWeight * depth +
      kTargetedWeight * (1 - shared) * std::min(refs, kFullReferences) / double(kFullReferences);
  conf += (ev.inflated || ev.lossy) ? kEvidenceWeight : 0.0;
  return std::clamp(conf, 0.0, 1.0);
}

ThrottleDetector::Comparison ThrottleDetector::CompareSince(const Series& o, int64_t change_bin,
                                                            double width_s) const {
  Comparison c;
  const int hist = o.history();
  double sum_after = 0, sum_before = 0;
  int k = 0;
  for (; k < hist && o.bin_no(k) >= change_bin; ++k) {
    sum_after += o.ring[o.slot(k)].payload;
    c.idle_after += o.ring[o.slot(k)].payload == 0 ? 1 : 0;
  }
  c.after = k;
  // A rate since the change needs min_bins bins, as a drop does: one bin of a series that
  // sends in bursts (a site's page) is one burst's size, not its rate.
  if (c.after < p_.drop.min_bins || o.n < c.after + 3) return c;
  int n_before = 0;
  for (k = c.after + 1; k < hist && k <= c.after + p_.reference_bins; ++k, ++n_before) {
    sum_before += o.ring[o.slot(k)].payload;
  }
  if (n_before == 0) return c;
  const double mean_before = sum_before / n_before;
  if (mean_before * 8 / width_s < p_.min_rate_bps) return c;
  c.usable = true;
  c.dropped = sum_after / c.after < p_.ref_dropped_ratio * mean_before;
  return c;
}

double ThrottleDetector::SharedDrop(Direction d, const FlowSeries* exclude,
                                    const capture::Address* exclude_host, int64_t change_bin,
                                    double width_s, int* refs, bool hosts) const {
  int judged = 0, dropped = 0;
  const auto judge = [&](const Series& o) {
    const Comparison c = CompareSince(o, change_bin, width_s);
    // A series that stopped (its flow ended, or its application paused) says nothing about
    // the network: only series still sending are references.
    if (!c.usable || StrictMajority(c.idle_after, c.after)) return;
    ++judged;
    if (c.dropped) ++dropped;
  };
  for (const auto& [id, other] : flows_) {
    if (&other == exclude || other.dir[d] == nullptr) continue;
    if (exclude_host != nullptr && other.info.remote() == *exclude_host) continue;
    judge(*other.dir[d]);
  }
  if (hosts) {  // other hosts' busy series: sites fetched in short connections
    for (const auto& [key, h] : series_hosts_) {
      if (key.second != int(d) || !Busy(d)) continue;
      if (exclude_host != nullptr && key.first == *exclude_host) continue;
      judge(*h->series);
    }
  }
  *refs = judged;
  return judged > 0 ? double(dropped) / judged : 0;
}

Event ThrottleDetector::MakeStart(const Evidence& ev, Direction d, double ts,
                                  int64_t bin_end_ns) const {
  Event e;
  e.id = (*next_id_)++;
  e.kind = EventKind::kThrottle;
  e.state = EventState::kStart;
  e.ts = ts;
  e.detected_at = double(bin_end_ns) * 1e-9;
  e.direction = d;
  e.rate_before_bps = ev.rate_before_bps;
  e.rate_after_bps = ev.rate_after_bps;
  e.mechanism = ev.mechanism;
  // What the mechanism was judged on (Judge's medians are 0 without samples: not measured).
  e.evidence.rtt_before_s = ev.rtt_before_s > 0 ? ev.rtt_before_s : -1;
  e.evidence.rtt_after_s = ev.rtt_after_s > 0 ? ev.rtt_after_s : -1;
  e.evidence.loss_share = ev.loss_share;
  return e;
}

void ThrottleDetector::OnDrop(FlowSeries* f, Direction d, int64_t bin_end_ns, int64_t width_ns) {
  Series& s = *f->dir[d];
  if (s.open) return;
  const double width_s = double(width_ns) * 1e-9;
  int split_ago = 0;
  const double change_ago = RefineOnset(s, OnsetAgo(s), &split_ago);
  const double ts = ChangeTs(s, change_ago, split_ago, width_ns);
  const int64_t change_bin = s.bin_no(split_ago);
  const Evidence ev = Judge(s, f->info.proto() == capture::kIpProtoTcp, split_ago, width_s);
  if (ev.cls != DropClass::kThrottle) return Dismiss(ev.cls, &s);

  // Reference: concurrent flows in the same direction. When most flows to other hosts dropped
  // too the drop is not this flow's own: the link-wide series decides between link-wide
  // shaping and congestion; when most of its own host's flows dropped with it, the host's series
  // judges. A lone flow has nothing to compare with: it is reported, targeted unknown.
  int refs = 0, other_refs = 0;
  const double shared = SharedDrop(d, f, nullptr, change_bin, width_s, &refs);
  const double shared_other = SharedDrop(d, f, &f->info.remote(), change_bin, width_s, &other_refs);
  // Half counts here (>=): a drop shared with half the flows is not this flow's own.
  if ((other_refs > 0 && shared_other >= kMostFlows) ||
      (refs > 0 && other_refs == 0 && shared >= kMostFlows)) {
    s.det.Rebase();  // the link-wide series judges it; this series takes its new level
    return;
  }
  // A UDP flow's only evidence is its plateau, which a limiter leaves and so does a path whose
  // capacity fell (a WiFi device walking away from its access point). Only flows that kept
  // their rates beside it tell the two apart: with none, there is no evidence either way.
  if (refs == 0 && f->info.proto() != capture::kIpProtoTcp) {
    s.det.Rebase();
    return;
  }
  // When most of the host's flows dropped together (or its service throttle is open), the
  // whole host was squeezed: its series judges and reports it, as one service event.
  if (const HostSeries* h = f->host[d]; h != nullptr && h->series != nullptr) {
    int members = 0, dropped = 0;
    if (!h->open()) {
      HostMembersDropped(f->info.remote(), d, change_bin, width_s, &members, &dropped);
    }
    if (h->open() || (members >= kMinHostMembers && StrictMajority(dropped, members))) {
      s.det.Rebase();
      return;
    }
  }

  Event e = MakeStart(ev, d, ts, bin_end_ns);
  e.scope = EventScope::kFlow;
  e.has_flow = true;
  e.flow = f->info;
  e.targeted = refs > 0;
  e.targeted_known = refs > 0;
  if (names_ != nullptr) e.server_name = names_->NameOf(f->info.id, f->info.remote());
  if (s.n - split_ago - 1 <= kBurstHorizonBins) {
    double after = 0;
    for (int k = 0; k <= split_ago && k < s.history(); ++k) after += s.ring[s.slot(k)].payload;
    e.burst_bytes = s.cum_payload - after;
  }
  e.confidence = Confidence(ev, shared, refs);
  s.start = e;
  s.open = true;
  sink_->OnEvent(e);
}

void ThrottleDetector::HostMembersDropped(const capture::Address& host, Direction d,
                                          int64_t change_bin, double width_s, int* members,
                                          int* dropped) const {
  *members = 0;
  *dropped = 0;
  for (const auto& [id, f] : flows_) {
    if (f.dir[d] == nullptr || f.closed || !(f.info.remote() == host)) continue;
    const Comparison c = CompareSince(*f.dir[d], change_bin, width_s);
    if (!c.usable) continue;
    ++*members;
    if (c.dropped) ++*dropped;
  }
}

void ThrottleDetector::OnHostDrop(const HostKey& key, HostSeries* h, int64_t bin_end_ns,
                                  int64_t width_ns) {
  Series& s = *h->series;
  if (s.open) return;
  const Direction d = Direction(key.second);
  const double width_s = double(width_ns) * 1e-9;
  int split_ago = 0;
  const double change_ago = RefineOnset(s, OnsetAgo(s), &split_ago);
  const double ts = ChangeTs(s, change_ago, split_ago, width_ns);
  const int64_t change_bin = s.bin_no(split_ago);
  const Evidence ev = Judge(s, h->tcp, split_ago, width_s);
  if (ev.cls != DropClass::kThrottle) return Dismiss(ev.cls, &s);
  // A service throttle needs most of the host's live flows squeezed (not one flow throttled,
  // or flows ending), and flows to other hosts unharmed (else the link series judges it).
  // A busy series whose host has no live flow that began before the change (a site fetched in
  // short connections) has no members to ask: its own drop, with its evidence, is the host's.
  int members = 0, dropped = 0;
  HostMembersDropped(key.first, d, change_bin, width_s, &members, &dropped);
  const bool no_members = members == 0 && Busy(d);
  int other_refs = 0;
  const double shared_other =
      SharedDrop(d, nullptr, &key.first, change_bin, width_s, &other_refs, /*hosts=*/true);
  // UDP without references: no evidence either way (see OnDrop). Nor for a busy series: it
  // sees the rate inside bursts, and a path that lost capacity (a WiFi device walking away
  // from its access point) squeezes that as a limiter would, queue and losses included; only
  // other hosts that kept their rates tell the two apart.
  if ((!no_members && (members < kMinHostMembers || !StrictMajority(dropped, members))) ||
      (other_refs > 0 && shared_other >= kMostFlows) || (other_refs == 0 && !h->tcp)) {
    s.det.Rebase();  // the flows' own series (or the link's) judge it
    return;
  }
  // Other sites browsed in pauses may have sent nothing since the change yet: judged again.
  if (other_refs == 0) return Dismiss(DropClass::kNoReference, &s);
  Event e = MakeStart(ev, d, ts, bin_end_ns);
  e.scope = EventScope::kRemoteHost;
  // No flows to other hosts: nothing to compare with, targeted unknown.
  e.targeted = other_refs > 0;
  e.targeted_known = other_refs > 0;
  e.has_remote = true;
  e.remote = key.first;
  e.flows = no_members ? h->flows : dropped;  // short connections: those open now
  if (names_ != nullptr) e.server_name = names_->NameOf(h->some_flow, key.first);
  e.confidence = Confidence(ev, shared_other, other_refs);
  s.start = e;
  s.open = true;
  sink_->OnEvent(e);
}

void ThrottleDetector::OnLinkDrop(Direction d, int64_t bin_end_ns, int64_t width_ns) {
  Series& s = link_[d];
  if (s.open) return;
  const double width_s = double(width_ns) * 1e-9;
  int split_ago = 0;
  const double change_ago = RefineOnset(s, OnsetAgo(s), &split_ago);
  const double ts = ChangeTs(s, change_ago, split_ago, width_ns);
  // The link total carries no RTT: the evidence is that of the flows that dropped with it.
  Evidence ev = Judge(s, /*tcp=*/false, split_ago, width_s);
  if (ev.cls != DropClass::kThrottle) return Dismiss(ev.cls, &s);
  int refs = 0;
  const double shared = SharedDrop(d, nullptr, nullptr, s.bin_no(split_ago), width_s, &refs);
  // Not most flows (a strict majority): demand left, or a targeted squeeze (reported per flow).
  if (refs == 0 || shared <= kMostFlows) return s.det.Rebase();
  // Evidence that the network holds the link back: TCP flows whose own series show the
  // mechanism (queueing or loss since the change). A UDP flow's lower rate carries no such
  // evidence (its sender may simply send less: a player with a full buffer), and one host's
  // flows are one application: a link-wide claim needs limited flows of kMinLinkHosts hosts.
  int network_limited = 0, shaping = 0, tcp_flows = 0, udp_flows = 0;
  capture::Address hosts[kMinLinkHosts];
  int distinct_hosts = 0;
  for (const auto& [id, f] : flows_) {
    // A closing flow (FIN or RST seen) is ending, not squeezed: its last retransmissions are
    // no sign that the network holds the link back (downloads finishing together, often at
    // the end of a capture, would otherwise look like a limiter).
    if (f.dir[d] == nullptr || f.closed || f.dir[d]->n < split_ago + 3) continue;
    const Evidence fe =
        Judge(*f.dir[d], f.info.proto() == capture::kIpProtoTcp, split_ago, width_s);
    if (fe.cls == DropClass::kTooSlow) continue;
    const bool tcp = f.info.proto() == capture::kIpProtoTcp;
    (tcp ? tcp_flows : udp_flows) += 1;
    if (fe.cls == DropClass::kThrottle && tcp && (fe.inflated || fe.lossy)) {
      ++network_limited;
      shaping += fe.inflated ? 1 : 0;
      const capture::Address& host = f.info.remote();
      if (distinct_hosts < kMinLinkHosts &&
          std::find(hosts, hosts + distinct_hosts, host) == hosts + distinct_hosts) {
        hosts[distinct_hosts++] = host;
      }
    }
  }
  if (distinct_hosts < kMinLinkHosts) return Dismiss(DropClass::kDemandChange, &s);
  Event e = MakeStart(ev, d, ts, bin_end_ns);
  e.scope = EventScope::kLink;
  e.targeted = false;
  // Shaping when at least half the limited flows queued (a tie goes to the queue: loss alone is
  // the stronger claim).
  e.mechanism = shaping * 2 >= network_limited ? Mechanism::kShaping : Mechanism::kPolicing;
  // The link's own series carries no RTT: the flows limited with it are the evidence.
  e.evidence = MechanismEvidence{};
  e.evidence.flows_limited = network_limited;
  e.evidence.flows_shaping = shaping;
  const double depth = DropDepth(ev.rate_before_bps, ev.rate_after_bps);
  const double agree = double(network_limited) / std::max(1, tcp_flows + udp_flows);
  e.confidence = std::clamp(kLinkConfidenceBase + kDepthWeight * depth +
                                kLinkSharedWeight * shared + kLinkAgreementWeight * agree,
                            0.0, 1.0);
  s.start = e;
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
  e.burst_bytes = -1;
  s->open = false;
  sink_->OnEvent(e);
}

void ThrottleDetector::OnRecovery(Series* s, int64_t bin_end_ns, int64_t width_ns) {
  if (!s->open) return;
  const double width_s = double(width_ns) * 1e-9;
  int split_ago = 0;
  const double change_ago = RefineOnset(*s, s->det.onset_bins_ago(), &split_ago);
  const double ts = std::max(s->start.ts, ChangeTs(*s, change_ago, split_ago, width_ns));
  std::vector<double> during, after;
  // The bins that ended after the throttle began (the one that straddles its end excepted).
  for (int k = split_ago + 2; k < s->history() && double(s->bin_no(k) + 1) * width_s > s->start.ts;
       ++k) {
    during.push_back(s->ring[s->slot(k)].wire);
  }
  for (int k = 0; k <= split_ago; ++k) after.push_back(s->ring[s->slot(k)].wire);
  const double rate_during =
      during.empty() ? s->start.rate_after_bps : Median(during) * 8 / width_s;
  End(s, ts, double(bin_end_ns) * 1e-9, rate_during, Median(after) * 8 / width_s, "recovered");
}

double ThrottleDetector::ChangeTs(const Series& s, double change_ago, int split_ago,
                                  int64_t width_ns) {
  const double width_s = double(width_ns) * 1e-9;
  const double split_start = double(s.bin_no(split_ago)) * width_s;
  const bool before_adjacent =
      split_ago + 1 < s.history() && s.bin_no(split_ago + 1) == s.bin_no(split_ago) - 1;
  return before_adjacent ? split_start - (change_ago - split_ago) * width_s : split_start;
}

void ThrottleDetector::ExpireHosts(int64_t bin_no, int64_t width_ns) {
  std::vector<HostKey> expired;
  std::erase_if(series_hosts_, [&](const std::pair<HostKey, HostSeries*>& e) {
    HostSeries& h = *e.second;
    if (h.flows > 0 || bin_no - h.last_data_bin <= kHostLingerBins) return false;
    if (h.series->open) {  // its last flow ended long ago: so does its service throttle
      const double last = double(h.last_data_bin + 1) * double(width_ns) * 1e-9;
      End(h.series.get(), std::max(h.series->start.ts, last), last, h.series->start.rate_after_bps,
          0, "flow_end");
    }
    expired.push_back(e.first);
    return true;
  });
  for (const HostKey& key : expired) hosts_.erase(key);
}

void ThrottleDetector::OnFlowEnd(const capture::FlowInfo& info, capture::FlowEnd why,
                                 int64_t last_ns) {
  auto it = flows_.find(info.id);
  if (it == flows_.end()) return;
  FlowSeries f = std::move(it->second);
  flows_.erase(it);
  const bool end_of_input = why == capture::FlowEnd::kEndOfInput;
  const char* reason = why == capture::FlowEnd::kEvicted ? "evicted" : "flow_end";
  // The throttle ends with the flow, at its last packet; a service throttle with the host's
  // last flow. At the end of the input they stay open: the capture stopped, not the throttle.
  const auto end = [&](Series* s) {
    if (s->open && !end_of_input) {
      End(s, std::max(s->start.ts, double(last_ns) * 1e-9), double(last_ns) * 1e-9,
          s->start.rate_after_bps, 0, reason);
    }
  };
  for (Direction d : {f.first, Direction(1 - f.first)}) {
    if (f.dir[d] != nullptr) end(f.dir[d].get());
  }
  for (Direction d : {capture::kUp, capture::kDown}) {
    if (f.host[d] == nullptr || --f.host[d]->flows > 0) continue;
    // A busy series outlives its host's flows (ExpireHosts ends it), but not the input.
    if (f.host[d]->series != nullptr && Busy(d) && !end_of_input) continue;
    if (f.host[d]->series != nullptr) end(f.host[d]->series.get());
    const HostKey key{info.remote(), int(d)};
    if (f.host[d]->series != nullptr) {
      series_hosts_.erase(
          std::lower_bound(series_hosts_.begin(), series_hosts_.end(), key,
                           [](const auto& e, const HostKey& k) { return e.first < k; }));
    }
    hosts_.erase(key);
  }
}

}  // namespace tw::detector
