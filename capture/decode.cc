#include "capture/decode.h"

#include <algorithm>
#include <cstring>

#include "capture/ip_proto.h"
#include "util/hash.h"

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
constexpr uint16_t kEtherPppoe = 0x8864;    // PPPoE session stage
constexpr uint16_t kEtherMpls = 0x8847;
constexpr uint16_t kEtherMplsMulti = 0x8848;
constexpr uint16_t kEtherPpp = 0x880b;                // as GRE and Ethernet carry PPP
constexpr uint16_t kEtherTransparentBridge = 0x6558;  // GRE, Geneve: an Ethernet frame follows
constexpr uint16_t kEtherErspan2 = 0x88be;            // ERSPAN type I and II
constexpr uint16_t kEtherErspan3 = 0x22eb;            // ERSPAN type III

constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6Ah = 51;
constexpr uint8_t kIpv6NoNext = 59;
constexpr uint8_t kIpv6DestOpts = 60;
constexpr uint8_t kIpProtoIpInIp = 4;
constexpr uint8_t kIpProtoIpv6InIp = 41;
constexpr uint8_t kIpProtoGre = 47;

constexpr uint16_t kPortVxlan = 4789;
constexpr uint16_t kPortGeneve = 6081;
constexpr uint16_t kPortGtpu = 2152;
constexpr uint16_t kPortTeredo = 3544;

// An IP header further in than this is no real packet (a tunnel is refused as
// kBadTunnel). With it, at most 16 IPv6 extension headers of <= 2048 bytes each and a TCP
// header of <= 60, every offset fits in uint16_t.
constexpr uint32_t kMaxL3Offset = 16384;
// At most this many IPv6 extension headers are walked; more is treated as a bad header.
constexpr int kMaxIpv6ExtHeaders = 16;
constexpr int kMaxVlanDepth = 255;
// An MPLS stack deeper than this, or more GTP-U extension headers, is a bad tunnel header.
constexpr int kMaxMplsLabels = 16;
constexpr int kMaxGtpExtensions = 16;

// What the next header is, between layers: an ethertype, or one of these, which no ethertype
// field can name (so a header never leads to itself).
constexpr uint32_t kNextIpByVersion = 0x10000;  // IPv4 or IPv6, by the version nibble
constexpr uint32_t kNextEthernet = 0x10001;     // an Ethernet frame (after a tunnel)
constexpr uint32_t kNextPpp = 0x10002;          // a PPP frame, ff 03 optional

// What the link layer says follows it.
enum class L3Kind { kByVersion, kIpv4, kIpv6 };

// Where decoding stands: the offset of the next header and what it is.
struct Cursor {
  uint32_t off = 0;
  uint32_t next = kNextIpByVersion;
};

// Records one more encapsulation; kTooManyTunnels past the bound.
DecodeStatus EnterTunnel(Tunnel t, DecodedPacket* out) {
  return out->tunnels.Push(t) ? DecodeStatus::kOk : DecodeStatus::kTooManyTunnels;
}

// A PPP header at c->off: the optional HDLC-like address and control (ff 03), then the
// protocol (one byte when compressed, RFC 1661 6.5). Sets c->next to what it carries.
DecodeStatus ReadPpp(const uint8_t* data, uint32_t caplen, Cursor* c) {
  if (caplen - c->off < 1) return DecodeStatus::kTruncated;
  if (data[c->off] == 0xff) {  // no protocol starts with it (the first byte of two is even)
    if (caplen - c->off < 3) return DecodeStatus::kTruncated;
    if (data[c->off + 1] != 0x03) return DecodeStatus::kBadLinkHeader;
    c->off += 2;
  }
  uint16_t proto = data[c->off];
  if ((proto & 1) != 0) {
    c->off += 1;
  } else {
    if (caplen - c->off < 2) return DecodeStatus::kTruncated;
    proto = Load16(data + c->off);
    c->off += 2;
  }
  switch (proto) {
    case 0x0021:
      c->next = kEtherIpv4;
      return DecodeStatus::kOk;
    case 0x0057:
      c->next = kEtherIpv6;
      return DecodeStatus::kOk;
    case 0x0281:
    case 0x0283:
      c->next = kEtherMpls;
      return DecodeStatus::kOk;
    default:  // LCP, IPCP, PAP, CHAP, ...
      return DecodeStatus::kNotIp;
  }
}

