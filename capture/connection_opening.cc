#include "capture/connection_opening.h"

#include <algorithm>
#include <cstring>

#include "capture/ip_proto.h"
#include "capture/quic_initial.h"

namespace tw::capture {

namespace {
constexpr uint8_t kTlsClientHello = 1;  // HandshakeType client_hello (RFC 8446 4)

// The start of a TLS record holding a ClientHello: content type, version 3.x, and at byte 5 the
// handshake type.
bool IsClientHello(const uint8_t* d, uint32_t n) {
  return n >= 6 && d[0] == kTlsHandshakeRecord && d[1] == 3 && d[5] == kTlsClientHello;
}

bool IsSyn(const DecodedPacket& p) { return (p.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn; }

float Seconds(int64_t ns) { return float(double(ns) * 1e-9); }

// The status code of an HTTP/1.x status line ("HTTP/1.1 302 Found") that `d` starts with, or 0.
uint16_t HttpStatus(const uint8_t* d, uint32_t n) {
  static constexpr char kVersion[] = "HTTP/1.";
  constexpr uint32_t kLen = sizeof(kVersion) - 1;  // then a digit, a space, three digits
  if (d == nullptr || n < kLen + 5 || std::memcmp(d, kVersion, kLen) != 0) return 0;
  const auto digit = [&](uint32_t i) { return d[i] >= '0' && d[i] <= '9'; };
  if (!digit(kLen) || d[kLen + 1] != ' ' || !digit(kLen + 2) || !digit(kLen + 3) ||
      !digit(kLen + 4)) {
    return 0;
  }
  const uint16_t code =
      uint16_t((d[kLen + 2] - '0') * 100 + (d[kLen + 3] - '0') * 10 + (d[kLen + 4] - '0'));
  return code >= 100 && code <= 599 ? code : 0;
}
}  // namespace

std::string_view OpeningOutcomeName(OpeningOutcome o) {
  switch (o) {
    case OpeningOutcome::kCompleted:
      return "completed";
    case OpeningOutcome::kRefused:
      return "refused";
    case OpeningOutcome::kSynUnanswered:
      return "syn_unanswered";
    case OpeningOutcome::kResetAfterRequest:
      return "reset_after_request";
    case OpeningOutcome::kRequestUnanswered:
      return "request_unanswered";
    case OpeningOutcome::kQuicUnanswered:
      return "quic_unanswered";
  }
  return "?";
}

OpeningTracker::OpeningTracker(size_t max_pending, int64_t max_wait_ns)
    : max_pending_(max_pending), max_wait_ns_(max_wait_ns) {}

void OpeningTracker::Start(int64_t ts_ns, const FlowInfo& info, bool quic) {
  if (pending_.size() >= max_pending_) {
    ++not_followed_;
    return;
  }
  Pending& s = pending_[info.id];
  s.o.flow = info;
  s.o.start_ns = ts_ns;
  s.quic = quic;
}

void OpeningTracker::OnPacket(int64_t ts_ns, const DecodedPacket& p, const uint8_t* payload,
                              uint32_t payload_caplen, const FlowInfo& info, Direction dir,
                              std::vector<Opening>* decided) {
  // Most packets belong to no opening: no lookup while none is pending.
  auto it = pending_.empty() ? pending_.end() : pending_.find(info.id);
  if (it == pending_.end()) {
    // Only connections seen from their first packet, sent by the local side.
    if (dir != kUp || info.first_ns != ts_ns) return;
    const bool quic = p.ip_proto == kIpProtoUdp && MayBeQuicInitial(payload, payload_caplen);
    if (!quic && !(p.ip_proto == kIpProtoTcp && IsSyn(p))) return;
    Start(ts_ns, info, quic);
    it = pending_.find(info.id);
    if (it == pending_.end()) return;
  }
  Pending& s = it->second;
  if (dir == kUp) {
    // A later fragment has no header to read: no SYN, no sequence number, no Initial.
    if (!p.later_fragment) OnClient(ts_ns, p, payload, payload_caplen, &s);
  } else if (OnServer(ts_ns, p, payload, payload_caplen, &s)) {
    s.o.decided_ns = ts_ns;
    decided->push_back(s.o);
    pending_.erase(it);
  }
}

void OpeningTracker::OnClient(int64_t ts_ns, const DecodedPacket& p, const uint8_t* payload,
                              uint32_t payload_caplen, Pending* s) {
  if (s->quic) {
    if (MayBeQuicInitial(payload, payload_caplen)) {
      ++s->o.attempts;
      s->last_attempt_ns = ts_ns;
    }
    return;
  }
  if (!s->synack) {
    if (IsSyn(p)) {
      ++s->o.attempts;
      s->last_attempt_ns = ts_ns;
    }
    return;
  }
  if (p.payload_len == 0) return;
  if (s->request_ns == 0) {
    s->request_ns = ts_ns;
    s->request_seq = p.tcp_seq;
    s->o.hello = IsClientHello(payload, payload_caplen);
    s->o.attempts = 1;
    s->last_attempt_ns = ts_ns;
  } else if (p.tcp_seq == s->request_seq) {
    ++s->o.attempts;
    s->last_attempt_ns = ts_ns;
  }
}

bool OpeningTracker::OnServer(int64_t ts_ns, const DecodedPacket& p, const uint8_t* payload,
                              uint32_t payload_caplen, Pending* s) {
  Opening& o = s->o;
  if (s->quic || p.payload_len > 0) {
    o.outcome = OpeningOutcome::kCompleted;
    if (!s->quic && s->synack) {
      o.data_ttl_delta = int16_t(int(p.ip_ttl) - int(o.server_ttl));
      o.http_status = HttpStatus(payload, payload_caplen);
    }
    return true;
  }
  if ((p.tcp_flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck) && !s->synack) {
    s->synack = true;
    o.server_ttl = p.ip_ttl;
    o.handshake_rtt_s = Seconds(ts_ns - o.start_ns);
    return false;
  }
  if ((p.tcp_flags & kTcpRst) == 0) return false;
  o.reset_ttl = p.ip_ttl;
  if (!s->synack) {
    o.outcome = OpeningOutcome::kRefused;
    o.reset_after_s = Seconds(ts_ns - s->last_attempt_ns);
    return true;
  }
  if (s->request_ns == 0) return false;  // reset before any request: no outcome of ours
  o.outcome = OpeningOutcome::kResetAfterRequest;
  o.reset_after_s = Seconds(ts_ns - s->request_ns);
  o.reset_ttl_delta = int16_t(int(p.ip_ttl) - int(o.server_ttl));
  return true;
}

bool OpeningTracker::Unanswered(Pending* s) {
  if (s->o.attempts < 2) return false;
  if (s->quic) {
    s->o.outcome = OpeningOutcome::kQuicUnanswered;
  } else if (!s->synack) {
    s->o.outcome = OpeningOutcome::kSynUnanswered;
  } else if (s->request_ns != 0) {
    s->o.outcome = OpeningOutcome::kRequestUnanswered;
  } else {
    return false;
  }
  s->o.decided_ns = s->last_attempt_ns;
  return true;
}

void OpeningTracker::OnFlowEnd(uint64_t flow_id, std::vector<Opening>* decided) {
  auto it = pending_.find(flow_id);
  if (it == pending_.end()) return;
  if (Unanswered(&it->second)) decided->push_back(it->second.o);
  pending_.erase(it);
}

void OpeningTracker::Expire(int64_t now_ns, std::vector<Opening>* decided) {
  const size_t from = decided->size();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now_ns - it->second.o.start_ns <= max_wait_ns_) {
      ++it;
      continue;
    }
    if (Unanswered(&it->second)) decided->push_back(it->second.o);
    it = pending_.erase(it);
  }
  // In flow order, not the table's.
  std::sort(decided->begin() + std::ptrdiff_t(from), decided->end(),
            [](const Opening& a, const Opening& b) { return a.flow.id < b.flow.id; });
}

}  // namespace tw::capture
