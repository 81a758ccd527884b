#include "detector/core/outage_detector.h"

#include <algorithm>

namespace tw::detector {

using capture::kDown;
using capture::kUp;

namespace {
// The confidence of an outage, out of parts that add up to 1.
// A silence long enough after activity, with some demand behind it, is itself half the
// evidence: inbound traffic can also stop because the far ends have nothing more to send.
constexpr double kOutageBase = 0.5;
// Our side kept sending into the silence (or routers answered it with ICMP errors) and nothing
// came back: demand that went unanswered, the strongest sign that the link itself is dark.
constexpr double kUnansweredWeight = 0.3;
// Each transfer that was carrying data when the silence began and stopped mid-way adds this
// much, for at most kStalledFlowsCounted flows: stalled transfers alone are a weaker sign, and
// flows that stall together may share one cause other than the link.
constexpr double kStalledFlowWeight = 0.1;
constexpr double kStalledFlowsCounted = 2;
}  // namespace

OutageDetector::OutageDetector(const OutageParams& params, EventSink* sink, uint64_t* next_event_id)
    : p_(params), sink_(sink), next_id_(next_event_id) {}

void OutageDetector::OnBin(int64_t start_ns, int64_t width_ns,
                           std::span<const capture::FlowBin> flows, const capture::LinkBin& link) {
  const double width_s = double(width_ns) * 1e-9;
  const int64_t bin_end = start_ns + width_ns;
  const capture::DirectionBin& down = link.dir[kDown];
  // Inbound ICMP errors are a router saying it cannot deliver: evidence, not an answer.
  const uint32_t answers = down.packets - std::min(down.packets, link.icmp_errors[kDown]);
  // Inbound activity, averaged over every bin (silent ones included), as it was before this bin.
  const double activity_before = activity_pps_, rate_before = rate_bps_;
  const double a = bins_ == 0 ? 1.0 : p_.activity_alpha;
  activity_pps_ += a * (answers / width_s - activity_pps_);
  rate_bps_ += a * (double(down.wire_bytes) * 8 / width_s - rate_bps_);
  ++bins_;
  if (answers > 0) {
    if (in_outage_) {
      Event e = start_;
      e.state = EventState::kEnd;
      // The first answer of this bin, but never before the silence began: a straggler with
      // an older timestamp (reordered or crafted capture) must not end it before it started.
      e.ts = double(std::max(link.first_ns[kDown], silence_start_ns_)) * 1e-9;
      e.detected_at = double(bin_end) * 1e-9;
      e.rate_before_bps = 0;
      e.rate_after_bps = double(down.wire_bytes) * 8 / width_s;
      e.duration_s = e.ts - start_.ts;
      e.reason = "traffic_resumed";
      in_outage_ = false;
      sink_->OnEvent(e);
    }
    silent_ = false;
    last_down_ns_ = link.last_ns[kDown];
    data_flows_last_bin_ = 0;
    for (const capture::FlowBin& f : flows) {
      if (f.dir[kDown].payload_bytes > 0 && !f.closed) ++data_flows_last_bin_;
    }
    return;
  }
  if (last_down_ns_ == 0) return;  // nothing inbound seen yet: no baseline
  if (!silent_) {
    silent_ = true;
    silence_start_ns_ = last_down_ns_;
    unanswered_ = 0;
    stalled_flows_ = data_flows_last_bin_;
    activity_at_silence_ = activity_before;
    rate_at_silence_ = rate_before;
  }
  unanswered_ += link.dir[kUp].packets + link.icmp_errors[kDown];
  if (in_outage_) return;
  const bool long_enough = bin_end - silence_start_ns_ >= p_.min_silence_ns;
  const bool was_active = activity_at_silence_ >= p_.min_active_pps;
  const bool demand = unanswered_ >= uint64_t(p_.min_unanswered) ||
                      stalled_flows_ >= uint32_t(p_.min_stalled_flows);
  if (!(long_enough && was_active && demand)) return;
  Event& e = start_;
  e = Event{};
  e.id = (*next_id_)++;
  e.kind = EventKind::kOutage;
  e.state = EventState::kStart;
  e.ts = double(silence_start_ns_) * 1e-9;
  e.detected_at = double(bin_end) * 1e-9;
  e.scope = EventScope::kLink;
  e.direction = kDown;
  e.rate_before_bps = rate_at_silence_;
  e.rate_after_bps = 0;
  // Unanswered traffic from our side is the strongest sign; stalled transfers alone less so.
  const double conf = kOutageBase +
                      (unanswered_ >= uint64_t(p_.min_unanswered) ? kUnansweredWeight : 0.0) +
                      kStalledFlowWeight * std::min<double>(stalled_flows_, kStalledFlowsCounted);
  e.confidence = std::min(conf, 1.0);
  in_outage_ = true;
  sink_->OnEvent(e);
}

}  // namespace tw::detector
