#include "capture/flow_key.h"

#include <bit>
#include <cstddef>
#include <cstring>

#include "capture/ip_proto.h"

namespace tw::capture {

namespace {
int CompareAddresses(const Address& a, const Address& b) {
  uint64_t x[2], y[2];
  std::memcpy(x, a.bytes.data(), sizeof(x));
  std::memcpy(y, b.bytes.data(), sizeof(y));
  for (int i = 0; i < 2; ++i) {
    const uint64_t u = __builtin_bswap64(x[i]), v = __builtin_bswap64(y[i]);
    if (u != v) return u < v ? -1 : 1;
  }
  return 0;
}
}  // namespace

// The layout the single store of the key's last word relies on.
static_assert(std::endian::native == std::endian::little);
static_assert(offsetof(FlowKey, port_b) == offsetof(FlowKey, port_a) + 2 &&
              offsetof(FlowKey, proto) == offsetof(FlowKey, port_a) + 4 &&
              offsetof(FlowKey, pad_) == offsetof(FlowKey, port_a) + 5 &&
              offsetof(FlowKey, port_a) + 8 == sizeof(FlowKey));

FlowKey MakeFlowKey(const DecodedPacket& p, bool* src_is_a) {
  FlowKey k;
  const bool has_ports = HasPorts(p.ip_proto);
  const uint16_t sport = has_ports ? p.src_port : 0;
  const uint16_t dport = has_ports ? p.dst_port : 0;
  // (src, sport) <= (dst, dport), addresses compared byte by byte as std::array does, on
  // two big-endian words each instead of a memcmp call (this runs for every packet).
  const int c = CompareAddresses(p.src, p.dst);
  const bool src_first = c < 0 || (c == 0 && sport <= dport);
  k.a = src_first ? p.src : p.dst;
  k.b = src_first ? p.dst : p.src;
  // The ports, the protocol and the padding as one 8-byte store. Written field by field, the
  // word could not be forwarded to the hash's 8-byte load of it, which then waited for every
  // earlier store to reach the cache (perf annotate: a third of Binner::OnPacket's samples in
  // a replay, whose earlier stores often miss).
  const uint64_t tail = uint64_t(src_first ? sport : dport) |
                        uint64_t(src_first ? dport : sport) << 16 | uint64_t(p.ip_proto) << 32;
  std::memcpy(reinterpret_cast<char*>(&k) + offsetof(FlowKey, port_a), &tail, sizeof(tail));
  *src_is_a = src_first;
  return k;
}

}  // namespace tw::capture
