#ifndef THROTTLEWATCH_DETECTOR_CORE_THROTTLE_DETECTOR_H_
#define THROTTLEWATCH_DETECTOR_CORE_THROTTLE_DETECTOR_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <unordered_map>
#include <vector>

#include "capture/bins.h"
#include "capture/server_names.h"
#include "detector/core/event_sink.h"
#include "stats/online_detector.h"
#include "util/object_pool.h"

namespace tw::detector {

struct ThrottleParams {
  stats::DropDetectorParams drop;
  double min_rate_bps = 64'000;     // series slower than this before a drop are not judged
  double ref_dropped_ratio = 0.6;   // a reference flow whose rate fell below this share dropped too
  int reference_bins = 8;           // bins before the onset that define "before"
  double max_idle_share = 1.0 / 3;  // more zero bins than this after the onset = application idle
  // Network-limited evidence. RTT inflation: the median RTT after the drop exceeds the one
  // before by this factor, by at least min_rtt_rise_s, and by at least queue_packets
  // inter-packet gaps (a shaper's standing queue holds packets; an application pacing its
  // sends only delays each answer by up to one gap). Loss: at least min_loss_share of the
  // payload after the drop is retransmitted (a policer's drops).
  double rtt_inflation = 1.5;
  double min_rtt_rise_s = 0.020;
  double queue_packets = 2;
  double min_loss_share = 0.005;
};

// Why a drop was, or was not, called a throttle (also the per-bin classification of a flow).
enum class DropClass : uint8_t {
  kThrottle,         // network-limited: RTT inflation or loss since the drop
  kDemandChange,     // application-limited: slower, but no sign the network holds it back
  kIdle,             // the source mostly stopped sending
  kReceiverLimited,  // the receiver closed or shrank its window
  kCongestion,       // the whole link's flows shared the drop, the link total did not fall
  kTooSlow,          // the rate before was below min_rate_bps
  kUnsettled,        // UDP whose rate since the drop is no plateau (yet): judged again later
  kNoReference,      // a host's busy series with no other host sending since: judged again later
};
const char* DropClassName(DropClass c);

// Finds throttles: a sustained drop of a series' payload rate (stats::DropDetector per flow
// and direction, and per direction for the whole link; a TCP download's rate is its rate while
// busy, see BusyFactor) that is backed by evidence that the network, not the application,
// became the limit; located by the best split (by medians) near the detector's onset; and
// classified:
//  - a flow whose drop is its own (flows to other remote hosts kept their rates) is a targeted
//    flow throttle;
//  - the flows of one remote host (per direction) are also summed into a host series with its
//    own drop detector: when it drops, most of the host's flows dropped with it and flows to
//    other hosts did not, the whole host was squeezed: one service event (scope "service",
//    the rate it was squeezed to is the host's total), and no flow events for its flows, even
//    when a shaper stalls some of them for a while (their own series then look idle); a TCP
//    host's downloads make a busy series that outlives its flows (see HostSeries), judged on
//    its own when no live flow of the host spans the change, and only beside other hosts that
//    kept their rates (a path that lost capacity squeezes bursts as a limiter does);
//  - when most flows drop together and the link total falls too, that is link-wide shaping
//    (scope "link", not targeted); when the link total holds, it is congestion: no event;
//  - demand changes, idle sources and receiver-limited flows raise nothing.
// Emits start events when a drop is confirmed and end events when the rate recovers or the flow
// ends. Memory: one entry per flow that carried data (~2.1 KB per direction with data), one per
// remote host and direction with data (~0.3 KB), and a host series (~2.1 KB) for each remote
// host that has had two flows with data in one direction. Series come from a pool: those of
// ended flows are reused, not returned, so the detector keeps its peak. Single-threaded.
class ThrottleDetector {
 public:
  ThrottleDetector(const ThrottleParams& params, EventSink* sink, uint64_t* next_event_id);

