#ifndef THROTTLEWATCH_CAPTURE_DECODE_H_
#define THROTTLEWATCH_CAPTURE_DECODE_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "capture/address.h"

namespace tw::capture {

// Link-layer header types, numbered as libpcap's DLT_* values returned by pcap_datalink()
// (plus the LINKTYPE_* file values that differ), so this header needs no <pcap.h>.
enum LinkType : int {
  kLinkNull = 0,         // BSD loopback: 4-byte host-order address family
  kLinkEthernet = 1,     // Ethernet II, with any number of 802.1Q / 802.1ad tags
  kLinkRaw = 12,         // DLT_RAW on Linux: bare IPv4 or IPv6
  kLinkRawAlt = 14,      // DLT_RAW on OpenBSD
  kLinkRawFile = 101,    // LINKTYPE_RAW as stored in files
  kLinkLoop = 108,       // OpenBSD loopback: 4-byte network-order address family
  kLinkLinuxSll = 113,   // Linux cooked capture v1 (-i any)
  kLinkIpv4 = 228,       // bare IPv4
  kLinkIpv6 = 229,       // bare IPv6
  kLinkLinuxSll2 = 276,  // Linux cooked capture v2
};

// Why a packet was not decoded to layer 4. Counted per reason by the caller, never thrown.
enum class DecodeStatus : uint8_t {
  kOk = 0,
  kTruncated,            // capture ended inside a header we need
  kUnsupportedLinkType,  // link type not listed above
  kNotIp,                // ARP, LLDP, ... (not an error, just not ours)
  kBadIpHeader,          // version/IHL/length fields inconsistent
  kFragment,     // a non-first IP fragment: no layer-4 header (fragments are not reassembled)
  kBadL4Header,  // TCP data offset < 5, UDP length < 8, ...
  kCount,
};
std::string_view DecodeStatusName(DecodeStatus s);

// TCP flag bits as on the wire.
inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08,
                         kTcpAck = 0x10;

// Offsets and fields of one packet. Filled by Decode(); holds no pointers, so it stays valid
// after the packet bytes are gone. Lengths are those the headers claim (the wire), not caplen,
// except a zero IP length (TSO/GSO captures, jumbograms), which is taken from caplen.
struct DecodedPacket {
  uint16_t l3_offset = 0;       // first byte of the IP header within the captured bytes
  uint16_t l4_offset = 0;       // first byte of the TCP/UDP/ICMP header
  uint16_t payload_offset = 0;  // first byte of the L4 payload (may be >= caplen when truncated)
  uint8_t ip_version = 0;       // 4 or 6
  uint8_t ip_proto = 0;         // 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, or other (IPv6: the header
                                // after the extension headers, e.g. 50 ESP or 59 none)
  uint8_t vlan_depth = 0;       // number of 802.1Q/ad tags walked
  bool fragment = false;        // first fragment of a fragmented datagram (L4 header present)
  uint8_t ip_ttl = 0;           // TTL or hop limit
  Address src, dst;
  // TCP/UDP ports; ICMP/ICMPv6: type and code (payload then starts after type, code and
  // checksum); else 0.
  uint16_t src_port = 0, dst_port = 0;
  uint32_t ip_len = 0;       // IP datagram length claimed by the header (IPv6: 40 + payload len)
  uint32_t payload_len = 0;  // L4 payload length claimed by the headers

  // TCP only (zero otherwise).
  uint32_t tcp_seq = 0, tcp_ack = 0;
  uint16_t tcp_window = 0;    // raw window field, unscaled
  uint8_t tcp_flags = 0;      // kTcp* bits
  uint8_t tcp_wscale = 0xff;  // window-scale option (SYN only, capped at 14); 0xff if absent
  bool tcp_has_ts = false;    // timestamp option present (and captured)
  uint32_t tcp_ts_val = 0, tcp_ts_ecr = 0;
  uint8_t tcp_sack_blocks = 0;  // number of SACK blocks in the options
};

// Decodes one captured packet of link type `link_type` (a DLT value above). `data` is borrowed
// for the call only; `caplen` bytes are readable. Never reads outside [data, data + caplen),
// never allocates, never throws. On kOk every field is filled; on other statuses `out` is
// partially filled and must not be used.
DecodeStatus Decode(int link_type, const uint8_t* data, uint32_t caplen, DecodedPacket* out);

// True when Decode() knows `link_type`.
bool IsSupportedLinkType(int link_type);

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_DECODE_H_
