#ifndef THROTTLEWATCH_TEST_SUPPORT_EVENT_CHECKS_H_
#define THROTTLEWATCH_TEST_SUPPORT_EVENT_CHECKS_H_

#include <cmath>
#include <string>

#include "detector/core/event.h"

namespace tw::testing {

// What is wrong with an event's numbers, or "" when nothing is: every number finite, times
// and rates never negative, confidence in [0, 1], optional fields either unset (-1) or valid,
// and the time the change happened not after the time it was noticed. `min_ts`/`max_ts`
// bound the plausible times (the input's first and last packet, in epoch seconds).
inline std::string EventProblems(const detector::Event& e, double min_ts = 0,
                                 double max_ts = 1e12) {
  std::string p;
  const auto bad = [&](const char* what) {
    if (!p.empty()) p += "; ";
    p += what;
  };
  const auto finite_nonneg = [](double v) { return std::isfinite(v) && v >= 0; };
  if (!finite_nonneg(e.ts)) bad("ts not finite or negative");
  if (!finite_nonneg(e.detected_at)) bad("detected_at not finite or negative");
  if (std::isfinite(e.ts) && (e.ts < min_ts - 1 || e.ts > max_ts + 120)) bad("ts out of range");
  if (std::isfinite(e.ts) && std::isfinite(e.detected_at) && e.detected_at + 1e-3 < e.ts) {
    bad("detected_at before ts");
  }
  if (!finite_nonneg(e.rate_before_bps)) bad("rate_before_bps not finite or negative");
  if (!finite_nonneg(e.rate_after_bps)) bad("rate_after_bps not finite or negative");
  if (!std::isfinite(e.confidence) || e.confidence < 0 || e.confidence > 1) {
    bad("confidence outside [0, 1]");
  }
  if (!std::isfinite(e.burst_bytes) || (e.burst_bytes < 0 && e.burst_bytes != -1)) {
    bad("burst_bytes invalid");
  }
  if (!std::isfinite(e.duration_s) || (e.duration_s < 0 && e.duration_s != -1)) {
    bad("duration_s invalid");
  }
  if (e.flows < 0) bad("flows negative");
  if (e.kind == detector::EventKind::kThrottle && e.state == detector::EventState::kStart &&
      std::isfinite(e.rate_before_bps) && std::isfinite(e.rate_after_bps) &&
      e.rate_after_bps > e.rate_before_bps) {
    bad("throttle start rate_after above rate_before");
  }
  return p.empty() ? p : "event " + std::to_string(e.id) + ": " + p;
}

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_EVENT_CHECKS_H_