  // One closed bin. `suppress` (e.g. during an outage) disables new start events for this bin.
  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             bool suppress);
  // The flow left the flow table at its last packet `last_ns`. Open throttles end with it
  // (reason "flow_end", or "evicted"), except at the end of the input, where they stay open:
  // the capture stopped, not the throttle.
  void OnFlowEnd(const capture::FlowInfo& info, capture::FlowEnd why, int64_t last_ns);

  // Names events by service (borrowed; may be null). Set before the first bin.
  void set_server_names(const capture::ServerNames* names) { names_ = names; }

  size_t tracked_flows() const { return flows_.size(); }
  // Bytes of memory a tracked flow (one that carried data) costs at most: both directions'
  // series plus the map node, and per direction its share of a host entry and host series (at
  // worst half of each: two flows per remote host).
  static size_t BytesPerTrackedFlow() {
    return sizeof(FlowSeries) + 2 * sizeof(Series) + 4 * sizeof(void*) + sizeof(uint64_t) +
           (sizeof(HostSeries) + 6 * sizeof(void*) + sizeof(HostKey) + sizeof(Series));
  }
  size_t open_throttles() const;
  // Drops that were examined and not reported, by class (for debugging and tests).
  const std::map<DropClass, uint64_t>& dismissed() const { return dismissed_; }

  static constexpr int kRing = 64;  // bins of history kept per series

  // True when `bins` (bytes per bin) hold a rate limiter's steady output: most of them near
  // their median. The only evidence of a network limit a passive observer has for UDP.
  static bool IsPlateau(std::span<const double> bins);
  // Whether a bin `b` of a busy series measured nothing of the path: too few packets to
  // measure a rate while busy, and busy for less than half of it (see OnBin).
  static bool Unmeasured(const capture::DirectionBin& b, const capture::BusyBin& busy,
                         int64_t width_ns);
  // How much more a TCP bin `b` of width_ns would have carried had its sender been busy all of
  // it: its rate while busy (see capture::BusyBin) over its average, at least 1; 1 for a bin
  // with fewer than 8 data packets (too few gaps to tell a rate).
  static double BusyFactor(const capture::DirectionBin& b, const capture::BusyBin& busy,
                           int64_t width_ns);

