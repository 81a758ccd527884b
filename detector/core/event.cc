#include "detector/core/event.h"

#include <cmath>
#include <cstdio>

namespace tw::detector {

const char* KindName(EventKind k) { return k == EventKind::kThrottle ? "throttle" : "outage"; }
const char* StateName(EventState s) { return s == EventState::kStart ? "start" : "end"; }
const char* ScopeName(EventScope s) {
  switch (s) {
    case EventScope::kFlow:
      return "flow";
    case EventScope::kRemoteHost:
      return "service";
    case EventScope::kLink:
      return "link";
  }
  return "link";
}
const char* DirectionName(capture::Direction d) { return d == capture::kUp ? "up" : "down"; }
const char* MechanismName(Mechanism m) {
  switch (m) {
    case Mechanism::kShaping:
      return "shaping";
    case Mechanism::kPolicing:
      return "policing";
    case Mechanism::kUnknown:
      return "unknown";
    case Mechanism::kNone:
      break;
  }
  return "none";
}

}  // namespace tw::detector
