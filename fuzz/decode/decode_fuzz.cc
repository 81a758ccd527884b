// The packet decoder for every link type: the first byte picks the link type, the rest is the
// captured packet, its fragments counted to their flows by a FragmentTable. Then the packet
// goes where a decoded packet goes in a replay: its flow key, and the service-name parsers (TLS
// ClientHello, DNS answers) over its payload.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "capture/binner.h"
#include "capture/decode.h"
#include "capture/flow_key.h"
#include "capture/fragment_table.h"
#include "capture/ip_proto.h"
#include "capture/server_names.h"
#include "fuzz/fuzz_input.h"

namespace {
constexpr int kLinkTypes[] = {tw::capture::kLinkNull,
                              tw::capture::kLinkEthernet,
                              tw::capture::kLinkRaw,
                              tw::capture::kLinkRawAlt,
                              tw::capture::kLinkRawFile,
                              tw::capture::kLinkLoop,
                              tw::capture::kLinkLinuxSll,
                              tw::capture::kLinkIpv4,
                              tw::capture::kLinkIpv6,
                              tw::capture::kLinkLinuxSll2,
                              tw::capture::kLinkPpp,
                              tw::capture::kLinkPppHdlc,
                              tw::capture::kLinkCiscoHdlc,
                              tw::capture::kLinkIeee80211,
                              tw::capture::kLinkRadiotap,
                              tw::capture::kLinkNflog,
                              147 /* a user DLT: unsupported */};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tw::capture;
  if (size < 1) return 0;
  const int link = kLinkTypes[data[0] % std::size(kLinkTypes)];
  // The packet in a buffer of its own size, so that any read past caplen is out of bounds.
  const std::vector<uint8_t> pkt(data + 1, data + size);
  const uint32_t caplen = uint32_t(pkt.size());
  DecodedPacket d;
  // One table for the whole run: a later fragment may meet an earlier input's first one.
  static FragmentTable fragments;
  const DecodeStatus st = fragments.Resolve(0, Decode(link, pkt.data(), caplen, &d), &d);
  TW_FUZZ_CHECK(st < DecodeStatus::kCount);
  if (st != DecodeStatus::kOk) return 0;
  TW_FUZZ_CHECK(d.tunnels.depth() <= TunnelPath::kMaxTunnels);
  TW_FUZZ_CHECK(IsSupportedLinkType(link));
  TW_FUZZ_CHECK(d.ip_version == 4 || d.ip_version == 6);
  TW_FUZZ_CHECK(d.l3_offset < caplen);
  TW_FUZZ_CHECK(d.l4_offset > d.l3_offset);
  TW_FUZZ_CHECK(d.payload_offset >= d.l4_offset);
  TW_FUZZ_CHECK(d.tcp_wscale == 0xff || d.tcp_wscale <= 14);

  bool src_is_a = false;
  const FlowKey key = MakeFlowKey(d, &src_is_a);
  bool again = false;
  DecodedPacket swapped = d;
  std::swap(swapped.src, swapped.dst);
  std::swap(swapped.src_port, swapped.dst_port);
  const FlowKey reverse = MakeFlowKey(swapped, &again);
  if (d.ip_proto == tw::capture::kIpProtoTcp || d.ip_proto == tw::capture::kIpProtoUdp) {
    TW_FUZZ_CHECK(key == reverse);
    TW_FUZZ_CHECK(HashFlowKey(key) == HashFlowKey(reverse));
  }

  static ServerNames names(64);
  FlowInfo info;
  info.id = 1;
  info.key = key;
  BinnedPacket bp{&info, kDown, 0};
  names.Observe(pkt.data(), caplen, d, bp);
  names.ForgetFlow(1);
  return 0;
}
