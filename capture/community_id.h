#ifndef THROTTLEWATCH_CAPTURE_COMMUNITY_ID_H_
#define THROTTLEWATCH_CAPTURE_COMMUNITY_ID_H_

#include <cstdint>
#include <string>

#include "capture/address.h"
#include "capture/flow_key.h"

namespace tw::capture {

// The Community ID of a flow, version 1 of the "Community ID Flow Hashing" specification
// (Corelight), the identifier Zeek's conn.log and Suricata's eve.json write as `community_id`,
// so that a flow line joins their records of the same conversation by string comparison.
//
// The ID is "1:" followed by the base64 of the SHA-1 of, in this order and in network byte
// order:
//   seed (2 bytes) . first address . second address . IP protocol (1 byte) . 0 (1 byte)
//   . first port (2 bytes) . second port (2 bytes)
// Addresses are 4 bytes for IPv4, 16 for IPv6. The endpoint with the smaller address comes
// first; equal addresses put the smaller port first. So both directions give the same ID.
// The ports are hashed for TCP, UDP and SCTP; every other protocol but ICMP and ICMPv6 hashes
// without the two port fields (the hash input ends after the padding byte).
//
// ICMP and ICMPv6 hash a type and code mapped to ports, as Zeek does: a request or reply type
// with a counterpart (echo, timestamp, information, router solicitation/advertisement, address
// mask; for ICMPv6 echo, multicast listener query/report, router and neighbor solicitation/
// advertisement, node information, home agent address discovery) becomes (type, counterpart
// type), so a request and its reply share an ID; any other type is "one way" and becomes
// (type, code), and its endpoints keep the packet's direction instead of being ordered.

// The ID of one packet's tuple, in the packet's direction. For ICMP and ICMPv6, `sport` is the
// type and `dport` the code, as DecodedPacket holds them. `sport`/`dport` are ignored for
// protocols without ports.
std::string CommunityId(const Address& src, const Address& dst, uint16_t sport, uint16_t dport,
                        uint8_t ip_proto, uint16_t seed = 0);

// The ID of a flow from its key. TCP and UDP hash the key's ports; protocols without ports hash
// without them. ICMP, ICMPv6 and SCTP give "" (the specification's answer where a monitor lacks
// the fields): their keys hold no type, code or ports (see MakeFlowKey), and a throttlewatch
// ICMP flow spans all types between two hosts, where Zeek has one flow per type pair.
// The key's endpoints may come in either order (a key whose addresses were mapped, e.g.
// anonymized, gives the ID of the mapped flow).
std::string CommunityId(const FlowKey& key, uint16_t seed = 0);

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_COMMUNITY_ID_H_
