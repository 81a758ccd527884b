#ifndef THROTTLEWATCH_DETECTOR_CORE_VERDICT_EVENTS_H_
#define THROTTLEWATCH_DETECTOR_CORE_VERDICT_EVENTS_H_
// Throttle events that follow from the flow verdicts at the end of a run.

#include <vector>

#include "detector/core/event.h"
#include "detector/core/event_sink.h"
#include "detector/core/flow_verdict.h"

namespace tw::detector {

// A flow policed from its start is a throttle without a "before": one start event at its first
// limited moment, unless the change-point detector already reported a throttle of the same flow
// and direction (then the verdict points to that event instead). A "shaped" verdict stays in the
// per-flow output only: from the receiver's side a steady, application-paced flow with delayed
// timestamp echoes looks the same, and the lab's controls showed it (policing is told by losses
// that line up with a token bucket, which no application produces).
void EmitVerdictEvents(const std::vector<Event>& existing, std::vector<FlowVerdict>* verdicts,
                       EventSink* sink);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_CORE_VERDICT_EVENTS_H_
