#ifndef THROTTLEWATCH_CAPTURE_DECODE_H_
#define THROTTLEWATCH_CAPTURE_DECODE_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "capture/address.h"
#include "capture/tunnel.h"

namespace tw::capture {

// Link-layer header types, numbered as libpcap's DLT_* values returned by pcap_datalink()
// (plus the LINKTYPE_* file values that differ), so this header needs no <pcap.h>.
enum LinkType : int {
  kLinkNull = 0,         // BSD loopback: 4-byte host-order address family
  kLinkEthernet = 1,     // Ethernet II, with any number of 802.1Q / 802.1ad tags
  kLinkPpp = 9,          // PPP (RFC 1661), with or without the HDLC-like ff 03 (RFC 1662)
  kLinkRaw = 12,         // DLT_RAW on Linux: bare IPv4 or IPv6
  kLinkRawAlt = 14,      // DLT_RAW on OpenBSD
  kLinkPppHdlc = 50,     // PPP in HDLC-like framing (or Cisco HDLC, as tcpdump reads it)
  kLinkRawFile = 101,    // LINKTYPE_RAW as stored in files
  kLinkCiscoHdlc = 104,  // Cisco HDLC: address, control, ethertype
  kLinkIeee80211 = 105,  // IEEE 802.11 frames: data frames with LLC/SNAP are read
  kLinkLoop = 108,       // OpenBSD loopback: 4-byte network-order address family
  kLinkLinuxSll = 113,   // Linux cooked capture v1 (-i any)
  kLinkRadiotap = 127,   // radiotap header, then IEEE 802.11 (monitor mode)
  kLinkIpv4 = 228,       // bare IPv4
  kLinkIpv6 = 229,       // bare IPv6
  kLinkNflog = 239,      // Linux NFLOG (iptables -j NFLOG): TLVs, the packet in type 9
  kLinkLinuxSll2 = 276,  // Linux cooked capture v2
};

// Why a packet was not decoded to layer 4. Counted per reason by the caller, never thrown.
enum class DecodeStatus : uint8_t {
  kOk = 0,
  kTruncated,            // capture ended inside a header we need
  kUnsupportedLinkType,  // link type not listed above
  kNotIp,                // ARP, LLDP, ... (not an error, just not ours)
  kBadIpHeader,          // version/IHL/length fields inconsistent
  kFragment,        // a non-first IP fragment: no layer-4 header (see FragmentTable for its flow)
  kBadL4Header,     // TCP data offset < 5, UDP length < 8, ...
  kBadLinkHeader,   // radiotap, 802.11, PPP or NFLOG header inconsistent
  kBadTunnel,       // a tunnel header inconsistent (GRE routing or version, GTP-U extensions)
  kTooManyTunnels,  // more than TunnelPath::kMaxTunnels encapsulations
  kCount,
};
std::string_view DecodeStatusName(DecodeStatus s);

// TCP flag bits as on the wire.
inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08,
                         kTcpAck = 0x10;

// Offsets and fields of one packet. Filled by Decode(); holds no pointers, so it stays valid
// after the packet bytes are gone. Lengths are those the headers claim (the wire), not caplen,
// except a zero IP length (TSO/GSO captures, jumbograms), which is taken from caplen.
// A tunnelled packet is described by its innermost IP header and what follows it; `tunnels`
// says through which encapsulations it came.
struct DecodedPacket {
  uint16_t l3_offset = 0;       // first byte of the IP header within the captured bytes
  uint16_t l4_offset = 0;       // first byte of the TCP/UDP/ICMP header
  uint16_t payload_offset = 0;  // first byte of the L4 payload (may be >= caplen when truncated)
  uint8_t ip_version = 0;       // 4 or 6
  uint8_t ip_proto = 0;         // 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, or other (IPv6: the header
                                // after the extension headers, e.g. 50 ESP or 59 none)
  uint8_t vlan_depth = 0;       // number of 802.1Q/ad tags walked (at every level)
  bool fragment = false;        // first fragment of a fragmented datagram (L4 header present)
  uint8_t ip_ttl = 0;           // TTL or hop limit
  // A non-first fragment that FragmentTable counted to its first fragment's flow: addresses,
  // protocol, ports and tunnels are the first fragment's, lengths its own; it has no L4
  // header (TCP fields zero) and its payload is the middle of a datagram.
  bool later_fragment = false;
  Address src, dst;
  // TCP/UDP ports; ICMP/ICMPv6: type and code (payload then starts after type, code and
  // checksum); else 0.
  uint16_t src_port = 0, dst_port = 0;
  uint32_t ip_len = 0;       // IP datagram length claimed by the header (IPv6: 40 + payload len)
  uint32_t payload_len = 0;  // L4 payload length claimed by the headers (a non-first fragment:
                             // its data after the fragmented header's headers)

  // TCP only (zero otherwise).
  uint32_t tcp_seq = 0, tcp_ack = 0;
  uint16_t tcp_window = 0;      // raw window field, unscaled
  uint8_t tcp_flags = 0;        // kTcp* bits
  uint8_t tcp_wscale = 0xff;    // window-scale option (SYN only, capped at 14); 0xff if absent
  bool tcp_has_ts = false;      // timestamp option present (and captured)
  uint8_t tcp_sack_blocks = 0;  // number of SACK blocks in the options
  TunnelPath tunnels;           // outermost first; empty when the packet came through none
  uint32_t tcp_ts_val = 0, tcp_ts_ecr = 0;

  // Nonzero for a fragment (first or not): a hash of the fragmented header's source,
  // destination, protocol and identification (IPv4 ID, IPv6 fragment identification), the
  // same for all fragments of one datagram. With nested fragmentation, the outermost.
  uint32_t frag_key = 0;
};
// Copied per packet (and batched per packet between threads): kept within 84 bytes.
static_assert(sizeof(DecodedPacket) == 84);

// Decodes one captured packet of link type `link_type` (a DLT value above). `data` is borrowed
// for the call only; `caplen` bytes are readable. Never reads outside [data, data + caplen),
// never allocates, never throws. On kOk every field is filled; on kFragment the addresses,
// protocol, offsets (l4_offset = payload_offset: the fragment's data), ip_len, payload_len,
// tunnels and frag_key of the fragment (FragmentTable::Resolve may still give it a flow); on
// other statuses `out` is partially filled and must not be used.
//
// Encapsulations followed to the innermost IP header, at most TunnelPath::kMaxTunnels deep:
// PPPoE session (ethertype 0x8864), MPLS (0x8847/0x8848; the label stack to its bottom, then
// IPv4 or IPv6 by the version nibble), GRE version 0 (IP protocol 47, with checksum, key and
// sequence number; carrying IPv4, IPv6, Ethernet (0x6558) or MPLS), PPTP's GRE version 1
// carrying PPP, ERSPAN type I/II (GRE 0x88be) and III (0x22eb), IPv4/IPv6 in IPv4/IPv6 (IP
// protocols 4 and 41), and over UDP by destination port VXLAN (4789) and Geneve (6081, options
// skipped), by either port GTP-U G-PDUs (2152, extension headers skipped) and Teredo (3544,
// origin and authentication indications skipped). A UDP packet on those ports whose payload is
// not that tunnel (a GTP-U echo, a Teredo packet without IPv6) is an ordinary UDP packet.
// Teredo between a client and a relay (no port 3544) is not recognised. VLAN tags may appear
// at any Ethernet level.
DecodeStatus Decode(int link_type, const uint8_t* data, uint32_t caplen, DecodedPacket* out);

// True when Decode() knows `link_type`.
bool IsSupportedLinkType(int link_type);

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_DECODE_H_