// A PPPoE session header (RFC 2516: version and type 1, code 0, session, length); PPP follows.
DecodeStatus ReadPppoe(const uint8_t* data, uint32_t caplen, Cursor* c, DecodedPacket* out) {
  if (DecodeStatus s = EnterTunnel(Tunnel::kPppoe, out); s != DecodeStatus::kOk) return s;
  if (caplen - c->off < 6) return DecodeStatus::kTruncated;
  if (data[c->off] != 0x11 || data[c->off + 1] != 0) return DecodeStatus::kBadTunnel;
  c->off += 6;
  c->next = kNextPpp;
  return DecodeStatus::kOk;
}

// An MPLS label stack to its bottom; what follows is guessed by its version nibble (an
// Ethernet pseudowire's control word starts with 0: not IP).
DecodeStatus ReadMpls(const uint8_t* data, uint32_t caplen, Cursor* c, DecodedPacket* out) {
  if (DecodeStatus s = EnterTunnel(Tunnel::kMpls, out); s != DecodeStatus::kOk) return s;
  for (int i = 0;; ++i) {
    if (i == kMaxMplsLabels) return DecodeStatus::kBadTunnel;
    if (caplen - c->off < 4) return DecodeStatus::kTruncated;
    const bool bottom = (data[c->off + 2] & 1) != 0;
    c->off += 4;
    if (bottom) break;
  }
  if (caplen - c->off < 1) return DecodeStatus::kTruncated;
  const int version = data[c->off] >> 4;
  if (version != 4 && version != 6) return DecodeStatus::kNotIp;
  c->next = kNextIpByVersion;
  return DecodeStatus::kOk;
}

// One step from c->next towards an IP header: a VLAN tag, an Ethernet, PPP, PPPoE or MPLS
// header. kOk with c->next advanced.
DecodeStatus Step(const uint8_t* data, uint32_t caplen, Cursor* c, DecodedPacket* out) {
  switch (c->next) {
    case kEtherVlan:
    case kEtherQinQ:
    case kEtherQinQOld:
      if (out->vlan_depth == kMaxVlanDepth) return DecodeStatus::kNotIp;
      if (caplen - c->off < 4) return DecodeStatus::kTruncated;
      c->next = Load16(data + c->off + 2);
      c->off += 4;
      ++out->vlan_depth;
      return DecodeStatus::kOk;
    case kNextEthernet:
      if (caplen - c->off < 14) return DecodeStatus::kTruncated;
      c->next = Load16(data + c->off + 12);
      c->off += 14;
      return DecodeStatus::kOk;
    case kNextPpp:
    case kEtherPpp:
      return ReadPpp(data, caplen, c);
    case kEtherPppoe:
      return ReadPppoe(data, caplen, c, out);
    case kEtherMpls:
    case kEtherMplsMulti:
      return ReadMpls(data, caplen, c, out);
    default:
      return DecodeStatus::kNotIp;
  }
}

// Walks from c->next to an IP header. On kOk, c->off is its first byte and *kind its type.
DecodeStatus WalkToIp(const uint8_t* data, uint32_t caplen, Cursor* c, L3Kind* kind,
                      DecodedPacket* out) {
  for (;;) {
    if (c->next == kEtherIpv4) {
      *kind = L3Kind::kIpv4;
      return DecodeStatus::kOk;
    }
    if (c->next == kEtherIpv6) {
      *kind = L3Kind::kIpv6;
      return DecodeStatus::kOk;
    }
    if (c->next == kNextIpByVersion) {
      *kind = L3Kind::kByVersion;
      return DecodeStatus::kOk;
    }
    // Each step consumes bytes or adds a VLAN tag or a tunnel, all bounded: the loop ends.
    if (DecodeStatus s = Step(data, caplen, c, out); s != DecodeStatus::kOk) return s;
  }
}

