#include "detector/core/outage_detector.h"

#include <algorithm>
#include <cmath>

namespace tw::detector {

using capture::kDown;
using capture::kUp;

namespace {

// The confidence of an outage, from the independent witnesses of the dark link: each distinct
// remote that had answered and was asked again, in vain, during the silence, and the router
// that said it cannot deliver (ICMP errors during the silence) counted as one more. One silent
// server may be that server's own failure (even odds, 0.5); each further witness halves the
// chance that the link is not to blame: 1 - 0.5^w, for w = 2, 3, 4 ... gives 0.75, 0.88,
// 0.94 ..., at most 0.99.
double ConfidenceOf(const OutageEvidence& ev) {
  const int witnesses = ev.witnesses + (ev.router_errors > 0 ? 1 : 0);
  return std::min(0.99, 1.0 - std::pow(0.5, witnesses));
}

}  // namespace

DemandSummary SummarizeDemand(std::span<const capture::FlowBin> flows, int64_t after_ns,
                              int64_t now_ns, const AnsweredRemotes& answered) {
  DemandSummary s;
  // Distinct remotes, counted apart so that many remotes that never answered (a scan) cannot
  // crowd the candidate witnesses out of the count.
  capture::Address overdue[kMaxRemotesCounted];
  struct Candidate {
    capture::Address remote;
    int64_t first_ask = INT64_MAX, last_ask = 0;
    bool retried = false;
  };
  Candidate cand[kMaxRemotesCounted];
  int candidates = 0;
  for (const capture::FlowBin& f : flows) {
    const capture::Demand& d = f.demand;
    if (d.since_ns == 0 || d.last_ask_ns <= after_ns) continue;
    if (double(now_ns - d.since_ns) * 1e-9 < double(d.rto_s)) continue;
    s.asks += d.asks;
    const capture::Address& remote = f.info.remote();
    if (s.overdue_remotes < kMaxRemotesCounted &&
        std::find(overdue, overdue + s.overdue_remotes, remote) == overdue + s.overdue_remotes) {
      overdue[s.overdue_remotes++] = remote;
    }
    if (answered.count(remote) == 0) continue;
    Candidate* c = std::find_if(cand, cand + candidates,
                                [&](const Candidate& x) { return x.remote == remote; });
    if (c == cand + candidates) {
      if (candidates == kMaxRemotesCounted) continue;
      c = &cand[candidates++];
      c->remote = remote;
    }
    c->first_ask = std::min(c->first_ask, d.since_ns);
    c->last_ask = std::max(c->last_ask, d.last_ask_ns);
    c->retried = c->retried || d.retried;
  }
  for (int i = 0; i < candidates; ++i) {
    const bool again =
        cand[i].retried || cand[i].last_ask - cand[i].first_ask >= capture::kMinRetryWaitNs;
    s.witnesses += again ? 1 : 0;
  }
  return s;
}

void OutageDetector::RememberAnswers(int64_t bin_end, std::span<const capture::FlowBin> flows) {
  constexpr size_t kMaxRemembered = 65'536;
  for (const capture::FlowBin& f : flows) {
    if (f.dir[kDown].packets == 0) continue;
    if (answered_.size() >= kMaxRemembered) answered_.clear();
    answered_[f.info.remote()] = bin_end;
  }
}

OutageDetector::OutageDetector(const OutageParams& params, EventSink* sink, uint64_t* next_event_id)
    : p_(params), sink_(sink), next_id_(next_event_id) {}

void OutageDetector::OnCaptureGap() {
  if (in_outage_) {
    // The evidence stops with the capture: the outage is known to have lasted until the last
    // packet before the gap, no longer.
    Event e = start_;
    e.state = EventState::kEnd;
    e.ts = double(std::max(last_seen_ns_, silence_start_ns_)) * 1e-9;
    e.detected_at = e.ts;
    e.rate_before_bps = 0;
    e.rate_after_bps = 0;
    e.duration_s = e.ts - start_.ts;
    e.reason = "capture_gap";
    in_outage_ = false;
    sink_->OnEvent(e);
  }
  // What follows the gap is judged afresh: no baseline, no silence under way.
  silent_ = false;
  last_down_ns_ = 0;
  bins_ = 0;
}

void OutageDetector::OnAnswers(int64_t bin_end, double width_s, const capture::LinkBin& link) {
  if (in_outage_) {
    Event e = start_;
    e.state = EventState::kEnd;
    // The first answer of this bin, but never before the silence began: a straggler with
    // an older timestamp (reordered or crafted capture) must not end it before it started.
    e.ts = double(std::max(link.first_ns[kDown], silence_start_ns_)) * 1e-9;
    e.detected_at = double(bin_end) * 1e-9;
    e.rate_before_bps = 0;
    e.rate_after_bps = double(link.dir[kDown].wire_bytes) * 8 / width_s;
    e.duration_s = e.ts - start_.ts;
    e.reason = "traffic_resumed";
    in_outage_ = false;
    sink_->OnEvent(e);
  }
  silent_ = false;
  last_down_ns_ = link.last_ns[kDown];
}

void OutageDetector::OnBin(int64_t start_ns, int64_t width_ns,
                           std::span<const capture::FlowBin> flows, const capture::LinkBin& link) {
  if (bins_ > 0 && start_ns != next_bin_ns_) OnCaptureGap();
  next_bin_ns_ = start_ns + width_ns;
  const double width_s = double(width_ns) * 1e-9;
  const int64_t bin_end = start_ns + width_ns;
  const capture::DirectionBin& down = link.dir[kDown];
  for (capture::Direction d : {kUp, kDown}) {
    last_seen_ns_ = std::max(last_seen_ns_, link.last_ns[d]);
  }
  // Inbound ICMP errors are a router saying it cannot deliver: evidence, not an answer.
  const uint32_t answers = down.packets - std::min(down.packets, link.icmp_errors[kDown]);
  // Inbound activity, averaged over every bin (silent ones included), as it was before this bin.
  const double activity_before = activity_pps_, rate_before = rate_bps_;
  const double a = bins_ == 0 ? 1.0 : p_.activity_alpha;
  activity_pps_ += a * (answers / width_s - activity_pps_);
  rate_bps_ += a * (double(down.wire_bytes) * 8 / width_s - rate_bps_);
  ++bins_;
  if (answers > 0) {
    OnAnswers(bin_end, width_s, link);
    RememberAnswers(bin_end, flows);
    return;
  }
  if (last_down_ns_ == 0) return;  // nothing inbound seen yet: no baseline
  if (!silent_) {
    silent_ = true;
    silence_start_ns_ = last_down_ns_;
    icmp_errors_ = 0;
    activity_at_silence_ = activity_before;
    rate_at_silence_ = rate_before;
  }
  icmp_errors_ += link.icmp_errors[kDown];
  MaybeStart(bin_end, flows);
}

void OutageDetector::MaybeStart(int64_t bin_end, std::span<const capture::FlowBin> flows) {
  const bool long_enough = bin_end - silence_start_ns_ >= p_.min_silence_ns;
  const bool was_active = activity_at_silence_ >= p_.min_active_pps;
  if (!in_outage_ && !(long_enough && was_active)) return;
  const DemandSummary demand = SummarizeDemand(flows, silence_start_ns_, bin_end, answered_);
  if (in_outage_) {
    // The end reports the most the silence showed.
    OutageEvidence& ev = start_.outage;
    ev.unanswered_remotes = std::max(ev.unanswered_remotes, demand.overdue_remotes);
    ev.witnesses = std::max(ev.witnesses, demand.witnesses);
    ev.asks = std::max(ev.asks, demand.asks);
    ev.router_errors = icmp_errors_;
    start_.confidence = ConfidenceOf(ev);
    return;
  }
  if (demand.witnesses < p_.min_witnesses) return;
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
  e.outage = {demand.overdue_remotes, demand.witnesses, demand.asks, icmp_errors_};
  e.confidence = ConfidenceOf(e.outage);
  in_outage_ = true;
  sink_->OnEvent(e);
}

}  // namespace tw::detector
