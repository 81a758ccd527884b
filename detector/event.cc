#include "detector/event.h"

#include <cmath>
#include <cstdio>

#include "capture/ip_proto.h"
#include "detector/json.h"
#include "util/utc_time.h"

namespace tw::detector {

const char* KindName(EventKind k) { return k == EventKind::kThrottle ? "throttle" : "outage"; }
const char* StateName(EventState s) { return s == EventState::kStart ? "start" : "end"; }
const char* ScopeName(EventScope s) {
  switch (s) {
    case EventScope::kFlow:
      return "flow";
    case EventScope::kService:
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

Event MapAddresses(const Event& e, const capture::AddressFormatter& addresses) {
  Event m = e;
  if (!addresses.anonymized()) return m;
  m.flow.key.a = addresses.Map(e.flow.key.a);
  m.flow.key.b = addresses.Map(e.flow.key.b);
  m.remote = addresses.Map(e.remote);
  return m;
}

std::string EventToJson(const Event& e, const capture::AddressFormatter& addresses) {
  Json j;
  j["schema"] = kEventSchemaVersion;
  j["id"] = e.id;
  j["kind"] = KindName(e.kind);
  j["state"] = StateName(e.state);
  j["ts"] = Rounded(e.ts, 3);
  j["time"] = util::IsoTime(e.ts);
  j["detected_at"] = Rounded(e.detected_at, 3);
  j["scope"] = ScopeName(e.scope);
  j["direction"] = DirectionName(e.direction);
  if (e.has_flow) {
    j["flow"] = {{"proto", capture::ProtoName(e.flow.proto())},
                 {"local", addresses.Format(e.flow.local())},
                 {"local_port", e.flow.local_port()},
                 {"remote", addresses.Format(e.flow.remote())},
                 {"remote_port", e.flow.remote_port()}};
  }
  if (!e.service.empty()) j["service"] = e.service;
  if (e.has_remote) {
    j["remote"] = addresses.Format(e.remote);
    j["flows"] = e.flows;
  }
  j["rate_before_bps"] = Rounded(e.rate_before_bps, 0);
  j["rate_after_bps"] = Rounded(e.rate_after_bps, 0);
  j["targeted"] = e.targeted;
  j["confidence"] = Rounded(e.confidence, 2);
  if (e.mechanism != Mechanism::kNone) j["mechanism"] = MechanismName(e.mechanism);
  if (e.burst_bytes >= 0) j["burst_bytes"] = Rounded(e.burst_bytes, 0);
  if (e.duration_s >= 0) j["duration_s"] = Rounded(e.duration_s, 3);
  if (!e.reason.empty()) j["reason"] = e.reason;
  return DumpLine(j);
}

}  // namespace tw::detector