// Address families seen in DLT_NULL / DLT_LOOP headers (BSD AF_INET and the three AF_INET6
// values of NetBSD/OpenBSD, FreeBSD and macOS).
bool AddressFamilyKind(uint32_t family, uint32_t* next) {
  switch (family) {
    case 2:
      *next = kEtherIpv4;
      return true;
    case 24:
    case 28:
    case 30:
      *next = kEtherIpv6;
      return true;
    default:
      return false;
  }
}
// An IEEE 802.11 frame at c->off: data frames only (type 2, not null-function subtypes, not
// protected), the header length by QoS, HT control and four addresses (ToDS and FromDS),
// then LLC/SNAP to an ethertype. A-MSDUs are not read.
DecodeStatus ReadIeee80211(const uint8_t* data, uint32_t caplen, Cursor* c) {
  if (caplen - c->off < 2) return DecodeStatus::kTruncated;
  const uint8_t fc0 = data[c->off], fc1 = data[c->off + 1];
  if ((fc0 & 0x03) != 0) return DecodeStatus::kBadLinkHeader;  // protocol version 0 only
  const uint8_t subtype = fc0 >> 4;
  if ((fc0 & 0x0c) != 0x08 || (subtype & 0x04) != 0 || (fc1 & 0x40) != 0) {
    return DecodeStatus::kNotIp;  // management, control, no data, or encrypted
  }
  const uint32_t qos_off = (fc1 & 0x03) == 0x03 ? 30 : 24;  // after the fourth address
  uint32_t header_len = qos_off;
  if ((subtype & 0x08) != 0) header_len += (fc1 & 0x80) != 0 ? 6 : 2;  // QoS (+ HT) control
  if (caplen - c->off < header_len + 8) return DecodeStatus::kTruncated;
  if ((subtype & 0x08) != 0 && (data[c->off + qos_off] & 0x80) != 0) {
    return DecodeStatus::kNotIp;  // an A-MSDU
  }
  const uint8_t* llc = data + c->off + header_len;
  if (llc[0] != 0xaa || llc[1] != 0xaa || llc[2] != 0x03 || llc[3] != 0 || llc[4] != 0 ||
      (llc[5] != 0 && llc[5] != 0xf8)) {
    return DecodeStatus::kNotIp;
  }
  c->next = Load16(llc + 6);
  c->off += header_len + 8;
  return DecodeStatus::kOk;
}

// A radiotap header (version 0, its little-endian length), then 802.11.
DecodeStatus ReadRadiotap(const uint8_t* data, uint32_t caplen, Cursor* c) {
  if (caplen < 8) return DecodeStatus::kTruncated;
  const uint32_t len = data[2] | (uint32_t{data[3]} << 8);
  if (data[0] != 0 || len < 8) return DecodeStatus::kBadLinkHeader;
  if (caplen < len) return DecodeStatus::kTruncated;
  c->off = len;
  return ReadIeee80211(data, caplen, c);
}

