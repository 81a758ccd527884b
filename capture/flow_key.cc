#include "capture/flow_key.h"

#include <cstring>
#include <tuple>

namespace tw::capture {

FlowKey MakeFlowKey(const DecodedPacket& p, bool* src_is_a) {
  FlowKey k;
  k.proto = p.ip_proto;
  const bool has_ports = p.ip_proto == 6 || p.ip_proto == 17;
  const uint16_t sport = has_ports ? p.src_port : 0;
  const uint16_t dport = has_ports ? p.dst_port : 0;
  const bool src_first = std::tie(p.src, sport) <= std::tie(p.dst, dport);
  if (src_first) {
    k.a = p.src, k.port_a = sport, k.b = p.dst, k.port_b = dport;
  } else {
    k.a = p.dst, k.port_a = dport, k.b = p.src, k.port_b = sport;
  }
  *src_is_a = src_first;
  return k;
}

}  // namespace tw::capture
