#include "detector/outputs/event_json.h"

#include <optional>

#include "capture/ip_proto.h"
#include "capture/tunnel.h"
#include "detector/outputs/json.h"
#include "util/utc_time.h"

namespace tw::detector {

namespace {

// The value of `key` in `j` when it is of the wanted type.
std::optional<double> Number(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}
std::optional<std::string> Text(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// A whole number in [lo, hi] (an edited file may hold anything: converting an out-of-range double
// to an integer is undefined).
std::optional<int> Int(const Json& j, const char* key, double lo, double hi) {
  const auto v = Number(j, key);
  if (!v || !(*v >= lo && *v <= hi)) return std::nullopt;
  return int(*v);
}
std::optional<bool> Bool(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

// A block's fields (AddBlock) read back, so that an end written from a start read back (a
// restart's) names the same port, transport and counts.
void ReadBlock(const Json& j, BlockEvidence* b) {
  constexpr double kMaxCount = 1e9;
  if (auto m = Text(j, "method")) b->method = ParseBlockMethod(*m);
  if (auto p = Int(j, "remote_port", 0, 65535)) b->remote_port = uint16_t(*p);
  if (auto t = Text(j, "transport")) b->transport = ParseBlockTransport(*t);
  if (auto n = Int(j, "attempts", 0, kMaxCount)) b->attempts = *n;
  if (auto n = Int(j, "failures", 0, kMaxCount)) b->failures = *n;
  auto ev = j.find("evidence");
  if (ev == j.end() || !ev->is_object()) return;
  if (auto n = Int(*ev, "other_services_ok", 0, kMaxCount)) b->witnesses = *n;
  if (auto v = Bool(*ev, "same_address_ok")) b->same_address_ok = *v;
  if (auto v = Bool(*ev, "worked_before")) b->worked_before = *v;
  if (auto n = Int(*ev, "resets_ttl_mismatch", 0, kMaxCount)) b->resets_ttl_mismatch = *n;
  if (auto n = Int(*ev, "resets_too_fast", 0, kMaxCount)) b->resets_too_fast = *n;
  if (auto n = Int(*ev, "reset_ttl_delta", -255, 255)) b->reset_ttl_delta = *n;
  if (auto v = Number(*ev, "reset_after_s")) b->reset_after_s = *v;
  if (auto v = Number(*ev, "handshake_rtt_s")) b->handshake_rtt_s = *v;
  if (auto n = Int(*ev, "answers_racing", 0, kMaxCount)) b->answers_racing = *n;
  if (auto n = Int(*ev, "answers_ttl_mismatch", 0, kMaxCount)) b->answers_ttl_mismatch = *n;
  if (auto n = Int(*ev, "answer_ttl_delta", -255, 255)) b->answer_ttl_delta = *n;
  if (auto v = Number(*ev, "answer_after_s")) b->answer_after_s = *v;
  if (auto v = Number(*ev, "resolver_after_s")) b->resolver_after_s = *v;
  if (auto n = Int(*ev, "http_status", 100, 599)) b->http_status = *n;
  if (auto n = Int(*ev, "page_ttl_delta", -255, 255)) b->page_ttl_delta = *n;
  if (auto t = Text(*ev, "forged_address")) {
    if (auto a = capture::Address::Parse(*t)) {
      b->has_forged_address = true;
      b->forged_address = *a;
    }
  }
}

// A block's method and evidence (see BlockEvidence).
void AddBlock(const BlockEvidence& b, const capture::AddressFormatter& addresses, Json* j) {
  (*j)["remote_port"] = b.remote_port;
  (*j)["transport"] = BlockTransportName(b.transport);
  (*j)["method"] = BlockMethodName(b.method);
  (*j)["ooni_blocking"] = BlockOoniCategory(b);
  (*j)["attempts"] = b.attempts;
  (*j)["failures"] = b.failures;
  Json ev = {{"other_services_ok", b.witnesses},
             {"same_address_ok", b.same_address_ok},
             {"worked_before", b.worked_before}};
  if (b.resets_ttl_mismatch > 0 || b.resets_too_fast > 0) {
    ev["resets_ttl_mismatch"] = b.resets_ttl_mismatch;
    ev["resets_too_fast"] = b.resets_too_fast;
    ev["reset_ttl_delta"] = b.reset_ttl_delta;
    ev["reset_after_s"] = Rounded(b.reset_after_s, 4);
  }
  if (b.handshake_rtt_s >= 0) ev["handshake_rtt_s"] = Rounded(b.handshake_rtt_s, 4);
  if (b.answers_racing > 0) {
    ev["answers_racing"] = b.answers_racing;
    ev["answers_ttl_mismatch"] = b.answers_ttl_mismatch;
    ev["answer_ttl_delta"] = b.answer_ttl_delta;
    if (b.resolver_after_s >= 0) ev["resolver_after_s"] = Rounded(b.resolver_after_s, 4);
  }
  if (b.answer_after_s >= 0) ev["answer_after_s"] = Rounded(b.answer_after_s, 4);
  if (b.http_status != 0) {
    ev["http_status"] = b.http_status;
    ev["page_ttl_delta"] = b.page_ttl_delta;
  }
  if (b.has_forged_address) ev["forged_address"] = addresses.Format(b.forged_address);
  (*j)["evidence"] = std::move(ev);
}

}  // namespace

Event MapAddresses(const Event& e, const capture::AddressFormatter& addresses) {
  Event m = e;
  if (!addresses.anonymized()) return m;
  m.flow.key.a = addresses.Map(e.flow.key.a);
  m.flow.key.b = addresses.Map(e.flow.key.b);
  m.remote = addresses.Map(e.remote);
  m.block.forged_address = addresses.Map(e.block.forged_address);
  return m;
}

Json FlowToJson(const capture::FlowInfo& f, const capture::AddressFormatter& addresses) {
  Json j = {{"proto", capture::ProtoName(f.proto())},
            {"local", addresses.Format(f.local())},
            {"local_port", f.local_port()},
            {"remote", addresses.Format(f.remote())},
            {"remote_port", f.remote_port()}};
  if (!f.tunnels.empty()) j["tunnel"] = capture::TunnelPathName(f.tunnels);
  return j;
}

std::string EventToJson(const Event& e, const capture::AddressFormatter& addresses,
                        const EventOrigin* origin) {
  Json j;
  j["schema"] = kEventSchemaVersion;
  j["record"] = "event";
  j["id"] = e.id;
  j["kind"] = KindName(e.kind);
  j["state"] = StateName(e.state);
  j["ts"] = Rounded(e.ts, 3);
  j["time"] = util::IsoTime(e.ts);
  j["detected_at"] = Rounded(e.detected_at, 3);
  j["scope"] = ScopeName(e.scope);
  const bool block = e.kind == EventKind::kBlock;
  if (!block) j["direction"] = DirectionName(e.direction);
  if (origin != nullptr) {
    j["sensor"] = origin->sensor;
    j["interface"] = origin->interface;
  }
  if (e.has_flow) j["flow"] = FlowToJson(e.flow, addresses);
  if (!e.server_name.empty()) j["service"] = e.server_name;
  if (e.has_remote) {
    j["remote"] = addresses.Format(e.remote);
    if (!block) j["flows"] = e.flows;
  }
  if (block) {
    AddBlock(e.block, addresses, &j);
  } else {
    j["rate_before_bps"] = Rounded(e.rate_before_bps, 0);
    j["rate_after_bps"] = Rounded(e.rate_after_bps, 0);
  }
  if (e.targeted_known) {
    j["targeted"] = e.targeted;
  } else {
    j["targeted"] = nullptr;
  }
  j["confidence"] = Rounded(e.confidence, 2);
  if (e.mechanism != Mechanism::kNone) j["mechanism"] = MechanismName(e.mechanism);
  if (e.burst_bytes >= 0) j["burst_bytes"] = Rounded(e.burst_bytes, 0);
  if (e.duration_s >= 0) j["duration_s"] = Rounded(e.duration_s, 3);
  if (!e.reason.empty()) j["reason"] = e.reason;
  if (e.kind == EventKind::kOutage) {
    j["unanswered_remotes"] = e.outage.unanswered_remotes;
    j["witnesses"] = e.outage.witnesses;
    j["unanswered_asks"] = e.outage.asks;
    j["router_errors"] = e.outage.router_errors;
  }
  return DumpLine(j);
}

bool ParseEventLine(const std::string& line, Event* out) {
  *out = Event{};
  const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  // Schema 2 names every line's record, schema 1 named only headers: a header or flow line is no
  // event, a line without a record may be one (a file an older version wrote).
  if (auto record = Text(j, "record"); record && *record != "event") return false;
  const auto id = Number(j, "id");
  const auto kind = Text(j, "kind");
  const auto state = Text(j, "state");
  const auto ts = Number(j, "ts");
  // Ids are whole numbers a double holds exactly (an edited file may say anything: converting
  // an out-of-range double to an integer is undefined).
  if (!id || !kind || !state || !ts || !(*id >= 1 && *id <= 9007199254740992.0)) return false;
  if (*kind == "throttle") {
    out->kind = EventKind::kThrottle;
  } else if (*kind == "outage") {
    out->kind = EventKind::kOutage;
  } else if (*kind == "block") {
    out->kind = EventKind::kBlock;
  } else {
    return false;
  }
  if (*state == "start") {
    out->state = EventState::kStart;
  } else if (*state == "end") {
    out->state = EventState::kEnd;
  } else {
    return false;
  }
  out->id = uint64_t(*id);
  out->ts = *ts;
  if (auto d = Number(j, "detected_at")) out->detected_at = *d;
  if (auto scope = Text(j, "scope")) {
    out->scope = *scope == "flow"      ? EventScope::kFlow
                 : *scope == "service" ? EventScope::kRemoteHost
                                       : EventScope::kLink;
  }
  if (auto dir = Text(j, "direction"))
    out->direction = *dir == "up" ? capture::kUp : capture::kDown;
  if (auto r = Number(j, "rate_after_bps")) out->rate_after_bps = *r;
  if (auto r = Number(j, "rate_before_bps")) out->rate_before_bps = *r;
  if (auto t = j.find("targeted"); t != j.end() && t->is_boolean()) out->targeted = t->get<bool>();
  if (auto t = j.find("targeted"); t != j.end() && t->is_null()) out->targeted_known = false;
  if (auto c = Number(j, "confidence")) out->confidence = *c;
  if (auto name = Text(j, "service")) out->server_name = *name;
  if (auto remote = Text(j, "remote")) {
    if (auto a = capture::Address::Parse(*remote)) {
      out->has_remote = true;
      out->remote = *a;
    }
  }
  if (out->kind == EventKind::kBlock) ReadBlock(j, &out->block);
  if (auto f = j.find("flow"); f != j.end() && f->is_object()) {
    const auto proto = Text(*f, "proto");
    const auto local = Text(*f, "local");
    const auto remote = Text(*f, "remote");
    const auto lport = Number(*f, "local_port");
    const auto rport = Number(*f, "remote_port");
    auto la = local ? capture::Address::Parse(*local) : std::nullopt;
    auto ra = remote ? capture::Address::Parse(*remote) : std::nullopt;
    const auto port = [](const std::optional<double>& p) { return p && *p >= 0 && *p <= 65535; };
    if (proto && la && ra && port(lport) && port(rport)) {
      out->has_flow = true;
      capture::FlowInfo& fl = out->flow;
      fl.key.a = *la;
      fl.key.b = *ra;
      fl.key.port_a = uint16_t(*lport);
      fl.key.port_b = uint16_t(*rport);
      fl.key.proto = capture::ProtoFromName(*proto);
      fl.local_is_a = true;
      if (auto tunnel = Text(*f, "tunnel")) capture::ParseTunnelPath(*tunnel, &fl.tunnels);
    }
  }
  return true;
}

}  // namespace tw::detector