// NFLOG: address family, version, resource id, then TLVs (length including its 4-byte header,
// padded to 4) until the payload (type 9). The TLVs are in the capturing host's byte order:
// the order that reads the first length as the smaller is taken (that TLV is short, the
// packet header's 8 bytes, so read in the wrong order it is 256 times too large).
DecodeStatus ReadNflog(const uint8_t* data, uint32_t caplen, Cursor* c) {
  if (caplen < 8) return DecodeStatus::kTruncated;
  c->next = data[0] == 2 ? kEtherIpv4 : data[0] == 10 ? kEtherIpv6 : kNextIpByVersion;
  const bool le = (data[4] | (uint32_t{data[5]} << 8)) <= Load16(data + 4);
  const auto host16 = [&](const uint8_t* p) {
    return le ? uint32_t(p[0] | (p[1] << 8)) : uint32_t(Load16(p));
  };
  uint32_t off = 4;
  for (;;) {
    if (caplen - off < 4) return DecodeStatus::kTruncated;
    const uint32_t len = host16(data + off), type = host16(data + off + 2);
    if (len < 4) return DecodeStatus::kBadLinkHeader;
    if (type == 9) {
      c->off = off + 4;
      return DecodeStatus::kOk;
    }
    const uint32_t padded = (len + 3) & ~3u;
    if (caplen - off < padded) return DecodeStatus::kTruncated;
    off += padded;
  }
}

// The link layers that lead to an ethertype-like next header right away. On kOk, *c is set.
DecodeStatus DecodeSimpleLink(int link_type, const uint8_t* data, uint32_t caplen, Cursor* c) {
  switch (link_type) {
    case kLinkLinuxSll:
      if (caplen < 16) return DecodeStatus::kTruncated;
      c->off = 16;
      c->next = Load16(data + 14);
      return DecodeStatus::kOk;
    case kLinkLinuxSll2:
      if (caplen < 20) return DecodeStatus::kTruncated;
      c->off = 20;
      c->next = Load16(data);
      return DecodeStatus::kOk;
    case kLinkPpp:
      c->next = kNextPpp;
      return DecodeStatus::kOk;
    case kLinkPppHdlc:
    case kLinkCiscoHdlc:
      if (caplen < 1) return DecodeStatus::kTruncated;
      if (data[0] != 0x0f && data[0] != 0x8f) {  // not Cisco HDLC's address: PPP
        c->next = kNextPpp;
        return DecodeStatus::kOk;
      }
      if (caplen < 4) return DecodeStatus::kTruncated;
      c->off = 4;
      c->next = Load16(data + 2);
      return DecodeStatus::kOk;
    default:
      return DecodeStatus::kUnsupportedLinkType;
  }
}

// Decodes the link layer. On kOk, *c holds the offset and kind of what follows it.
DecodeStatus DecodeLink(int link_type, const uint8_t* data, uint32_t caplen, Cursor* c) {
  if (link_type == kLinkEthernet) {  // the common case, before the switch's compare tree
    if (caplen < 14) return DecodeStatus::kTruncated;
    c->off = 14;
    c->next = Load16(data + 12);
    return DecodeStatus::kOk;
  }
  switch (link_type) {
    case kLinkRaw:
    case kLinkRawAlt:
    case kLinkRawFile:
      return DecodeStatus::kOk;
    case kLinkIpv4:
      c->next = kEtherIpv4;
      return DecodeStatus::kOk;
    case kLinkIpv6:
      c->next = kEtherIpv6;
      return DecodeStatus::kOk;
    case kLinkNull:
      // Host byte order of the capturing machine, which may not be ours: try both.
      if (caplen < 4) return DecodeStatus::kTruncated;
      c->off = 4;
      return AddressFamilyKind(Load32(data), &c->next) ||
                     AddressFamilyKind(Load32Le(data), &c->next)
                 ? DecodeStatus::kOk
                 : DecodeStatus::kNotIp;
    case kLinkLoop:
      if (caplen < 4) return DecodeStatus::kTruncated;
      c->off = 4;
      return AddressFamilyKind(Load32(data), &c->next) ? DecodeStatus::kOk : DecodeStatus::kNotIp;
    case kLinkIeee80211:
      return ReadIeee80211(data, caplen, c);
    case kLinkRadiotap:
      return ReadRadiotap(data, caplen, c);
    case kLinkNflog:
      return ReadNflog(data, caplen, c);
    default:
      return DecodeSimpleLink(link_type, data, caplen, c);
  }
}

