#ifndef THROTTLEWATCH_CAPTURE_ADDRESS_H_
#define THROTTLEWATCH_CAPTURE_ADDRESS_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace tw::capture {

// An IPv4 or IPv6 address as 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so that
// both families share one trivially copyable representation. Value type, no allocation.
struct Address {
  std::array<uint8_t, 16> bytes{};

  static Address FromV4(const uint8_t* four_bytes) {
    Address a;
    a.bytes[10] = a.bytes[11] = 0xff;
    std::memcpy(a.bytes.data() + 12, four_bytes, 4);
    return a;
  }
  static Address FromV6(const uint8_t* sixteen_bytes) {
    Address a;
    std::memcpy(a.bytes.data(), sixteen_bytes, 16);
    return a;
  }
  // Parses dotted-quad or RFC 4291 text; nullopt on anything else.
  static std::optional<Address> Parse(std::string_view text);

  bool IsV4() const;
  // Text form: dotted quad for IPv4, RFC 5952 for IPv6.
  std::string ToString() const;
  // RFC 1918, RFC 4193 ULA, link-local, loopback and CGNAT (100.64/10).
  bool IsPrivate() const;
  // A single host that may lie beyond the local link: not multicast, broadcast (only the
  // limited 255.255.255.255 is knowable), link-local, loopback or unspecified. Traffic to
  // anything else can never be answered from the internet.
  bool IsRoutableUnicast() const;
  // No host on the internet has it: IsPrivate(), not IsRoutableUnicast(), or another block of
  // IANA's special-purpose registries that is not globally reachable: 192.0.0/24 (protocol
  // assignments; not its two anycast services, .9 and .10), 198.18/15 (benchmarking), 100::/64
  // (discard-only), 64:ff9b:1::/48 (local-use NAT64). A public name's DNS answer holding one
  // points nowhere (a sinkhole, a blocker's null answer, a broken split horizon). The
  // documentation blocks (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32) are not
  // counted: they stand in for public addresses in examples and tests.
  bool IsBogon() const;

  friend bool operator==(const Address&, const Address&) = default;
  friend auto operator<=>(const Address&, const Address&) = default;
};

// Hash of an address for unordered containers (util::HashWords over its two words).
struct AddressHash {
  size_t operator()(const Address& a) const;
};

// A network prefix such as 192.0.2.0/24 or 2001:db8::/32.
struct Cidr {
  Address network;
  int prefix_len = 0;  // in bits of the 128-bit form (IPv4 /24 is stored as 96+24)

  // Parses "ADDR/LEN" or a bare address (host prefix); nullopt on malformed text. LEN is in
  // bits of the text's family (0..32 for dotted quad, 0..128 otherwise); host bits are cleared.
  static std::optional<Cidr> Parse(std::string_view text);
  bool Contains(const Address& a) const;
  std::string ToString() const;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_ADDRESS_H_