 private:
  struct Series {
    // One bin of the series' history. Together, so that recording a bin touches one cache
    // line, not five (a bin close records one for every tracked flow).
    struct Bin {
      float payload = 0;  // bytes (a download's: at its rate while busy, see BusyFactor)
      float carried = 0;  // payload bytes as carried (no BusyFactor)
      float wire = 0;     // wire bytes, if the bin carried data
      float retrans = 0;  // retransmitted payload bytes
      float packets = 0;  // data packets
      float rtt = 0;      // smallest RTT sample of the bin, seconds (0 = none)
      uint32_t bin = 0;   // its bin number, counted from origin_bin
    };
    // What every bin touches first, beside the detector's state (see Prefetch).
    int64_t n = 0;                  // bins observed
    uint64_t zero_window_bits = 0;  // bit i: zero window in bin (n - 1 - i)
    double cum_payload = 0;         // payload bytes since the series began
    bool open = false;              // a throttle start was emitted and not yet ended
    // A drop judged idle is judged again rejudge_in bins later (see Dismiss), from its onset
    // then onset_ago bins back; rejudges counts the times, to give up after kMaxRejudges.
    int8_t rejudge_in = 0, rejudges = 0;
    int16_t onset_ago = 0;
    // The number (start / width) of the series' first bin. A series holds every bin from its
    // first on, but a busy host's (see HostSeries): the bins its flows sent in, no others.
    int64_t origin_bin = -1;
    stats::DropDetector det;
    std::array<Bin, kRing> ring{};  // indexed by bin number
    Event start;                    // that start event
    explicit Series(const stats::DropDetectorParams& p) : det(p) {}
    size_t slot(int k) const { return size_t((n - 1 - k) % kRing); }
    int history() const { return int(std::min<int64_t>(n, kRing)); }
    // The number of the bin recorded k bins before the newest.
    int64_t bin_no(int k) const { return origin_bin + ring[slot(k)].bin; }
    // Asks for the lines recording the next bin touches, but its ring slot (that needs n).
    void Prefetch() const {
      __builtin_prefetch(this, 1);
      det.Prefetch();
    }
    void PrefetchSlot() const { __builtin_prefetch(&ring[size_t(n % kRing)], 1); }
  };
  using SeriesPool = util::ObjectPool<Series>;
  // The flows of one remote host in one direction, summed. A host's downloads (TCP or UDP) make
  // a busy series: only the bins they carried data in, each at the host's rate while busy (its
  // flows' busy bytes over the longest busy time of any of them); it outlives the host's flows
  // by kHostLingerBins, so a site fetched in short connections and pauses (browsing, or a
  // player opening a QUIC connection per segment) keeps one history across them.
  struct HostSeries {
    int flows = 0;              // tracked flows of the host with data in this direction
    bool tcp = true;            // all of them TCP
    SeriesPool::Ptr series;     // from the host's second flow on
    capture::DirectionBin sum;  // the open bin's total over the host's flows
    capture::BusyBin busy;      // its busy bytes (summed) and time (the longest)
    capture::RttBin rtt;        // its smallest RTT sample (min_s, samples)
    int64_t last_data_bin = 0;  // the number of the last bin with data
    uint64_t some_flow = 0;     // a flow of the host, to name the service
    bool summed = false;        // in summed_ (its sum is of the open bin)
    bool open() const { return series != nullptr && series->open; }  // a service throttle
  };
  using HostKey = std::pair<capture::Address, int>;  // (remote host, direction)
  struct FlowSeries {
    capture::FlowInfo info;
    std::array<SeriesPool::Ptr, 2> dir;  // from the direction's first data on
    std::array<HostSeries*, 2> host{nullptr, nullptr};
    bool closed = false;                      // FIN or RST seen: it is ending, not slowing down
    capture::Direction first = capture::kUp;  // the direction that carried data first
  };
  struct Pending {
    FlowSeries* flow;
    capture::Direction d;
    stats::DropDecision decision;
  };
  // What the bins since a change say about who limits the series.
  struct Evidence {
    double rate_before_bps = 0, rate_after_bps = 0;
    double rtt_before_s = 0, rtt_after_s = 0;
    double loss_share = 0;
    bool inflated = false, lossy = false;
    DropClass cls = DropClass::kThrottle;
    Mechanism mechanism = Mechanism::kUnknown;
  };

