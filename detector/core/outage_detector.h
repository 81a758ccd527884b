#ifndef THROTTLEWATCH_DETECTOR_CORE_OUTAGE_DETECTOR_H_
#define THROTTLEWATCH_DETECTOR_CORE_OUTAGE_DETECTOR_H_

#include <cstdint>
#include <span>
#include <unordered_map>

#include "capture/bins.h"
#include "detector/core/event_sink.h"

namespace tw::detector {

struct OutageParams {
  // Inbound silence shorter than this is a stall that applications ride out on their own, not an
  // outage: TCP retransmits (a SYN's second retry goes at 3 s) and a DNS stub resolver reports
  // no failure before its first timeout (5 s, glibc's RES_TIMEOUT).
  int64_t min_silence_ns = 5'000'000'000;
  double min_active_pps = 1.0;  // the link must have been in use: inbound packets/s before
  double activity_alpha = 0.1;  // EWMA weight of the inbound packet rate
  // Independent witnesses needed (DemandSummary::witnesses): one silent server may be that
  // server's own failure; a dark link silences every remote at once.
  int min_witnesses = 2;
};

// What proves a silence dark, summed over the flows at the end of one bin (see capture::Demand).
struct DemandSummary {
  int overdue_remotes = 0;  // distinct remote hosts with an ask unanswered past its flow's RTO
  uint64_t asks = 0;        // packets that asked, on the overdue flows
  // Of the overdue remotes, the witnesses: remotes that had answered before (on any flow: a
  // probe opens a new connection each time) and were asked again after a wait (a flow's own
  // retry, or asks of several flows at least kMinRetryWaitNs apart). A remote that never
  // answered may never have been reachable.
  int witnesses = 0;
};
// Remotes that answered, and when (the end of the bin they answered in).
using AnsweredRemotes = std::unordered_map<capture::Address, int64_t, capture::AddressHash>;
// Sums the demand of the flows that asked after `after_ns` (still trying: a flow that gave up
// earlier proves nothing about the present), as of `now_ns`; `answered` holds the remotes that
// had answered before. Counts at most kMaxRemotesCounted distinct remotes of each kind.
DemandSummary SummarizeDemand(std::span<const capture::FlowBin> flows, int64_t after_ns,
                              int64_t now_ns, const AnsweredRemotes& answered);
inline constexpr int kMaxRemotesCounted = 8;

// Detects the link going dark: every inbound packet stops at once while the local side keeps
// asking the internet for answers it does not get. Silence alone is no evidence: the far ends may
// have nothing more to send, and a capture that stops shows no packets either. Demand is judged
// per flow by the Binner's capture::Demand: asks (SYNs, data, FINs, DNS and NTP queries, echo
// requests, datagrams to a peer that used to answer) to routable unicast remotes, unanswered past
// the flow's retransmission timeout (RFC 6298). An outage starts when
//   - inbound traffic (ICMP errors aside) has been silent for min_silence_ns, on a link that
//     was in use (min_active_pps), and
//   - some remote's ask is overdue and was retried: the asker itself waited and tried again.
// Its confidence grows with the number of distinct remotes left unanswered (one unanswered
// server may be that server's fault; several at once are the link's) and with ICMP errors
// from a router saying it cannot deliver (ConfidenceOf in the .cc).
// Start `ts` is the last inbound packet before the silence; end `ts` the first inbound answer
// after it (reason "traffic_resumed"). A capture gap (bins skipped: the sensor stopped or its
// clock jumped) ends an open outage at the last packet before the gap (reason "capture_gap")
// and is never itself an outage.
// O(1) per bin plus one pass over the flows of a silent bin. Single-threaded.
class OutageDetector {
 public:
  OutageDetector(const OutageParams& params, EventSink* sink, uint64_t* next_event_id);

  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link);
  // True while an outage is open, and while a silence that may become one is under way.
  bool in_outage() const { return in_outage_; }
  bool silent() const { return silent_; }

 private:
  void OnAnswers(int64_t bin_end, double width_s, const capture::LinkBin& link);
  void OnCaptureGap();
  void MaybeStart(int64_t bin_end, std::span<const capture::FlowBin> flows);
  // Notes the remotes that answered in this bin.
  void RememberAnswers(int64_t bin_end, std::span<const capture::FlowBin> flows);

  OutageParams p_;
  EventSink* sink_;
  uint64_t* next_id_;
  double activity_pps_ = 0;  // EWMA of inbound packets/s
  double rate_bps_ = 0;      // EWMA of inbound bits/s, for rate_before_bps
  int64_t bins_ = 0;
  int64_t next_bin_ns_ = 0;  // where the next bin starts when no bins are skipped
  double activity_at_silence_ = 0, rate_at_silence_ = 0;
  int64_t last_down_ns_ = 0;  // last inbound packet seen
  int64_t last_seen_ns_ = 0;  // last packet seen, either way
  bool silent_ = false;
  int64_t silence_start_ns_ = 0;
  uint64_t icmp_errors_ = 0;  // router errors received during the silence
  bool in_outage_ = false;
  Event start_;
  // Remotes that answered, and when (the end of the bin): what makes a silent remote a witness.
  // Forgotten all at once when kMaxRemembered is reached (a scan's worth of remotes).
  AnsweredRemotes answered_;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_CORE_OUTAGE_DETECTOR_H_