// Sets the key of the fragmented header just read (its addresses in *out; `proto` the protocol
// its fragments carry), unless an outer header was fragmented too.
void SetFragKey(uint8_t proto, uint32_t id, DecodedPacket* out) {
  if (out->frag_key != 0) return;
  uint64_t w[5];
  std::memcpy(w, out->src.bytes.data(), 16);
  std::memcpy(w + 2, out->dst.bytes.data(), 16);
  w[4] = (uint64_t{proto} << 32) | id;
  out->frag_key = static_cast<uint32_t>(util::HashWords(w)) | 1;  // never 0
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
  if ((frag & 0x3fff) != 0) {
    SetFragKey(ip[9], Load16(ip + 4), out);
    if ((frag & 0x1fff) != 0) {
      out->l4_offset = out->payload_offset = static_cast<uint16_t>(off + header_len);
      out->payload_len = total_len - header_len;
      return DecodeStatus::kFragment;
    }
    out->fragment = true;
  }
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
        SetFragKey(ext[0], Load32(ext + 4), out);
        out->l4_offset = out->payload_offset = static_cast<uint16_t>(cur + ext_len);
        out->payload_len = remaining - ext_len;
        return DecodeStatus::kFragment;
      }
      // An atomic fragment (offset 0, no more fragments) is a whole datagram.
      if ((frag & 1) != 0) {
        out->fragment = true;
        SetFragKey(ext[0], Load32(ext + 4), out);
      }
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

// ERSPAN after GRE (type I: no header, II: 8 bytes, III: 12 and an optional 8-byte platform
// subheader); a mirrored Ethernet frame follows.
DecodeStatus ReadErspan(const uint8_t* data, uint32_t caplen, uint16_t proto, bool gre_seq,
                        Cursor* c) {
  if (proto == kEtherErspan2 && gre_seq) {
    if (caplen - c->off < 8) return DecodeStatus::kTruncated;
    if ((data[c->off] >> 4) != 1) return DecodeStatus::kBadTunnel;
    c->off += 8;
  } else if (proto == kEtherErspan3) {
    if (caplen - c->off < 12) return DecodeStatus::kTruncated;
    if ((data[c->off] >> 4) != 2) return DecodeStatus::kBadTunnel;
    const uint32_t len = (data[c->off + 11] & 1) != 0 ? 20 : 12;
    if (caplen - c->off < len) return DecodeStatus::kTruncated;
    c->off += len;
  }
  c->next = kNextEthernet;
  return DecodeStatus::kOk;
}

// A GRE header at c->off (RFC 2784/2890: checksum, key and sequence number when flagged; the
// routing of RFC 1701 is refused), or PPTP's enhanced GRE (RFC 2637: version 1, key, optional
// sequence and acknowledgement numbers, PPP).
DecodeStatus ReadGre(const uint8_t* data, uint32_t caplen, Cursor* c, DecodedPacket* out) {
  if (caplen - c->off < 4) return DecodeStatus::kTruncated;
  const uint16_t flags = Load16(data + c->off), proto = Load16(data + c->off + 2);
  const bool checksum = (flags & 0x8000) != 0, key = (flags & 0x2000) != 0;
  const bool seq = (flags & 0x1000) != 0;
  uint32_t len = 4 + (checksum ? 4 : 0) + (key ? 4 : 0) + (seq ? 4 : 0);
  Tunnel kind = Tunnel::kGre;
  if ((flags & 0x4000) != 0) return DecodeStatus::kBadTunnel;
  if ((flags & 7) == 1) {
    if (proto != kEtherPpp || !key || checksum) return DecodeStatus::kBadTunnel;
    if ((flags & 0x0080) != 0) len += 4;  // acknowledgement number
    kind = Tunnel::kPptp;
  } else if ((flags & 7) != 0) {
    return DecodeStatus::kBadTunnel;
  }
  if (caplen - c->off < len) return DecodeStatus::kTruncated;
  // A PPTP acknowledgement alone carries no payload.
  if (kind == Tunnel::kPptp && Load16(data + c->off + 4) == 0) return DecodeStatus::kNotIp;
  c->off += len;
  if (proto == kEtherErspan2 || proto == kEtherErspan3) {
    if (DecodeStatus s = EnterTunnel(Tunnel::kErspan, out); s != DecodeStatus::kOk) return s;
    return ReadErspan(data, caplen, proto, seq, c);
  }
  if (DecodeStatus s = EnterTunnel(kind, out); s != DecodeStatus::kOk) return s;
  c->next = proto == kEtherTransparentBridge ? kNextEthernet : proto;
  return DecodeStatus::kOk;
}

