#pragma once
// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"), named once for the whole
// project, with the names events, flow lines and the report write for them.

#include <cstdint>
#include <string_view>

namespace tw::capture {

enum IpProto : uint8_t {
  kIpProtoIcmp = 1,
  kIpProtoTcp = 6,
  kIpProtoUdp = 17,
  kIpProtoIcmpv6 = 58,
};

// Well-known ports and record types the decoder looks into.
inline constexpr uint16_t kDnsPort = 53;
inline constexpr uint16_t kHttpPort = 80;
inline constexpr uint16_t kNtpPort = 123;
inline constexpr uint8_t kTlsHandshakeRecord = 0x16;  // TLS ContentType "handshake"

// Whether flows of this protocol are told apart by ports (TCP and UDP; ICMP keys on addresses).
constexpr bool HasPorts(uint8_t ip_proto) {
  return ip_proto == kIpProtoTcp || ip_proto == kIpProtoUdp;
}

// "tcp", "udp", "icmp", "icmpv6"; "ip" for any other protocol.
constexpr const char* ProtoName(uint8_t ip_proto) {
  switch (ip_proto) {
    case kIpProtoTcp:
      return "tcp";
    case kIpProtoUdp:
      return "udp";
    case kIpProtoIcmp:
      return "icmp";
    case kIpProtoIcmpv6:
      return "icmpv6";
    default:
      return "ip";
  }
}

// The protocol number ProtoName() names, 0 for a name it does not know.
constexpr uint8_t ProtoFromName(std::string_view name) {
  for (uint8_t p : {kIpProtoTcp, kIpProtoUdp, kIpProtoIcmp, kIpProtoIcmpv6}) {
    if (name == ProtoName(p)) return p;
  }
  return 0;
}

}  // namespace tw::capture
