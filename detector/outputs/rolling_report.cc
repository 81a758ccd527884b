#include "detector/outputs/rolling_report.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace tw::detector {

RollingReport::RollingReport(double window_s, ReportData page, const SeriesRecorderParams& params)
    : window_ns_(int64_t(window_s * 1e9)), page_(std::move(page)), rec_(params) {}

void RollingReport::OnBin(int64_t start_ns, int64_t width_ns,
                          std::span<const capture::FlowBin> flows, const capture::LinkBin& link) {
  if (totals_since_ns_ < 0) totals_since_ns_ = start_ns;
  totals_.capture = counters_;
  marks_.push_back({start_ns, totals_});
  for (int d = 0; d < 2; ++d) {
    totals_.packets += link.dir[d].packets;
    totals_.bytes += link.dir[d].wire_bytes;
  }
  rec_.OnBin(start_ns, width_ns, flows, link);
}

void RollingReport::OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) {
  ++totals_.flows_ended;
  rec_.OnFlowEnd(info, totals);
}

void RollingReport::OnEvent(const Event& e) {
  rec_.OnEvent(e);
  events_.push_back(e);
}

void RollingReport::Forget(int64_t cutoff_ns, int64_t now_ns) {
  rec_.ForgetBefore(cutoff_ns);
  while (!marks_.empty() && marks_.front().start_ns < cutoff_ns) marks_.pop_front();
  // An episode leaves the window when it ended before the cutoff; open ones stay.
  const double cutoff_s = double(cutoff_ns) * 1e-9;
  std::set<uint64_t> gone;
  for (const Event& e : events_) {
    if (e.state == EventState::kEnd && e.ts < cutoff_s) gone.insert(e.id);
  }
  std::erase_if(events_, [&gone](const Event& e) { return gone.count(e.id) > 0; });
  if (totals_since_ns_ >= 0 && totals_since_ns_ < cutoff_ns) {
    rec_.ResetTotals();
    totals_since_ns_ = now_ns;
  }
}

std::string RollingReport::Render(int64_t now_ns, uint64_t active_flows) {
  Forget(now_ns - window_ns_, now_ns);
  ReportData data = page_;
  totals_.capture = counters_;
  const Totals first = marks_.empty() ? totals_ : marks_.front().before;
  CaptureOverview& ov = data.overview;
  ov.first_ns = marks_.empty() ? now_ns : marks_.front().start_ns;
  ov.last_ns = now_ns;
  ov.packets = totals_.packets - first.packets;
  ov.bytes = totals_.bytes - first.bytes;
  ov.flows = totals_.flows_ended - first.flows_ended + active_flows;
  ov.capture_drops = totals_.capture.capture_dropped - first.capture.capture_dropped;
  for (size_t i = 0; i < ov.decode.size(); ++i) {
    ov.decode[i] = totals_.capture.decode[i] - first.capture.decode[i];
  }
  ov.not_local = totals_.capture.not_local - first.capture.not_local;
  data.series = &rec_;
  data.events = events_;
  data.totals_since_ns = totals_since_ns_;
  std::ostringstream out;
  if (!WriteReport(data, out)) return {};
  return std::move(out).str();
}

}  // namespace tw::detector
