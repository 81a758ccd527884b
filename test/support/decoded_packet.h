#ifndef THROTTLEWATCH_TEST_SUPPORT_DECODED_PACKET_H_
#define THROTTLEWATCH_TEST_SUPPORT_DECODED_PACKET_H_

#include <cstdint>

#include "capture/address.h"
#include "capture/decode.h"
#include "capture/ip_proto.h"

namespace tw::testing {

// A decoded packet's tuple, as the decoder fills it: addresses (IPv4 or IPv6 text, which must
// parse), ports (for ICMP, the type and the code), and the IP protocol. Nothing else is set.
inline capture::DecodedPacket Packet(const char* src, uint16_t sport, const char* dst,
                                     uint16_t dport, uint8_t ip_proto = capture::kIpProtoTcp) {
  capture::DecodedPacket p;
  p.ip_proto = ip_proto;
  p.src = *capture::Address::Parse(src);
  p.dst = *capture::Address::Parse(dst);
  p.src_port = sport;
  p.dst_port = dport;
  return p;
}

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_DECODED_PACKET_H_
