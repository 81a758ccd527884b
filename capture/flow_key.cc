#include "capture/flow_key.h"

#include <cstring>

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

FlowKey MakeFlowKey(const DecodedPacket& p, bool* src_is_a) {
  FlowKey k;
  k.proto = p.ip_proto;
  const bool has_ports = p.ip_proto == 6 || p.ip_proto == 17;
  const uint16_t sport = has_ports ? p.src_port : 0;
  const uint16_t dport = has_ports ? p.dst_port : 0;
  // (src, sport) <= (dst, dport), addresses compared byte by byte as std::array does, on
  // two big-endian words each instead of a memcmp call (this runs for every packet).
  const int c = CompareAddresses(p.src, p.dst);
  const bool src_first = c < 0 || (c == 0 && sport <= dport);
  if (src_first) {
    k.a = p.src, k.port_a = sport, k.b = p.dst, k.port_b = dport;
  } else {
    k.a = p.dst, k.port_a = dport, k.b = p.src, k.port_b = sport;
  }
  *src_is_a = src_first;
  return k;
}

}  // namespace tw::capture
