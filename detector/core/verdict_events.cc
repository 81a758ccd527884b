#include "detector/core/verdict_events.h"

#include <algorithm>

namespace tw::detector {

void EmitVerdictEvents(const std::vector<Event>& existing, std::vector<FlowVerdict>* verdicts,
                       EventSink* sink) {
  uint64_t next_id = 1;
  for (const Event& e : existing) next_id = std::max(next_id, e.id + 1);
  for (FlowVerdict& v : *verdicts) {
    if (v.kind != VerdictKind::kPoliced) continue;
    for (const Event& e : existing) {
      if (e.kind == EventKind::kThrottle && e.has_flow && e.flow.id == v.info.id &&
          e.direction == v.dir) {
        v.event_id = e.id;
        break;
      }
    }
    if (v.event_id != 0) continue;
    // Targeted: another flow in the same direction, overlapping in time and judged, was not
    // limited. For a service's shared bucket the other flow must be towards another service;
    // a flow's own bucket singles it out from the other flows of its service too (a policer on
    // one port of a server).
    // With no such flow, limited or not, there is nothing to compare with: unknown.
    bool targeted = false, compared = false;
    const bool shared = v.scope == EventScope::kRemoteHost;
    for (const FlowVerdict& o : *verdicts) {
      if (&o == &v || o.dir != v.dir || (shared && o.remote_host == v.remote_host)) continue;
      if (o.kind == VerdictKind::kInsufficientData || o.kind == VerdictKind::kNotJudged) continue;
      if (!(o.first_ns < v.last_ns && v.first_ns < o.last_ns)) continue;
      compared = true;
      if (!IsLimited(o.kind)) targeted = true;
    }
    Event e;
    e.id = next_id++;
    e.kind = EventKind::kThrottle;
    e.state = EventState::kStart;
    e.ts = v.limited_since;
    e.detected_at = double(v.last_ns) * 1e-9;
    e.scope = v.scope;
    e.direction = v.dir;
    e.has_flow = true;
    e.flow = v.info;
    e.rate_before_bps = 0;
    e.rate_after_bps = v.rate_bps;
    e.targeted = targeted;
    e.targeted_known = compared;
    e.confidence = v.confidence;
    e.mechanism = Mechanism::kPolicing;
    // What the verdict judged: losses in step with a token bucket, and no standing queue. It
    // has no "before": the RTT floor it measured the queue from stands for it, the median for
    // the RTT since (their difference is the verdict's queue delay).
    if (v.rtt_median_s > 0) {
      e.evidence.rtt_before_s = v.rtt_median_s - v.queue_delay_s;
      e.evidence.rtt_after_s = v.rtt_median_s;
    }
    e.evidence.loss_share = v.retrans_rate;
    v.event_id = e.id;
    sink->OnEvent(e);
  }
}

}  // namespace tw::detector
