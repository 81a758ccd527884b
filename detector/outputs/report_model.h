#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_REPORT_MODEL_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_REPORT_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "detector/core/event.h"
#include "detector/outputs/report.h"
#include "detector/outputs/series_recorder.h"
#include "detector/outputs/svg_chart.h"

namespace tw::detector {

// What the report shows, computed from ReportData apart from its markup (report_html.cc writes
// it). Borrows from the ReportData it was built from: its events and series must outlive it.

// Where the link series holds nothing because the capture reported nothing (a gap or a clock
// jump): [t0, t1) between two of its runs.
struct Gap {
  double t0, t1;
};

// One line of the capture overview: its label (text) and its value (HTML, escaped).
struct OverviewItem {
  std::string label;
  std::string html;
};

// A throttle or an outage: its start, its end, and what the report draws of it. Blocks are not
// episodes (ReportBlock): they have no rate to draw.
struct ReportEpisode {
  enum class ChartState : uint8_t {
    kDrawn,        // `chart` holds it
    kOverCap,      // kMaxEventCharts charts came before
    kNotRecorded,  // a throttle whose flow has no recorded series
  };
  const Event* start = nullptr;
  const Event* end = nullptr;     // nullptr: still open when the capture ended
  double t1 = 0;                  // the end's time, or the capture's end
  std::string who;                // the flow, the service or the link (text, not escaped)
  std::string mechanism_numbers;  // MechanismNumbers(*start)
  // Throttles of a flow or a service: the recorded series the chart follows (the flow's own,
  // or the first of the service's flows that the event flagged); nullptr: none.
  const RecordedSeries* flagged = nullptr;
  // Drawn throttle charts: the concurrent flows drawn beside it, most bytes in the window first.
  std::vector<const RecordedSeries*> references;
  ChartState chart_state = ChartState::kDrawn;
  Chart chart;
};

// A blocked service: a block event's start and end, and its evidence in words. Text fields are
// not escaped.
struct ReportBlock {
  const Event* start = nullptr;
  const Event* end = nullptr;  // nullptr: still blocked when the capture ended
  // The counts shown: the end's (the whole block), else the start's (up to the block's start).
  const BlockEvidence* counts = nullptr;
  std::string endpoint;               // the blocked connections' address and port
  std::string service;                // the service's name, else `endpoint`
  std::vector<std::string> evidence;  // BlockEvidenceWords(*counts)
};

// A row of a top table; `label` is text (not escaped).
struct TopRow {
  std::string label;
  uint64_t flows = 0;                    // services only
  uint64_t down = 0, up = 0, total = 0;  // wire bytes
};

struct ReportModel {
  double cap_t0 = 0, cap_t1 = 0;  // the capture's first and last packet (epoch seconds)
  std::vector<Gap> gaps;          // of the link series
  int throttles = 0, targeted = 0, outages = 0;
  std::vector<OverviewItem> overview;
  Chart link_chart;
  std::vector<ReportEpisode> episodes;  // throttles and outages, in order of their start time
  std::vector<ReportBlock> blocks;      // in order of their start time
  std::vector<TopRow> top_flows, top_services;
};

ReportModel BuildReportModel(const ReportData& data);

// The numbers the detector judged a throttle's mechanism on (Event::evidence), in words: the
// RTT before and since the change ("RTT 20 → 150 ms", and the share retransmitted if any showed)
// for shaping, the share retransmitted ("1.2 % of the payload retransmitted") for policing, both
// for unknown; for a link event how many of the flows limited with it queued. Empty when the
// event carries none (e.g. read back from a file).
std::string MechanismNumbers(const Event& e);

// What proved a block, in sentences (text, not escaped): how the connections failed, the
// fingerprints of injected resets, the other services that kept working, whether the service had
// worked before, and what one uplink cannot tell apart for this method. For DNS: the races and
// their fingerprints, the address answered (through `format`).
std::vector<std::string> BlockEvidenceWords(const BlockEvidence& b, const AddressText& format);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_REPORT_MODEL_H_