// GTP-U (3GPP TS 29.281) at c->off: a G-PDU of version 1, its optional sequence number, N-PDU
// number and extension headers skipped; an IP packet follows. false when it is another
// message (echo, error indication, end marker).
DecodeStatus ReadGtpu(const uint8_t* data, uint32_t caplen, Cursor* c, bool* is_tunnel) {
  if (caplen - c->off < 8) return DecodeStatus::kTruncated;
  const uint8_t flags = data[c->off];
  *is_tunnel = (flags >> 5) == 1 && (flags & 0x10) != 0 && data[c->off + 1] == 0xff;
  if (!*is_tunnel) return DecodeStatus::kOk;
  c->off += 8;
  c->next = kNextIpByVersion;
  if ((flags & 0x07) == 0) return DecodeStatus::kOk;
  if (caplen - c->off < 4) return DecodeStatus::kTruncated;
  uint8_t ext = (flags & 0x04) != 0 ? data[c->off + 3] : 0;
  c->off += 4;
  for (int i = 0; ext != 0; ++i) {
    if (i == kMaxGtpExtensions) return DecodeStatus::kBadTunnel;
    if (caplen - c->off < 1) return DecodeStatus::kTruncated;
    const uint32_t len = data[c->off] * 4u;
    if (len == 0) return DecodeStatus::kBadTunnel;
    if (caplen - c->off < len) return DecodeStatus::kTruncated;
    ext = data[c->off + len - 1];
    c->off += len;
  }
  return DecodeStatus::kOk;
}

// Teredo (RFC 4380) at c->off: an authentication and an origin indication, each optional, then
// IPv6. *is_tunnel false when no IPv6 header follows.
DecodeStatus ReadTeredo(const uint8_t* data, uint32_t caplen, Cursor* c, bool* is_tunnel) {
  *is_tunnel = false;
  if (caplen - c->off < 2) return DecodeStatus::kTruncated;
  if (Load16(data + c->off) == 1) {  // authentication: lengths, id, value, nonce, confirmation
    if (caplen - c->off < 4) return DecodeStatus::kTruncated;
    c->off += 13u + data[c->off + 2] + data[c->off + 3];
    if (c->off > caplen || caplen - c->off < 2) return DecodeStatus::kTruncated;
  }
  if (Load16(data + c->off) == 0) {  // origin: port and address
    if (caplen - c->off < 9) return DecodeStatus::kTruncated;
    c->off += 8;
  }
  // IPv6 never starts with 0x0000 or 0x0001, so an indication is no IPv6 header.
  *is_tunnel = (data[c->off] >> 4) == 6;
  c->next = kEtherIpv6;
  return DecodeStatus::kOk;
}

// VXLAN (RFC 7348: the I flag) or Geneve (RFC 8926: version 0, options skipped) at c->off.
DecodeStatus ReadVxlanOrGeneve(const uint8_t* data, uint32_t caplen, bool geneve, Cursor* c,
                               bool* is_tunnel) {
  if (caplen - c->off < 8) return DecodeStatus::kTruncated;
  const uint8_t* h = data + c->off;
  if (!geneve) {
    *is_tunnel = (h[0] & 0x08) != 0;
    c->off += 8;
    c->next = kNextEthernet;
    return DecodeStatus::kOk;
  }
  *is_tunnel = (h[0] >> 6) == 0;
  const uint32_t len = 8 + (h[0] & 0x3fu) * 4;
  if (caplen - c->off < len) return DecodeStatus::kTruncated;
  c->off += len;
  c->next = Load16(h + 2) == kEtherTransparentBridge ? kNextEthernet : Load16(h + 2);
  return DecodeStatus::kOk;
}

