#include "capture/fragment_table.h"

namespace tw::capture {

FragmentTable::FragmentTable() : slots_(kCapacity) {}

DecodeStatus FragmentTable::Resolve(int64_t ts_ns, DecodeStatus status, DecodedPacket* d) {
  if (d->frag_key == 0) return status;
  Slot& s = slots_[d->frag_key & (kCapacity - 1)];
  if (status == DecodeStatus::kOk) {
    s = Slot{d->frag_key, ts_ns,         d->src,      d->dst,    d->src_port,
             d->dst_port, d->ip_version, d->ip_proto, d->tunnels};
    return status;
  }
  if (status != DecodeStatus::kFragment || s.key != d->frag_key) return status;
  const int64_t age = ts_ns - s.ts_ns;
  if (age > kTimeoutNs || age < -kTimeoutNs) return status;
  d->src = s.src;
  d->dst = s.dst;
  d->src_port = s.src_port;
  d->dst_port = s.dst_port;
  d->ip_version = s.ip_version;
  d->ip_proto = s.ip_proto;
  d->tunnels = s.tunnels;
  d->later_fragment = true;
  ++resolved_;
  return DecodeStatus::kOk;
}

}  // namespace tw::capture
