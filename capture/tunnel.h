#ifndef THROTTLEWATCH_CAPTURE_TUNNEL_H_
#define THROTTLEWATCH_CAPTURE_TUNNEL_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace tw::capture {

// An encapsulation the decoder went through to reach a packet's innermost IP header. VLAN tags
// are not tunnels (DecodedPacket::vlan_depth counts them), nor are the link layers of the
// capture (PPP, Cisco HDLC, NFLOG, 802.11).
enum class Tunnel : uint8_t {
  kNone = 0,
  kPppoe,   // PPPoE session (ethertype 0x8864)
  kMpls,    // an MPLS label stack (ethertype 0x8847/0x8848, or PPP/GRE carrying MPLS)
  kGre,     // GRE (IP protocol 47), carrying IP, Ethernet or MPLS
  kPptp,    // PPTP's enhanced GRE (version 1) carrying PPP
  kErspan,  // ERSPAN type I, II or III (GRE 0x88be / 0x22eb): a mirrored Ethernet frame
  kVxlan,   // VXLAN (UDP port 4789)
  kGeneve,  // Geneve (UDP port 6081)
  kGtpu,    // GTP-U G-PDU (UDP port 2152)
  kTeredo,  // Teredo (UDP port 3544): IPv6 in UDP
  k4in4,    // IP protocol 4 in IPv4
  k6in4,    // IP protocol 41 in IPv4
  k4in6,    // IP protocol 4 in IPv6
  k6in6,    // IP protocol 41 in IPv6
};

// "pppoe", "mpls", "gre", "pptp", "erspan", "vxlan", "geneve", "gtpu", "teredo", "4in4",
// "6in4", "4in6", "6in6"; "" for kNone.
std::string_view TunnelName(Tunnel t);

// The tunnels of one packet, outermost first, at most kMaxTunnels of them. Two bytes (four
// bits a layer, the outermost in the low bits), trivially copyable: kept per packet and per
// flow.
struct TunnelPath {
  static constexpr int kMaxTunnels = 4;
  uint16_t bits = 0;

  bool empty() const { return bits == 0; }
  // The i-th layer from the outside; kNone at and past depth().
  Tunnel at(int i) const { return static_cast<Tunnel>((bits >> (4 * i)) & 0xf); }
  int depth() const {
    int n = 0;
    while (n < kMaxTunnels && at(n) != Tunnel::kNone) ++n;
    return n;
  }
  // Appends `t`; false (and nothing changed) when the path already holds kMaxTunnels.
  bool Push(Tunnel t) {
    const int n = depth();
    if (n == kMaxTunnels) return false;
    bits = static_cast<uint16_t>(bits | static_cast<unsigned>(t) << (4 * n));
    return true;
  }
  friend bool operator==(const TunnelPath&, const TunnelPath&) = default;
};
static_assert(static_cast<int>(Tunnel::k6in6) < 16, "a tunnel kind takes four bits");

// The path as flow lines and events write it: the names outermost first, joined by '/' (e.g.
// "gre", "pppoe", "mpls/gre"); "" when empty.
std::string TunnelPathName(const TunnelPath& path);

// Parses what TunnelPathName() wrote; false (and *path unchanged) for anything else.
bool ParseTunnelPath(std::string_view text, TunnelPath* path);

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_TUNNEL_H_
