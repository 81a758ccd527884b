#ifndef THROTTLEWATCH_DETECTOR_THROTTLE_DETECTOR_H_
#define THROTTLEWATCH_DETECTOR_THROTTLE_DETECTOR_H_

#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "capture/bins.h"
#include "detector/event_sink.h"
#include "stats/online_detector.h"

namespace tw::detector {

struct ThrottleParams {
  stats::DropDetectorParams drop;
  double min_rate_bps = 64'000;   // series slower than this before a drop are not judged
  double ref_dropped_ratio = 0.6;  // a reference flow whose rate fell below this share dropped too
  int reference_bins = 8;         // bins before the onset that define "before"
  double max_idle_share = 1.0 / 3;  // more zero bins than this after the onset = application idle
};

// Finds throttles of individual flows: a sustained drop of a flow direction's payload rate
// (stats::DropDetector per flow and direction) that is backed by evidence that the network, not
// the application, became the limit, located precisely by an offline best-split over the
// recent bins, and compared with concurrent flows to decide whether it was targeted.
//
// Evidence in this version: the flow keeps carrying data after the drop (no long idle gaps),
// the receiver did not close its window (zero window = receiver-limited, not a throttle), and
// the rate before was meaningful (min_rate_bps). `targeted` is true when concurrent flows in
// the same direction kept their rates.
//
// Emits start events when a drop is confirmed and end events when the rate recovers or the flow
// ends. Memory: one entry per flow that carried data (~1.2 KB). Single-threaded.
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

  size_t tracked_flows() const { return flows_.size(); }
  size_t open_throttles() const;

  static constexpr int kRing = 64;  // bins of history kept per series

 private:
  struct Series {
    stats::DropDetector det;
    std::array<float, kRing> payload{};  // bytes per bin, ring indexed by bin number
    std::array<float, kRing> wire{};     // wire bytes of the same bins
    uint64_t zero_window_bits = 0;       // bit i: zero window in bin (n - 1 - i)
    int64_t n = 0;                       // bins observed
    bool open = false;                   // a throttle start was emitted and not yet ended
    Event start;                         // that start event
    explicit Series(const stats::DropDetectorParams& p) : det(p) {}
    double payload_ago(int k) const { return payload[size_t((n - 1 - k) % kRing)]; }
    double wire_ago(int k) const { return wire[size_t((n - 1 - k) % kRing)]; }
  };
  struct FlowSeries {
    capture::FlowInfo info;
    std::array<Series*, 2> dir{nullptr, nullptr};
    std::vector<Series> storage;  // reserved to 2 so pointers stay valid
  };
  struct Pending {
    FlowSeries* flow;
    capture::Direction d;
    stats::DropDecision decision;
  };

  void OnDrop(FlowSeries* f, capture::Direction d, int64_t bin_end_ns, int64_t width_ns);
  void OnRecovery(FlowSeries* f, capture::Direction d, int64_t bin_end_ns, int64_t width_ns);
  // Refines a change whose detector onset is `onset_ago` bins back: returns the change time
  // in bins ago from the end of the current bin (fractional), and fills the split index.
  double RefineOnset(const Series& s, int onset_ago, int* split_ago) const;
  void End(Series* s, double ts, double detected_at, double rate_during, double rate_after,
           const char* reason);

  ThrottleParams p_;
  EventSink* sink_;
  uint64_t* next_id_;
  std::unordered_map<uint64_t, FlowSeries> flows_;
  std::vector<Pending> pending_;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_THROTTLE_DETECTOR_H_