  // found[j]: the tracked flow of block[j], or nullptr; the cache lines RecordBin will touch
  // in each are asked for.
  void FindAndPrefetch(std::span<const capture::FlowBin> block, FlowSeries** found);
  // One flow's bin (number bin_no; found: its FlowSeries, or nullptr if untracked): added to
  // link[], pushed to its series and its host's sum; a drop or recovery goes to pending_.
  void RecordBin(const capture::FlowBin& fb, FlowSeries* found, int64_t bin_no, int64_t width_ns,
                 capture::DirectionBin* link);
  // Records bin `b` in the series, its payload and wire bytes times `factor` (BusyFactor).
  void Push(Series* s, const capture::DirectionBin& b, const capture::RttBin* rtt, int64_t bin_no,
            double factor = 1.0);
  // Whether a host's series in direction `d` is a busy series (see HostSeries): its downloads.
  static bool Busy(capture::Direction d) { return d == capture::kDown; }
  void OnDrop(FlowSeries* f, capture::Direction d, int64_t bin_end_ns, int64_t width_ns);
  void OnLinkDrop(capture::Direction d, int64_t bin_end_ns, int64_t width_ns);
  void OnHostDrop(const HostKey& key, HostSeries* h, int64_t bin_end_ns, int64_t width_ns);
  void OnRecovery(Series* s, int64_t bin_end_ns, int64_t width_ns);
  // Refines a change whose detector onset is `onset_ago` bins back: returns how many bins
  // before the end of the current bin the change happened (fractional), and the first bin
  // (in bins ago) at the new level.
  double RefineOnset(const Series& s, int onset_ago, int* split_ago) const;
  Evidence Judge(const Series& s, bool tcp, int split_ago, double width_s) const;
  // Confidence of a throttle start, 0..1: depth of the drop (full at 8x), how many references
  // vouch for "targeted" (`shared`: share of them that dropped too), and TCP evidence.
  static double Confidence(const Evidence& ev, double shared, int refs);
  // A series' bins since bin number `change_bin` against the reference_bins before them (the
  // one right before skipped: it may straddle the change).
  struct Comparison {
    bool usable = false;   // min_bins bins since, history enough, a rate before worth judging
    bool dropped = false;  // the mean after is under ref_dropped_ratio of the mean before
    int after = 0;         // bins since the change
    int idle_after = 0;    // of them, bins with no payload
  };
  Comparison CompareSince(const Series& o, int64_t change_bin, double width_s) const;
  // Share of reference series in direction d (all flows but `exclude` and, if not null, but
  // the flows to `exclude_host`; with `hosts`, the busy series of other hosts too) that dropped
  // at bin number `change_bin`; *refs gets how many were judged. Series that mostly stopped
  // sending since are not references.
  double SharedDrop(capture::Direction d, const FlowSeries* exclude,
                    const capture::Address* exclude_host, int64_t change_bin, double width_s,
                    int* refs, bool hosts = false) const;
  // Of the flows to `host` in direction d that are not closing and were sending before bin
  // number `change_bin`, how many (*members) and how many of them dropped (*dropped; a flow
  // stalled since counts as dropped: a shaper may starve one flow for seconds).
  void HostMembersDropped(const capture::Address& host, capture::Direction d, int64_t change_bin,
                          double width_s, int* members, int* dropped) const;
  // When the change that RefineOnset placed `change_ago` bins back (its first bin at the new
  // level `split_ago` back) happened: inside the bin before, when that bin is the one right
  // before (not a bin before a pause of a busy series).
  static double ChangeTs(const Series& s, double change_ago, int split_ago, int64_t width_ns);
  // A host's busy series is dropped kHostLingerBins after its last data once it has no flows.
  void ExpireHosts(int64_t bin_no, int64_t width_ns);
  Event MakeStart(const Evidence& ev, capture::Direction d, double ts, int64_t bin_end_ns) const;
  void End(Series* s, double ts, double detected_at, double rate_during, double rate_after,
           const char* reason);
  // A drop that is not reported: count it, and make the new level the series' baseline
  // (otherwise the detector would wait for a "recovery" to a level that was never a throttle's
  // before, and miss the next real drop). Except a drop judged idle, unsettled or without
  // reference right after its onset: a source that paused (a fetch that ended just as a limiter
  // began: the next one starts slow), a UDP rate still settling, or other hosts that have not
  // sent since (browsed sites between pages), is judged again a few bins later, up to
  // kMaxRejudges times.
  void Dismiss(DropClass c, Series* s);
  // The onset of the drop being judged, in bins before the current one.
  static int OnsetAgo(const Series& s) {
    return s.rejudges > 0 ? s.onset_ago : s.det.onset_bins_ago();
  }
  // After a series' Observe(): counts down a pending re-judgement. True when it is due.
  static bool RejudgeDue(Series* s, stats::DropDecision dec);

  ThrottleParams p_;
  EventSink* sink_;
  uint64_t* next_id_;
  SeriesPool series_pool_;  // before the series it holds: destroyed after them
  std::unordered_map<uint64_t, FlowSeries> flows_;
  std::vector<Pending> pending_;
  std::array<Series, 2> link_;
  std::map<HostKey, HostSeries> hosts_;  // node-based: FlowSeries::host pointers stay valid
  // The hosts with a series, sorted by key (each bin walks them, not every host).
  std::vector<std::pair<HostKey, HostSeries*>> series_hosts_;
  std::vector<HostSeries*> summed_;  // hosts whose sum the open bin added to
  std::map<DropClass, uint64_t> dismissed_;
  const capture::ServerNames* names_ = nullptr;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_CORE_THROTTLE_DETECTOR_H_
