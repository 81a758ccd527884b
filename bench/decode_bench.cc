// Decode() throughput per link type on typical data-transfer packets, as captured with
// snaplen 128 (headers only). Items are packets; bytes are captured bytes.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "capture/decode.h"

namespace tw::capture {
namespace {

using Bytes = std::vector<uint8_t>;

// Layer 2 headers.
const Bytes kEthernetV4 = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00};
const Bytes kEthernetVlanV6 = {0x02, 0, 0, 0,    0, 1, 0x02, 0,    0,
                               0,    0, 2, 0x81, 0, 0, 100,  0x86, 0xdd};
const Bytes kSll2V4 = {0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};

// IPv4, 1500-byte datagram, TCP.
const Bytes kIpv4 = {0x45, 0, 0x05, 0xdc, 0x12, 0x34, 0x40, 0,  64,  6,
                     0,    0, 192,  0,    2,    1,    198,  51, 100, 7};
// IPv6, 1440-byte payload, TCP.
const Bytes kIpv6 = {0x60, 0, 0, 0, 0x05, 0xa0, 6, 57, 0x20, 0x01, 0x0d, 0xb8, 0,    0,
                     0,    0, 0, 0, 0,    0,    0, 0,  0,    1,    0x20, 0x01, 0x0d, 0xb8,
                     0,    0, 0, 0, 0,    0,    0, 0,  0,    0,    0,    2};
// IPv4, 1400-byte datagram, UDP (a QUIC or RTP stream).
const Bytes kIpv4Udp = {0x45, 0, 0x05, 0x78, 0x12, 0x34, 0x40, 0,  64,  17,
                        0,    0, 192,  0,    2,    1,    198,  51, 100, 7};
const Bytes kUdp = {0xc3, 0x50, 0x01, 0xbb, 0x05, 0x64, 0, 0};
// IPv4 and UDP to VXLAN's port, the VXLAN header, then the inner Ethernet header.
const Bytes kVxlanOuter = {0x45, 0,    0x05, 0xdc, 0x12, 0x35, 0x40, 0, 64,   17,   0,    0,
                           10,   0,    0,    1,    10,   0,    0,    2, 0xc3, 0x50, 0x12, 0xb5,
                           0x05, 0xc8, 0,    0,    0x08, 0,    0,    0, 0,    0,    42,   0};
// TCP ACK with NOP NOP timestamps (32-byte header).
const Bytes kTcp = {0xa8, 0xca, 0x01, 0xbb, 1,    2, 3, 4, 0xa0, 0xb0, 0xc0,
                    0xd0, 0x80, 0x10, 0x01, 0xf5, 0, 0, 0, 0,    1,    1,
                    8,    10,   0,    0,    0,    1, 0, 0, 0,    2};

Bytes Packet(std::initializer_list<const Bytes*> layers) {
  Bytes b;
  for (const Bytes* l : layers) b.insert(b.end(), l->begin(), l->end());
  b.resize(128, 0);  // snaplen 128: the start of the payload
  return b;
}

void BenchDecode(benchmark::State& state, int link_type, const Bytes& packet) {
  DecodedPacket out;
  const auto caplen = static_cast<uint32_t>(packet.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(Decode(link_type, packet.data(), caplen, &out));
    benchmark::DoNotOptimize(out);
  }
  if (Decode(link_type, packet.data(), caplen, &out) != DecodeStatus::kOk) {
    state.SkipWithError("packet did not decode");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(packet.size()));
}

void BM_DecodeEthernetTcpV4(benchmark::State& state) {
  BenchDecode(state, kLinkEthernet, Packet({&kEthernetV4, &kIpv4, &kTcp}));
}
BENCHMARK(BM_DecodeEthernetTcpV4);

void BM_DecodeEthernetVlanTcpV6(benchmark::State& state) {
  BenchDecode(state, kLinkEthernet, Packet({&kEthernetVlanV6, &kIpv6, &kTcp}));
}
BENCHMARK(BM_DecodeEthernetVlanTcpV6);

void BM_DecodeSll2TcpV4(benchmark::State& state) {
  BenchDecode(state, kLinkLinuxSll2, Packet({&kSll2V4, &kIpv4, &kTcp}));
}
BENCHMARK(BM_DecodeSll2TcpV4);

void BM_DecodeEthernetUdpV4(benchmark::State& state) {
  BenchDecode(state, kLinkEthernet, Packet({&kEthernetV4, &kIpv4Udp, &kUdp}));
}
BENCHMARK(BM_DecodeEthernetUdpV4);

// A tunnelled packet: the VXLAN header and the inner frame's headers are walked too.
void BM_DecodeEthernetVxlanTcpV4(benchmark::State& state) {
  BenchDecode(state, kLinkEthernet,
              Packet({&kEthernetV4, &kVxlanOuter, &kEthernetV4, &kIpv4, &kTcp}));
}
BENCHMARK(BM_DecodeEthernetVxlanTcpV4);

void BM_DecodeRawTcpV4(benchmark::State& state) {
  BenchDecode(state, kLinkRaw, Packet({&kIpv4, &kTcp}));
}
BENCHMARK(BM_DecodeRawTcpV4);

}  // namespace
}  // namespace tw::capture

BENCHMARK_MAIN();
