// Flow table and binning: the per-packet work after decoding.
#include <benchmark/benchmark.h>

#include <vector>

#include "capture/binner.h"
#include "capture/flow_table.h"
#include "capture/ip_proto.h"

namespace tw::capture {
namespace {

FlowKey Key(uint32_t i) {
  FlowKey k;
  k.proto = capture::kIpProtoTcp;
  k.a.bytes[10] = k.a.bytes[11] = 0xff;
  k.a.bytes[12] = 10;
  k.a.bytes[13] = uint8_t(i >> 16);
  k.a.bytes[14] = uint8_t(i >> 8);
  k.a.bytes[15] = uint8_t(i);
  k.port_a = uint16_t(1024 + i % 50000);
  k.port_b = 443;
  return k;
}

void BM_FlowTableHit(benchmark::State& state) {
  const uint32_t n = uint32_t(state.range(0));
  FlowTable<uint64_t> t(n);
  for (uint32_t i = 0; i < n; ++i) t.Insert(Key(i));
  uint32_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.Find(Key(i)));
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlowTableHit)->Arg(1000)->Arg(100000);

void BM_FlowTableMiss(benchmark::State& state) {
  const uint32_t n = uint32_t(state.range(0));
  FlowTable<uint64_t> t(n);
  for (uint32_t i = 0; i < n; ++i) t.Insert(Key(i));
  uint32_t i = n;
  for (auto _ : state) benchmark::DoNotOptimize(t.Find(Key(i++)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlowTableMiss)->Arg(100000);

void BM_FlowTableInsertErase(benchmark::State& state) {
  FlowTable<uint64_t> t(100000);
  for (uint32_t i = 0; i < 99999; ++i) t.Insert(Key(i));
  uint32_t i = 1'000'000;
  for (auto _ : state) {
    t.Insert(Key(i++));
    t.EraseAt(size_t(i % 100000) % t.size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlowTableInsertErase);

class NullSink : public BinSink {
 public:
  void OnBin(int64_t, int64_t, std::span<const FlowBin> f, const LinkBin&) override {
    benchmark::DoNotOptimize(f.data());
  }
  void OnFlowEnd(const FlowInfo&, const FlowTotals&) override {}
};

// Packets of `flows` concurrent TCP downloads at 100k packets/s of capture time, 1 s bins:
// lookup, counters, sequence tracking and the bin closes they cause.
void BM_BinnerPacket(benchmark::State& state) {
  const uint32_t flows = uint32_t(state.range(0));
  NullSink sink;
  LocalNetworks local({*Cidr::Parse("10.0.0.0/8")});
  Binner b({}, local, &sink);
  std::vector<DecodedPacket> pkts(flows);
  for (uint32_t i = 0; i < flows; ++i) {
    DecodedPacket& p = pkts[i];
    p.ip_version = 4;
    p.ip_proto = capture::kIpProtoTcp;
    const uint8_t src[4] = {192, 0, 2, 1};
    const uint8_t dst[4] = {10, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)};
    p.src = Address::FromV4(src);
    p.dst = Address::FromV4(dst);
    p.src_port = 443;
    p.dst_port = uint16_t(1024 + i % 50000);
    p.payload_len = 1448;
    p.tcp_flags = kTcpAck;
    p.tcp_window = 1000;
  }
  int64_t t = 1'700'000'000LL * 1'000'000'000;
  uint32_t i = 0;
  for (auto _ : state) {
    DecodedPacket& p = pkts[i];
    p.tcp_seq += 1448;
    b.OnPacket(t, 1514, p);
    t += 10'000;
    if (++i == flows) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  // Memory per tracked flow: the table entry (all an idle flow keeps beyond its open bin) and
  // everything per flow (entry, index slots at their worst load, open bin).
  state.counters["entry_bytes"] = double(Binner::EntryBytes());
  state.counters["bytes_per_flow"] = double(Binner::BytesPerFlow());
}
BENCHMARK(BM_BinnerPacket)->Arg(16)->Arg(10000);

// Eviction under a full table: every packet opens a new flow in a table of 1000 flows, so each
// one samples and evicts a victim (a SYN flood, a port scan).
void BM_BinnerEvictionFullTable(benchmark::State& state) {
  NullSink sink;
  LocalNetworks local({*Cidr::Parse("10.0.0.0/8")});
  BinnerParams params;
  params.max_flows = 1000;
  Binner b(params, local, &sink);
  DecodedPacket p;
  p.ip_version = 4;
  p.ip_proto = capture::kIpProtoTcp;
  const uint8_t src[4] = {192, 0, 2, 1};
  p.src = Address::FromV4(src);
  p.src_port = 443;
  p.tcp_flags = kTcpSyn;
  int64_t t = 1'700'000'000LL * 1'000'000'000;
  uint32_t i = 0;
  for (auto _ : state) {
    const uint8_t dst[4] = {10, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)};
    p.dst = Address::FromV4(dst);
    p.dst_port = uint16_t(1024 + i % 50000);
    b.OnPacket(t, 66, p);
    t += 1'000;
    ++i;
  }
  state.counters["evicted"] = double(b.stats().flows_evicted);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BinnerEvictionFullTable);

}  // namespace
}  // namespace tw::capture
