#include "detector/event.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace tw::detector {

const char* KindName(EventKind k) { return k == EventKind::kThrottle ? "throttle" : "outage"; }
const char* StateName(EventState s) { return s == EventState::kStart ? "start" : "end"; }
const char* ScopeName(EventScope s) {
  switch (s) {
    case EventScope::kFlow: return "flow";
    case EventScope::kService: return "service";
    case EventScope::kLink: return "link";
  }
  return "link";
}
const char* DirectionName(capture::Direction d) { return d == capture::kUp ? "up" : "down"; }
const char* MechanismName(Mechanism m) {
  switch (m) {
    case Mechanism::kShaping: return "shaping";
    case Mechanism::kPolicing: return "policing";
    case Mechanism::kUnknown: return "unknown";
    case Mechanism::kNone: break;
  }
  return "none";
}

std::string IsoTime(double epoch_s) {
  double whole = std::floor(epoch_s);
  int ms = int(std::lround((epoch_s - whole) * 1000.0));
  if (ms >= 1000) ms -= 1000, whole += 1;
  const time_t t = time_t(whole);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

const char* ProtoName(uint8_t p) {
  switch (p) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "icmpv6";
    default: return "ip";
  }
}

namespace {

void AppendNum(std::string* s, const char* key, double v, const char* fmt = "%.0f") {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, std::isfinite(v) ? v : 0.0);
  *s += ",\"";
  *s += key;
  *s += "\":";
  *s += buf;
}

void AppendStr(std::string* s, const char* key, const std::string& v) {
  // Values here are addresses, enum names, fixed words and host names (ServiceNames keeps only
  // letters, digits, '-', '_' and '.'): no characters need escaping.
  *s += ",\"";
  *s += key;
  *s += "\":\"";
  *s += v;
  *s += '"';
}
}  // namespace

Event MapAddresses(const Event& e, const capture::AddressFormatter& addresses) {
  Event m = e;
  if (!addresses.anonymized()) return m;
  m.flow.key.a = addresses.Map(e.flow.key.a);
  m.flow.key.b = addresses.Map(e.flow.key.b);
  m.remote = addresses.Map(e.remote);
  return m;
}

std::string EventToJson(const Event& e, const capture::AddressFormatter& addresses) {
  std::string s = "{\"schema\":" + std::to_string(kEventSchemaVersion);
  AppendNum(&s, "id", double(e.id));
  AppendStr(&s, "kind", KindName(e.kind));
  AppendStr(&s, "state", StateName(e.state));
  AppendNum(&s, "ts", e.ts, "%.3f");
  AppendStr(&s, "time", IsoTime(e.ts));
  AppendNum(&s, "detected_at", e.detected_at, "%.3f");
  AppendStr(&s, "scope", ScopeName(e.scope));
  AppendStr(&s, "direction", DirectionName(e.direction));
  if (e.has_flow) {
    s += ",\"flow\":{\"proto\":\"";
    s += ProtoName(e.flow.proto());
    s += "\"";
    AppendStr(&s, "local", addresses.Format(e.flow.local()));
    AppendNum(&s, "local_port", e.flow.local_port());
    AppendStr(&s, "remote", addresses.Format(e.flow.remote()));
    AppendNum(&s, "remote_port", e.flow.remote_port());
    s += '}';
  }
  if (!e.service.empty()) AppendStr(&s, "service", e.service);
  if (e.has_remote) {
    AppendStr(&s, "remote", addresses.Format(e.remote));
    AppendNum(&s, "flows", e.flows);
  }
  AppendNum(&s, "rate_before_bps", e.rate_before_bps);
  AppendNum(&s, "rate_after_bps", e.rate_after_bps);
  s += ",\"targeted\":";
  s += e.targeted ? "true" : "false";
  AppendNum(&s, "confidence", e.confidence, "%.2f");
  if (e.mechanism != Mechanism::kNone) AppendStr(&s, "mechanism", MechanismName(e.mechanism));
  if (e.burst_bytes >= 0) AppendNum(&s, "burst_bytes", e.burst_bytes);
  if (e.duration_s >= 0) AppendNum(&s, "duration_s", e.duration_s, "%.3f");
  if (!e.reason.empty()) AppendStr(&s, "reason", e.reason);
  s += '}';
  return s;
}

}  // namespace tw::detector
