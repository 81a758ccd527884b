#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_REPORT_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_REPORT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "capture/address.h"
#include "capture/decode.h"
#include "detector/core/event.h"
#include "detector/outputs/address_text.h"
#include "detector/outputs/series_recorder.h"
// Beside the report, and declared here before they had headers of their own:
#include "detector/outputs/series_csv.h"  // IWYU pragma: export
#include "detector/outputs/text_units.h"  // IWYU pragma: export

namespace tw::detector {

// The capture overview at the top of a report.
struct CaptureOverview {
  std::vector<std::string> sources;        // file names (shown as given) or "live: IFACE"
  std::vector<std::string> source_sha256;  // per source: SHA-256 (hex); empty: not hashed
  std::string chain_head;                  // the event chain's head (evidence_chain.h); empty: none
  int64_t first_ns = 0, last_ns = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;  // wire bytes
  uint64_t flows = 0;
  std::vector<capture::Cidr> local;
  bool local_inferred = false;
  std::optional<uint64_t> capture_drops;  // nullopt: the source does not record them (pcap)
  std::array<uint64_t, size_t(capture::DecodeStatus::kCount)> decode{};
  uint64_t not_local = 0;  // packets with no local endpoint
};

// Everything WriteReport() shows. Borrowed: `series` and `events` must outlive the call.
struct ReportData {
  std::string title = "throttlewatch report";
  std::string version;  // of the program that wrote it
  CaptureOverview overview;
  const SeriesRecorder* series = nullptr;  // required
  std::span<const Event> events;           // starts and ends, in emission order
  AddressText format_address = PlainAddresses();
  bool anonymized = false;  // say so in the report
  // Top flows and services count the flows that ended since this time (-1: the whole capture).
  int64_t totals_since_ns = -1;
};

// Writes the report as one self-contained HTML5 page: no URL of any kind is fetched (inline
// style and SVG charts, a Content-Security-Policy that forbids every fetch), readable on a phone
// and in print. Every address goes through data.format_address. Times are UTC, shown with their
// offset. Output size is bounded (charts are downsampled, at most kMaxEventCharts event charts)
// whatever the length of the capture. Capture gaps (see RecordedSeries) are blank on the charts,
// shaded, and listed in the overview; silences the capture reported are drawn at zero. Returns
// false if the stream failed. What it shows is computed apart from the markup: see
// BuildReportModel (report_model.h).
[[nodiscard]] bool WriteReport(const ReportData& data, std::ostream& out);

inline constexpr size_t kMaxEventCharts = 60;

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_REPORT_H_
