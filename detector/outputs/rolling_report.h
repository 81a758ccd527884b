#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_ROLLING_REPORT_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_ROLLING_REPORT_H_

#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "capture/binner.h"
#include "capture/decode.h"
#include "detector/core/event_sink.h"
#include "detector/outputs/report.h"
#include "detector/outputs/series_recorder.h"

namespace tw::detector {

// Counters a live capture keeps from its start (cumulative, never reset).
struct LiveCounters {
  uint64_t capture_dropped = 0;  // kernel drops (pcap_stats)
  std::array<uint64_t, size_t(capture::DecodeStatus::kCount)> decode{};  // packets per status
  uint64_t not_local = 0;  // packets with no local endpoint
};

// The daemon's rolling report (`live --report FILE --report-every S`): the same HTML page replay
// writes, for the last `window_s` seconds of capture. Sits beside the engine on the capture
// thread: feed it every bin before the engine sees it (OnBin/OnFlowEnd) and every event
// (OnEvent), as replay feeds its SeriesRecorder. Render() forgets what lies before the window
// and returns the page. Top flows and services count flows that ended since a point at most one
// window back (they start again from zero every window; the page says since when).
// Memory: the recorder's (bounded by the flow cap and its point budget) plus one small record
// per bin and the events of the window. Single-threaded.
class RollingReport final : public capture::BinSink, public EventSink {
 public:
  // `page` carries what does not change: title, version, sources, local networks, address
  // formatter, anonymized flag. Its series/events/overview counters are filled by Render().
  RollingReport(double window_s, ReportData page, const SeriesRecorderParams& params = {});

  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link) override;
  void OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) override;
  void OnEvent(const Event& e) override;

  // The capture's own counters as they are now; call before the bins they cover are fed, at
  // least once per bin (the window's figures are the difference across it).
  void SetCounters(const LiveCounters& c) { counters_ = c; }
  // The event chain's head to show (the chain value of the last event line written).
  void SetChainHead(std::string head) { page_.overview.chain_head = std::move(head); }

  // Forgets everything before now_ns - window and writes the page of the window as it stands.
  // `active_flows`: flows in the table now (counted with the flows that ended in the window).
  std::string Render(int64_t now_ns, uint64_t active_flows);

  const SeriesRecorder& recorder() const { return rec_; }
  size_t events_kept() const { return events_.size(); }

 private:
  struct Totals {  // cumulative since the start
    uint64_t packets = 0, bytes = 0, flows_ended = 0;
    LiveCounters capture;
  };
  struct BinMark {  // the totals just before a bin was added
    int64_t start_ns;
    Totals before;
  };
  void Forget(int64_t cutoff_ns, int64_t now_ns);

  int64_t window_ns_;
  ReportData page_;
  SeriesRecorder rec_;
  LiveCounters counters_;
  Totals totals_;
  std::deque<BinMark> marks_;
  std::vector<Event> events_;
  int64_t totals_since_ns_ = -1;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_ROLLING_REPORT_H_
