#ifndef THROTTLEWATCH_CAPTURE_FLOW_KEY_H_
#define THROTTLEWATCH_CAPTURE_FLOW_KEY_H_

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "capture/address.h"
#include "capture/decode.h"
#include "util/hash.h"

namespace tw::capture {

// The bidirectional identity of a flow: protocol and the two endpoints, ordered so that both
// directions of a conversation map to the same key (endpoint `a` is the smaller (address,
// port) pair). Trivially copyable, 40 bytes, compared and hashed bytewise.
struct FlowKey {
  Address a, b;
  uint16_t port_a = 0, port_b = 0;
  uint8_t proto = 0;
  uint8_t pad_[3] = {0, 0, 0};  // always zero, so bytewise hashing is well defined

  // Bytewise, as five 64-bit words (the padding is always zero).
  friend bool operator==(const FlowKey& x, const FlowKey& y) {
    uint64_t u[5], v[5];
    std::memcpy(u, &x, sizeof(u));
    std::memcpy(v, &y, sizeof(v));
    return ((u[0] ^ v[0]) | (u[1] ^ v[1]) | (u[2] ^ v[2]) | (u[3] ^ v[3]) | (u[4] ^ v[4])) == 0;
  }
};
static_assert(std::is_trivially_copyable_v<FlowKey>);
static_assert(sizeof(FlowKey) == 40);

// Builds the key of a decoded packet. *src_is_a tells whether the packet travels from endpoint
// a to endpoint b. ICMP/ICMPv6 packets key on addresses only (ports zero), so echo requests and
// replies share a flow.
FlowKey MakeFlowKey(const DecodedPacket& p, bool* src_is_a);

// A well-mixed 64-bit hash of the key, identical for both directions (the key is already
// ordered). Inline: it runs on every packet.
inline uint64_t HashFlowKey(const FlowKey& k) {
  uint64_t w[5];
  static_assert(sizeof(w) == sizeof(FlowKey));
  std::memcpy(w, &k, sizeof(w));
  return util::HashWords(w);
}

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_FLOW_KEY_H_