// The tunnels a UDP packet (decoded into *out) may carry, by port. On kOk, *tunnel is the
// tunnel entered (kNone: an ordinary UDP packet) and *c what it carries.
DecodeStatus ReadUdpTunnel(const uint8_t* data, uint32_t caplen, Cursor* c, Tunnel* tunnel,
                           const DecodedPacket& out) {
  const uint16_t sp = out.src_port, dp = out.dst_port;
  *tunnel = Tunnel::kNone;
  if (out.payload_len < 8) return DecodeStatus::kOk;  // too short for any of them
  bool is_tunnel = false;
  DecodeStatus s = DecodeStatus::kOk;
  c->off = out.payload_offset;
  if (dp == kPortVxlan || dp == kPortGeneve) {
    s = ReadVxlanOrGeneve(data, caplen, dp == kPortGeneve, c, &is_tunnel);
    if (is_tunnel) *tunnel = dp == kPortGeneve ? Tunnel::kGeneve : Tunnel::kVxlan;
  } else if (sp == kPortGtpu || dp == kPortGtpu) {
    s = ReadGtpu(data, caplen, c, &is_tunnel);
    if (is_tunnel) *tunnel = Tunnel::kGtpu;
  } else if (sp == kPortTeredo || dp == kPortTeredo) {
    s = ReadTeredo(data, caplen, c, &is_tunnel);
    if (is_tunnel) *tunnel = Tunnel::kTeredo;
  }
  return s;
}

// Every field at its default, copied into each packet's result: `*out = DecodedPacket{}` built
// a temporary on the stack (a rep stos, then a byte store that the copy's 16-byte loads could
// not forward from), ~16 % of Decode's samples in a replay.
constexpr DecodedPacket kDefaultPacket{};

// Copies kDefaultPacket to *out as five 16-byte moves. Seeing the constant, GCC 12 may clear
// the packet with rep stos instead and store the one non-zero byte after (30 % of Decode's
// time on an Ethernet/IPv4/TCP packet); the empty asm hides the constant's value from it.
inline void ResetPacket(DecodedPacket* out) {
  const DecodedPacket* from = &kDefaultPacket;
  asm("" : "+r"(from));
  *out = *from;
}

// IP protocols 4, 41 and 47, in one test of a bit.
inline bool IsIpTunnel(uint8_t proto) {
  constexpr uint64_t kMask =
      uint64_t{1} << kIpProtoIpInIp | uint64_t{1} << kIpProtoIpv6InIp | uint64_t{1} << kIpProtoGre;
  return proto < 64 && ((kMask >> proto) & 1) != 0;
}

// Whether a UDP packet's ports may name a tunnel: the cheap test every UDP packet takes (the
// tunnels' ports all lie in [2152, 6081], the common ones of UDP traffic do not).
inline bool MayBeUdpTunnel(uint16_t sp, uint16_t dp) {
  constexpr unsigned kLow = kPortGtpu, kSpan = kPortGeneve - kPortGtpu;
  static_assert(kPortVxlan - kLow <= kSpan && kPortTeredo - kLow <= kSpan);
  return unsigned(dp) - kLow <= kSpan || unsigned(sp) - kLow <= kSpan;
}

