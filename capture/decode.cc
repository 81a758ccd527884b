#include "capture/decode.h"

#include <algorithm>

#include "capture/ip_proto.h"

namespace tw::capture {
namespace {

// Every read goes through these byte loads: no unaligned casts, no host byte order.
inline uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t Load32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline uint32_t Load32Le(const uint8_t* p) {
  return (uint32_t{p[3]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | p[0];
}

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;     // 802.1Q
constexpr uint16_t kEtherQinQ = 0x88a8;     // 802.1ad
constexpr uint16_t kEtherQinQOld = 0x9100;  // pre-standard QinQ

constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6Ah = 51;
constexpr uint8_t kIpv6NoNext = 59;
constexpr uint8_t kIpv6DestOpts = 60;

// At most this many IPv6 extension headers are walked; more is treated as a bad header. With
// VLAN depth <= 255 and each extension header <= 2048 bytes, every offset fits in uint16_t.
constexpr int kMaxIpv6ExtHeaders = 16;
constexpr int kMaxVlanDepth = 255;

// What the link layer says follows it.
enum class L3Kind { kByVersion, kIpv4, kIpv6 };

// Maps an ethertype to an L3 kind; false for non-IP types.
bool EtherTypeKind(uint16_t ether_type, L3Kind* kind) {
  if (ether_type == kEtherIpv4) {
    *kind = L3Kind::kIpv4;
    return true;
  }
  if (ether_type == kEtherIpv6) {
    *kind = L3Kind::kIpv6;
    return true;
  }
  return false;
}

// Walks VLAN tags starting at `*offset`, where the tag's TCI begins, with `ether_type` the type
// that announced it. On kOk, `*offset` is the first L3 byte and `*kind` its type.
DecodeStatus WalkVlanTags(const uint8_t* data, uint32_t caplen, uint16_t ether_type,
                          uint32_t* offset, L3Kind* kind, DecodedPacket* out) {
  while (ether_type == kEtherVlan || ether_type == kEtherQinQ || ether_type == kEtherQinQOld) {
    if (out->vlan_depth == kMaxVlanDepth) return DecodeStatus::kNotIp;
    if (caplen - *offset < 4) return DecodeStatus::kTruncated;
    ether_type = Load16(data + *offset + 2);
    *offset += 4;
    ++out->vlan_depth;
  }
  return EtherTypeKind(ether_type, kind) ? DecodeStatus::kOk : DecodeStatus::kNotIp;
}

// Address families seen in DLT_NULL / DLT_LOOP headers (BSD AF_INET and the three AF_INET6
// values of NetBSD/OpenBSD, FreeBSD and macOS).
bool AddressFamilyKind(uint32_t family, L3Kind* kind) {
  switch (family) {
    case 2:
      *kind = L3Kind::kIpv4;
      return true;
    case 24:
    case 28:
    case 30:
      *kind = L3Kind::kIpv6;
      return true;
    default:
      return false;
  }
}

// Decodes the link layer. On kOk, `*offset` is the first L3 byte and `*kind` what it holds.
DecodeStatus DecodeLink(int link_type, const uint8_t* data, uint32_t caplen, uint32_t* offset,
                        L3Kind* kind, DecodedPacket* out) {
  switch (link_type) {
    case kLinkEthernet:
      if (caplen < 14) return DecodeStatus::kTruncated;
      *offset = 14;
      return WalkVlanTags(data, caplen, Load16(data + 12), offset, kind, out);
    case kLinkLinuxSll:
      if (caplen < 16) return DecodeStatus::kTruncated;
      *offset = 16;
      return WalkVlanTags(data, caplen, Load16(data + 14), offset, kind, out);
    case kLinkLinuxSll2:
      if (caplen < 20) return DecodeStatus::kTruncated;
      *offset = 20;
      return WalkVlanTags(data, caplen, Load16(data), offset, kind, out);
    case kLinkRaw:
    case kLinkRawAlt:
    case kLinkRawFile:
      *offset = 0;
      *kind = L3Kind::kByVersion;
      return DecodeStatus::kOk;
    case kLinkIpv4:
      *offset = 0;
      *kind = L3Kind::kIpv4;
      return DecodeStatus::kOk;
    case kLinkIpv6:
      *offset = 0;
      *kind = L3Kind::kIpv6;
      return DecodeStatus::kOk;
    case kLinkNull:
      // Host byte order of the capturing machine, which may not be ours: try both.
      if (caplen < 4) return DecodeStatus::kTruncated;
      *offset = 4;
      return AddressFamilyKind(Load32(data), kind) || AddressFamilyKind(Load32Le(data), kind)
                 ? DecodeStatus::kOk
                 : DecodeStatus::kNotIp;
    case kLinkLoop:
      if (caplen < 4) return DecodeStatus::kTruncated;
      *offset = 4;
      return AddressFamilyKind(Load32(data), kind) ? DecodeStatus::kOk : DecodeStatus::kNotIp;
    default:
      return DecodeStatus::kUnsupportedLinkType;
  }
}

// Decodes an IPv4 header at `off`. On kOk, `*l4_off` is the first L4 byte and `*l4_len` the
// L4 length the header claims.
DecodeStatus DecodeIpv4(const uint8_t* data, uint32_t caplen, uint32_t off, uint32_t* l4_off,
                        uint32_t* l4_len, DecodedPacket* out) {
  const uint32_t avail = caplen - off;
  if (avail < 20) return DecodeStatus::kTruncated;
  const uint8_t* ip = data + off;
  if ((ip[0] >> 4) != 4) return DecodeStatus::kBadIpHeader;
  const uint32_t header_len = (ip[0] & 0x0fu) * 4;
  if (header_len < 20) return DecodeStatus::kBadIpHeader;
  if (header_len > avail) return DecodeStatus::kTruncated;
  uint32_t total_len = Load16(ip + 2);
  // TSO/GSO captures carry a zero total length: take what was captured.
  if (total_len == 0) total_len = avail;
  if (total_len < header_len) return DecodeStatus::kBadIpHeader;

  out->ip_version = 4;
  out->ip_ttl = ip[8];
  out->ip_proto = ip[9];
  out->src = Address::FromV4(ip + 12);
  out->dst = Address::FromV4(ip + 16);
  out->ip_len = total_len;
  const uint16_t frag = Load16(ip + 6);
  if ((frag & 0x1fff) != 0) return DecodeStatus::kFragment;
  out->fragment = (frag & 0x2000) != 0;
  *l4_off = off + header_len;
  *l4_len = total_len - header_len;
  return DecodeStatus::kOk;
}

// Decodes an IPv6 header and its extension headers at `off`. On kOk, `*l4_off` is the first
// byte after the extension headers and `*l4_len` the length the headers claim from there.
DecodeStatus DecodeIpv6(const uint8_t* data, uint32_t caplen, uint32_t off, uint32_t* l4_off,
                        uint32_t* l4_len, DecodedPacket* out) {
  if (caplen - off < 40) return DecodeStatus::kTruncated;
  const uint8_t* ip = data + off;
  if ((ip[0] >> 4) != 6) return DecodeStatus::kBadIpHeader;
  uint8_t next = ip[6];
  uint32_t payload_len = Load16(ip + 4);
  // Zero is a jumbogram or a TSO/GSO capture (unless nothing follows): take what was captured.
  if (payload_len == 0 && next != kIpv6NoNext) payload_len = caplen - off - 40;

  out->ip_version = 6;
  out->ip_ttl = ip[7];
  out->src = Address::FromV6(ip + 8);
  out->dst = Address::FromV6(ip + 24);
  out->ip_len = 40 + payload_len;

  uint32_t cur = off + 40;
  uint32_t remaining = payload_len;
  for (int i = 0;; ++i) {
    if (next != kIpv6HopByHop && next != kIpv6Routing && next != kIpv6DestOpts &&
        next != kIpv6Fragment && next != kIpv6Ah) {
      break;
    }
    if (i == kMaxIpv6ExtHeaders) return DecodeStatus::kBadIpHeader;
    if (caplen - cur < 8) return DecodeStatus::kTruncated;  // every extension header is >= 8
    const uint8_t* ext = data + cur;
    uint32_t ext_len = 8;
    if (next == kIpv6Ah) {
      ext_len = (ext[1] + 2u) * 4;
    } else if (next != kIpv6Fragment) {
      ext_len = (ext[1] + 1u) * 8;
    }
    if (ext_len > remaining) return DecodeStatus::kBadIpHeader;
    if (caplen - cur < ext_len) return DecodeStatus::kTruncated;
    if (next == kIpv6Fragment) {
      const uint16_t frag = Load16(ext + 2);
      if ((frag >> 3) != 0) {
        out->ip_proto = ext[0];
        return DecodeStatus::kFragment;
      }
      // An atomic fragment (offset 0, no more fragments) is a whole datagram.
      out->fragment = out->fragment || (frag & 1) != 0;
    }
    next = ext[0];
    cur += ext_len;
    remaining -= ext_len;
  }
  // ESP (50), No Next Header (59) and unknown headers end the walk: they are the "L4" protocol.
  out->ip_proto = next;
  *l4_off = cur;
  *l4_len = remaining;
  return DecodeStatus::kOk;
}

// Parses TCP options in [begin, end), which lies within the captured bytes and the TCP header.
// Malformed options end parsing; options already read are kept.
void ParseTcpOptions(const uint8_t* data, uint32_t begin, uint32_t end, DecodedPacket* out) {
  uint32_t i = begin;
  while (i < end) {
    const uint8_t kind = data[i];
    if (kind == 0) return;  // end of option list
    if (kind == 1) {        // no-operation
      ++i;
      continue;
    }
    if (end - i < 2) return;
    const uint8_t len = data[i + 1];
    if (len < 2 || len > end - i) return;
    const uint8_t* opt = data + i;
    switch (kind) {
      case 3:  // window scale; RFC 7323 2.3: values above 14 are used as 14
        if (len == 3 && (out->tcp_flags & kTcpSyn) != 0) {
          out->tcp_wscale = std::min<uint8_t>(opt[2], 14);
        }
        break;
      case 5:  // SACK: 2 + 8n bytes
        if ((len - 2) % 8 == 0) out->tcp_sack_blocks = static_cast<uint8_t>((len - 2) / 8);
        break;
      case 8:  // timestamps
        if (len == 10) {
          out->tcp_has_ts = true;
          out->tcp_ts_val = Load32(opt + 2);
          out->tcp_ts_ecr = Load32(opt + 6);
        }
        break;
      default:  // MSS and the rest are not needed
        break;
    }
    i += len;
  }
}

// Decodes the L4 header of protocol `out->ip_proto` at `off`, `len` bytes long per the IP
// header.
DecodeStatus DecodeL4(const uint8_t* data, uint32_t caplen, uint32_t off, uint32_t len,
                      DecodedPacket* out) {
  const uint32_t avail = caplen - off;  // off <= caplen: every L3 header was captured
  const uint8_t* l4 = data + off;
  out->l4_offset = static_cast<uint16_t>(off);
  switch (out->ip_proto) {
    case kIpProtoTcp: {
      if (avail < 20) return DecodeStatus::kTruncated;
      out->src_port = Load16(l4);
      out->dst_port = Load16(l4 + 2);
      out->tcp_seq = Load32(l4 + 4);
      out->tcp_ack = Load32(l4 + 8);
      out->tcp_flags = l4[13];
      out->tcp_window = Load16(l4 + 14);
      const uint32_t header_len = (l4[12] >> 4) * 4u;
      if (header_len < 20) return DecodeStatus::kBadL4Header;
      out->payload_offset = static_cast<uint16_t>(off + header_len);
      ParseTcpOptions(data, off + 20, off + std::min(header_len, avail), out);
      if (header_len > len) return DecodeStatus::kBadL4Header;  // payload_len stays 0
      out->payload_len = len - header_len;
      return DecodeStatus::kOk;
    }
    case kIpProtoUdp: {
      if (avail < 8) return DecodeStatus::kTruncated;
      out->src_port = Load16(l4);
      out->dst_port = Load16(l4 + 2);
      out->payload_offset = static_cast<uint16_t>(off + 8);
      // The smaller of the UDP and IP claims: either may be the one that lies.
      const uint32_t udp_len = std::min<uint32_t>(Load16(l4 + 4), len);
      if (udp_len < 8) return DecodeStatus::kBadL4Header;
      out->payload_len = udp_len - 8;
      return DecodeStatus::kOk;
    }
    case kIpProtoIcmp:
    case kIpProtoIcmpv6:
      // Type and code stand in for ports; the payload is everything after type, code and
      // checksum (for echo, identifier and sequence number count as payload).
      if (avail < 4) return DecodeStatus::kTruncated;
      out->src_port = l4[0];
      out->dst_port = l4[1];
      out->payload_offset = static_cast<uint16_t>(off + 4);
      if (len < 4) return DecodeStatus::kBadL4Header;
      out->payload_len = len - 4;
      return DecodeStatus::kOk;
    default:
      out->payload_offset = static_cast<uint16_t>(off);
      out->payload_len = len;
      return DecodeStatus::kOk;
  }
}

}  // namespace

std::string_view DecodeStatusName(DecodeStatus s) {
  switch (s) {
    case DecodeStatus::kOk:
      return "ok";
    case DecodeStatus::kTruncated:
      return "truncated";
    case DecodeStatus::kUnsupportedLinkType:
      return "unsupported_link_type";
    case DecodeStatus::kNotIp:
      return "not_ip";
    case DecodeStatus::kBadIpHeader:
      return "bad_ip_header";
    case DecodeStatus::kFragment:
      return "fragment";
    case DecodeStatus::kBadL4Header:
      return "bad_l4_header";
    case DecodeStatus::kCount:
      break;
  }
  return "unknown";
}

bool IsSupportedLinkType(int link_type) {
  switch (link_type) {
    case kLinkNull:
    case kLinkEthernet:
    case kLinkRaw:
    case kLinkRawAlt:
    case kLinkRawFile:
    case kLinkLoop:
    case kLinkLinuxSll:
    case kLinkIpv4:
    case kLinkIpv6:
    case kLinkLinuxSll2:
      return true;
    default:
      return false;
  }
}

namespace {
// Every field at its default, copied into each packet's result: `*out = DecodedPacket{}` built
// a temporary on the stack (a rep stos, then a byte store that the copy's 16-byte loads could
// not forward from), ~16 % of Decode's samples in a replay.
constexpr DecodedPacket kDefaultPacket{};
}  // namespace

DecodeStatus Decode(int link_type, const uint8_t* data, uint32_t caplen, DecodedPacket* out) {
  *out = kDefaultPacket;
  uint32_t l3_off = 0;
  L3Kind kind = L3Kind::kByVersion;
  DecodeStatus status = DecodeLink(link_type, data, caplen, &l3_off, &kind, out);
  if (status != DecodeStatus::kOk) return status;
  out->l3_offset = static_cast<uint16_t>(l3_off);

  if (kind == L3Kind::kByVersion) {
    if (caplen - l3_off < 1) return DecodeStatus::kTruncated;
    const int version = data[l3_off] >> 4;
    if (version == 4) {
      kind = L3Kind::kIpv4;
    } else if (version == 6) {
      kind = L3Kind::kIpv6;
    } else {
      return DecodeStatus::kBadIpHeader;
    }
  }
  uint32_t l4_off = 0, l4_len = 0;
  status = kind == L3Kind::kIpv4 ? DecodeIpv4(data, caplen, l3_off, &l4_off, &l4_len, out)
                                 : DecodeIpv6(data, caplen, l3_off, &l4_off, &l4_len, out);
  if (status != DecodeStatus::kOk) return status;
  return DecodeL4(data, caplen, l4_off, l4_len, out);
}

}  // namespace tw::capture
