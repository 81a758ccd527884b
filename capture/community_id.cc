#include "capture/community_id.h"

#include <openssl/evp.h>

#include <cstring>
#include <optional>
#include <span>

#include "capture/ip_proto.h"

namespace tw::capture {

namespace {

constexpr uint8_t kIpProtoSctp = 132;

// The ICMP and ICMPv6 types that come in request/reply pairs (Zeek's table, which the
// specification adopts); every other type is one way.
struct TypePair {
  uint8_t a, b;
};
constexpr TypePair kIcmpPairs[] = {
    {8, 0},    // echo request, reply
    {13, 14},  // timestamp
    {15, 16},  // information
    {10, 9},   // router solicitation, advertisement
    {17, 18},  // address mask
};
constexpr TypePair kIcmpv6Pairs[] = {
    {128, 129},  // echo request, reply
    {130, 131},  // multicast listener query, report
    {133, 134},  // router solicitation, advertisement
    {135, 136},  // neighbor solicitation, advertisement
    {139, 140},  // node information query, response
    {144, 145},  // home agent address discovery request, reply
};

// The counterpart of `type` in `pairs`, nullopt for a one-way type.
std::optional<uint8_t> Counterpart(std::span<const TypePair> pairs, uint8_t type) {
  for (const TypePair& p : pairs) {
    if (type == p.a) return p.b;
    if (type == p.b) return p.a;
  }
  return std::nullopt;
}

void Put16(uint8_t* out, uint16_t v) {
  out[0] = uint8_t(v >> 8);
  out[1] = uint8_t(v);
}

// Appends an address in its family's width: the IPv4-mapped form would change the hash.
size_t PutAddress(uint8_t* out, const Address& a) {
  const bool v4 = a.IsV4();
  const size_t n = v4 ? 4 : 16;
  std::memcpy(out, a.bytes.data() + (v4 ? 12 : 0), n);
  return n;
}

std::string Base64Sha1(const uint8_t* data, size_t len) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(data, len, digest, &digest_len, EVP_sha1(), nullptr) != 1) return "";
  unsigned char text[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int text_len = EVP_EncodeBlock(text, digest, int(digest_len));
  return "1:" + std::string(reinterpret_cast<const char*>(text), size_t(text_len));
}

// Hashes the tuple, already mapped to ports (`with_ports` false leaves them out) and ordered
// unless `keep_direction`.
std::string Hash(const Address& src, const Address& dst, uint16_t sport, uint16_t dport,
                 uint8_t ip_proto, bool with_ports, bool keep_direction, uint16_t seed) {
  const bool swap = !keep_direction && (dst < src || (dst == src && dport < sport));
  uint8_t buf[2 + 16 + 16 + 2 + 4];
  size_t n = 0;
  Put16(buf, seed);
  n += 2;
  n += PutAddress(buf + n, swap ? dst : src);
  n += PutAddress(buf + n, swap ? src : dst);
  buf[n++] = ip_proto;
  buf[n++] = 0;  // padding, so the ports start on a 32-bit boundary
  if (with_ports) {
    Put16(buf + n, swap ? dport : sport);
    Put16(buf + n + 2, swap ? sport : dport);
    n += 4;
  }
  return Base64Sha1(buf, n);
}

}  // namespace

std::string CommunityId(const Address& src, const Address& dst, uint16_t sport, uint16_t dport,
                        uint8_t ip_proto, uint16_t seed) {
  if (ip_proto == kIpProtoIcmp || ip_proto == kIpProtoIcmpv6) {
    const uint8_t type = uint8_t(sport), code = uint8_t(dport);
    const std::optional<uint8_t> counterpart =
        Counterpart(ip_proto == kIpProtoIcmp ? std::span<const TypePair>(kIcmpPairs)
                                             : std::span<const TypePair>(kIcmpv6Pairs),
                    type);
    return Hash(src, dst, type, counterpart ? *counterpart : code, ip_proto, true,
                !counterpart.has_value(), seed);
  }
  const bool with_ports = HasPorts(ip_proto) || ip_proto == kIpProtoSctp;
  return Hash(src, dst, sport, dport, ip_proto, with_ports, false, seed);
}

std::string CommunityId(const FlowKey& key, uint16_t seed) {
  switch (key.proto) {
    case kIpProtoIcmp:
    case kIpProtoIcmpv6:
    case kIpProtoSctp:
      return "";
    default:
      return CommunityId(key.a, key.b, key.port_a, key.port_b, key.proto, seed);
  }
}

}  // namespace tw::capture