// The encapsulation an IP packet's protocol (4, 41 or 47) announces. *c is set to what the
// tunnel carries, *tunnel to the tunnel.
DecodeStatus ReadIpTunnel(const uint8_t* data, uint32_t caplen, uint32_t l4_off, Cursor* c,
                          Tunnel* tunnel, DecodedPacket* out) {
  const bool outer4 = out->ip_version == 4;
  *tunnel = Tunnel::kNone;
  c->off = l4_off;
  switch (out->ip_proto) {
    case kIpProtoIpInIp:
      *tunnel = outer4 ? Tunnel::k4in4 : Tunnel::k4in6;
      c->next = kEtherIpv4;
      return EnterTunnel(*tunnel, out);
    case kIpProtoIpv6InIp:
      *tunnel = outer4 ? Tunnel::k6in4 : Tunnel::k6in6;
      c->next = kEtherIpv6;
      return EnterTunnel(*tunnel, out);
    default:  // GRE
      *tunnel = Tunnel::kGre;
      return ReadGre(data, caplen, c, out);
  }
}

// Decodes the IP header at c->off (of kind `kind`) and what follows it, up to the L4 header.
// On kOk, *l4_off and *l4_len locate the L4 header as the IP header claims it.
DecodeStatus DecodeIp(const uint8_t* data, uint32_t caplen, const Cursor& c, L3Kind kind,
                      uint32_t* l4_off, uint32_t* l4_len, DecodedPacket* out) {
  if (c.off > kMaxL3Offset) return DecodeStatus::kBadTunnel;
  out->l3_offset = static_cast<uint16_t>(c.off);
  if (kind == L3Kind::kByVersion) {
    if (caplen - c.off < 1) return DecodeStatus::kTruncated;
    const int version = data[c.off] >> 4;
    if (version == 4) {
      kind = L3Kind::kIpv4;
    } else if (version == 6) {
      kind = L3Kind::kIpv6;
    } else {
      return DecodeStatus::kBadIpHeader;
    }
  }
  return kind == L3Kind::kIpv4 ? DecodeIpv4(data, caplen, c.off, l4_off, l4_len, out)
                               : DecodeIpv6(data, caplen, c.off, l4_off, l4_len, out);
}

}  // namespace

DecodeStatus Decode(int link_type, const uint8_t* data, uint32_t caplen, DecodedPacket* out) {
  ResetPacket(out);
  Cursor c;
  DecodeStatus status = DecodeLink(link_type, data, caplen, &c);
  // Each turn enters one more tunnel (or returns), at most TunnelPath::kMaxTunnels + 1 turns.
  for (;;) {
    if (status != DecodeStatus::kOk) return status;
    L3Kind kind = L3Kind::kByVersion;
    status = WalkToIp(data, caplen, &c, &kind, out);
    if (status != DecodeStatus::kOk) return status;
    uint32_t l4_off = 0, l4_len = 0;
    status = DecodeIp(data, caplen, c, kind, &l4_off, &l4_len, out);
    if (status != DecodeStatus::kOk) return status;
    const uint8_t proto = out->ip_proto;
    Tunnel tunnel = Tunnel::kNone;
    if (IsIpTunnel(proto)) {
      status = ReadIpTunnel(data, caplen, l4_off, &c, &tunnel, out);
      continue;
    }
    status = DecodeL4(data, caplen, l4_off, l4_len, out);
    if (status != DecodeStatus::kOk || proto != kIpProtoUdp ||
        !MayBeUdpTunnel(out->src_port, out->dst_port)) {
      return status;
    }
    status = ReadUdpTunnel(data, caplen, &c, &tunnel, *out);
    if (tunnel == Tunnel::kNone) return status;
    if (status == DecodeStatus::kOk) status = EnterTunnel(tunnel, out);
    out->src_port = out->dst_port = 0;
  }
}

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
    case DecodeStatus::kBadLinkHeader:
      return "bad_link_header";
    case DecodeStatus::kBadTunnel:
      return "bad_tunnel_header";
    case DecodeStatus::kTooManyTunnels:
      return "too_many_tunnels";
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
    case kLinkPpp:
    case kLinkPppHdlc:
    case kLinkCiscoHdlc:
    case kLinkIeee80211:
    case kLinkRadiotap:
    case kLinkNflog:
      return true;
    default:
      return false;
  }
}

}  // namespace tw::capture
