#include "detector/core/event.h"

#include <cmath>
#include <cstdio>

namespace tw::detector {

const char* KindName(EventKind k) {
  switch (k) {
    case EventKind::kThrottle:
      return "throttle";
    case EventKind::kOutage:
      return "outage";
    case EventKind::kBlock:
      return "block";
  }
  return "throttle";
}
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

const char* BlockMethodName(BlockMethod m) {
  switch (m) {
    case BlockMethod::kTcpRst:
      return "tcp_rst";
    case BlockMethod::kSniBlackhole:
      return "sni_blackhole";
    case BlockMethod::kIpBlackhole:
      return "ip_blackhole";
    case BlockMethod::kQuicBlackhole:
      return "quic_blackhole";
    case BlockMethod::kDnsInjection:
      return "dns_injection";
    case BlockMethod::kDnsBogon:
      return "dns_bogon";
    case BlockMethod::kDnsNxdomain:
      return "dns_nxdomain";
    case BlockMethod::kHttpBlockpage:
      return "http_blockpage";
    case BlockMethod::kNone:
      break;
  }
  return "none";
}

BlockMethod ParseBlockMethod(std::string_view name) {
  for (size_t m = 1; m < kBlockMethods; ++m) {
    if (name == BlockMethodName(BlockMethod(m))) return BlockMethod(m);
  }
  return BlockMethod::kNone;
}

const char* BlockTransportName(BlockTransport t) {
  switch (t) {
    case BlockTransport::kQuic:
      return "quic";
    case BlockTransport::kDns:
      return "dns";
    case BlockTransport::kTcp:
      break;
  }
  return "tcp";
}

BlockTransport ParseBlockTransport(std::string_view name) {
  if (name == "quic") return BlockTransport::kQuic;
  if (name == "dns") return BlockTransport::kDns;
  return BlockTransport::kTcp;
}

const char* BlockOoniCategory(const BlockEvidence& b) {
  // A SYN unanswered, or reset before the handshake completed (no handshake round trip), is a
  // failed TCP connect; the rest failed after it, in the TLS (or QUIC) handshake.
  if (b.transport == BlockTransport::kDns) return "dns";
  if (b.method == BlockMethod::kHttpBlockpage) return "http-diff";
  if (b.method == BlockMethod::kIpBlackhole) return "tcp_ip";
  if (b.method == BlockMethod::kTcpRst && b.handshake_rtt_s < 0) return "tcp_ip";
  return "http-failure";
}

}  // namespace tw::detector
