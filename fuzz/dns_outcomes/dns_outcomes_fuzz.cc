// The DNS tracker fed with datagrams to and from port 53 of a few flows: arbitrary bytes as
// queries and answers, whole or cut by the capture, at times that step forward, stall, go
// backwards or jump, with flow ends and expiries between them. Every outcome must be sane: a
// known kind, counts that fit it, a name the parser could have read.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "capture/dns_outcomes.h"
#include "capture/ip_proto.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tw::capture;
  tw::fuzz::FuzzInput in(data, size);
  constexpr size_t kMaxPending = 8;
  DnsTracker t(kMaxPending, 1'000'000'000, 10'000'000'000, 4);
  std::vector<DnsOutcome> decided;
  const uint8_t local[4] = {10, 0, 0, 2}, resolver[4] = {192, 0, 2, 53};
  FlowInfo flows[4];
  for (uint16_t i = 0; i < 4; ++i) {
    flows[i].id = i + 1u;
    flows[i].key.a = Address::FromV4(local);
    flows[i].key.b = Address::FromV4(resolver);
    flows[i].key.port_a = uint16_t(40000 + i % 2);  // two flows share a local port
    flows[i].key.port_b = kDnsPort;
    flows[i].key.proto = kIpProtoUdp;
    flows[i].local_is_a = true;
  }
  int64_t ts = 1'700'000'000'000'000'000;
  // Each datagram: op (bit 0 up, bits 1-2 flow, bit 3 cut by the capture, bit 4 then end the
  // flow, bit 5 then expire), a time step, its TTL, its length, then its bytes.
  while (in.left() > 0) {
    const uint8_t op = in.U8();
    const uint8_t step = in.U8();
    const uint8_t ttl = in.U8();
    const size_t len = in.U16() % 1500;
    switch (step >> 6) {
      case 0:
      case 1:
        ts += int64_t(step & 0x7f) * 10'000'000;  // up to 1.27 s
        break;
      case 2:
        ts -= int64_t(step & 0x3f) * 1'000'000;
        break;
      default:
        ts += int64_t(step & 0x3f) * 1'000'000'000;
        break;
    }
    std::vector<uint8_t> bytes;
    while (bytes.size() < len && in.left() > 0) bytes.push_back(in.U8());
    bytes.shrink_to_fit();  // exactly the datagram's bytes, so ASan sees reads past them
    const bool up = op & 1;
    const FlowInfo& f = flows[(op >> 1) & 3];
    DecodedPacket p;
    p.ip_version = 4;
    p.ip_proto = kIpProtoUdp;
    p.ip_ttl = ttl;
    p.src = up ? f.key.a : f.key.b;
    p.dst = up ? f.key.b : f.key.a;
    p.src_port = up ? f.key.port_a : kDnsPort;
    p.dst_port = up ? kDnsPort : f.key.port_a;
    p.payload_len = uint32_t(bytes.size() + ((op & 8) ? 100 : 0));
    t.OnPacket(ts, p, bytes.empty() ? nullptr : bytes.data(), uint32_t(bytes.size()), f,
               up ? kUp : kDown, &decided);
    if (op & 0x10) t.OnFlowEnd(f.id, &decided);
    if (op & 0x20) t.Expire(ts, &decided);
    TW_FUZZ_CHECK(t.pending() <= kMaxPending);
  }
  for (const FlowInfo& f : flows) t.OnFlowEnd(f.id, &decided);
  TW_FUZZ_CHECK(t.pending() == 0);
  TW_FUZZ_CHECK(decided.size() <= t.followed());
  for (const DnsOutcome& o : decided) {
    TW_FUZZ_CHECK(size_t(o.kind) < kDnsOutcomeKinds);
    TW_FUZZ_CHECK(o.name.size() <= 253);
    TW_FUZZ_CHECK(o.attempts >= 1);
    TW_FUZZ_CHECK(o.first.address_count <= DnsTracker::kMaxAnswers);
    TW_FUZZ_CHECK(o.second.address_count <= DnsTracker::kMaxAnswers);
    if (o.kind == DnsOutcomeKind::kUnanswered) {
      TW_FUZZ_CHECK(o.answers == 0 && o.attempts >= 2 && o.first.delay_s < 0);
    } else {
      TW_FUZZ_CHECK(o.answers >= 1 && o.first.delay_s >= 0);
    }
    if (o.kind == DnsOutcomeKind::kRacing) TW_FUZZ_CHECK(o.answers >= 2 && o.second.delay_s >= 0);
    if (o.kind == DnsOutcomeKind::kBogon) TW_FUZZ_CHECK(o.bogon && o.bogon_address.IsBogon());
    if (o.nxdomain_after_resolution) TW_FUZZ_CHECK(o.first.rcode == 3);
  }
  return 0;
}
