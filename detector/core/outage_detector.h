#ifndef THROTTLEWATCH_DETECTOR_CORE_OUTAGE_DETECTOR_H_
#define THROTTLEWATCH_DETECTOR_CORE_OUTAGE_DETECTOR_H_

#include <cstdint>
#include <span>

#include "capture/bins.h"
#include "detector/core/event_sink.h"

namespace tw::detector {

struct OutageParams {
  int64_t min_silence_ns = 2'000'000'000;  // inbound silence shorter than this is not an outage
  double min_active_pps = 1.0;  // the link must have been in use: inbound packets/s before
  int min_unanswered = 2;       // outbound packets during the silence that prove demand
  int min_stalled_flows = 2;    // or: this many flows were carrying data when it went silent
  double activity_alpha = 0.1;  // EWMA weight of the inbound packet rate
};

// Detects the link going dark: inbound traffic stops at once while there is demand — our side
// keeps sending (unanswered SYNs, DNS queries, probes, retransmissions), or several transfers
// stop mid-way — as opposed to a quiet period in which nobody uses the link. Start `ts` is the
// last inbound packet before the silence; end `ts` is the first inbound packet after it.
// O(1) per bin plus one pass over the flows of the bin. Single-threaded.
class OutageDetector {
 public:
  OutageDetector(const OutageParams& params, EventSink* sink, uint64_t* next_event_id);

  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link);
  // True while an outage is open, and while a silence that may become one is under way.
  bool in_outage() const { return in_outage_; }
  bool silent() const { return silent_; }

 private:
  OutageParams p_;
  EventSink* sink_;
  uint64_t* next_id_;
  double activity_pps_ = 0;  // EWMA of inbound packets/s
  double rate_bps_ = 0;      // EWMA of inbound bits/s, for rate_before_bps
  int64_t bins_ = 0;
  double activity_at_silence_ = 0, rate_at_silence_ = 0;
  int64_t last_down_ns_ = 0;  // last inbound packet seen
  uint32_t data_flows_last_bin_ = 0;
  bool silent_ = false;
  int64_t silence_start_ns_ = 0;
  uint64_t unanswered_ = 0;
  uint32_t stalled_flows_ = 0;
  bool in_outage_ = false;
  Event start_;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_CORE_OUTAGE_DETECTOR_H_
