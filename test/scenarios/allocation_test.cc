// The per-packet path does not allocate: file reader -> Decode -> Binner -> Engine and the
// per-flow verdict tracker, on one thread and sharded, in steady state (flows known, bins closing
// every second). Counts every operator new in this binary.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "capture/binner.h"
#include "capture/capture_file.h"
#include "capture/decode.h"
#include "detector/core/engine.h"
#include "detector/core/event_sink.h"
#include "detector/core/flow_verdict.h"
#include "detector/pipeline/sharded_analysis.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

// Replacement operators built on malloc/free: GCC cannot tell that they pair with each other.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// The nothrow forms too (std::stable_sort's temporary buffer uses them): every allocation is
// counted, and each pair matches (malloc/free), as AddressSanitizer checks.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace tw::detector {
namespace {

// An in-memory pcap: `flows` downloads from 192.0.2.1:443 to 10.0.0.x, one full-size segment
// per flow every 10 ms, an ACK per two, for `seconds` seconds; every 50th segment is sent again
// 10 ms later. TCP timestamps on every packet, each ACK echoing the segment before it. Headers
// only (snaplen 66).
std::vector<uint8_t> MakePcap(int flows, int seconds) {
  std::vector<uint8_t> f = {0xd4, 0xc3, 0xb2, 0xa1, 2,  0, 4, 0, 0, 0, 0, 0,
                            0,    0,    0,    0,    66, 0, 0, 0, 1, 0, 0, 0};
  auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) f.push_back(uint8_t(v >> (8 * i)));
  };
  std::vector<uint32_t> seq(size_t(flows), 1);
  for (int tick = 0; tick < seconds * 100; ++tick) {
    for (int i = 0; i < flows; ++i) {
      for (int ack = 0; ack < (tick % 2 == 1 ? 2 : 1); ++ack) {
        const uint32_t usec = uint32_t(tick) * 10'000 + uint32_t(i) * 10 + uint32_t(ack);
        put32(1'700'000'000 + usec / 1'000'000);
        put32(usec % 1'000'000);
        put32(66);
        put32(ack ? 66 : 1514);
        uint8_t p[66] = {};
        p[12] = 0x08;
        uint8_t* ip = p + 14;
        ip[0] = 0x45, ip[8] = 64, ip[9] = 6;
        const uint16_t len = ack ? 52 : 1500;
        ip[2] = uint8_t(len >> 8), ip[3] = uint8_t(len);
        const uint8_t remote[4] = {192, 0, 2, 1}, local[4] = {10, 0, 0, uint8_t(i + 1)};
        std::memcpy(ip + 12, ack ? local : remote, 4);
        std::memcpy(ip + 16, ack ? remote : local, 4);
        uint8_t* tcp = ip + 20;
        const uint16_t lp = uint16_t(40000 + i);
        tcp[0] = ack ? uint8_t(lp >> 8) : 0x01, tcp[1] = ack ? uint8_t(lp) : 0xbb;
        tcp[2] = ack ? 0x01 : uint8_t(lp >> 8), tcp[3] = ack ? 0xbb : uint8_t(lp);
        const uint32_t s = ack ? 1 : seq[size_t(i)];
        tcp[4] = uint8_t(s >> 24), tcp[5] = uint8_t(s >> 16), tcp[6] = uint8_t(s >> 8);
        tcp[7] = uint8_t(s);
        tcp[12] = 8 << 4, tcp[13] = 0x10, tcp[14] = 0xff;
        const uint8_t ts_option[4] = {1, 1, 8, 10};  // NOP NOP TS: TSval TSecr
        std::memcpy(tcp + 20, ts_option, 4);
        const uint32_t ts_val = uint32_t(tick) + (ack ? 1'000'000 : 0);
        const uint32_t ts_ecr = ack ? uint32_t(tick) : uint32_t(tick) + 999'999;
        for (int b = 0; b < 4; ++b) {
          tcp[24 + b] = uint8_t(ts_val >> (24 - 8 * b));
          tcp[28 + b] = uint8_t(ts_ecr >> (24 - 8 * b));
        }
        // A resend: the next segment repeats the previous one.
        const bool resend = tick % 50 == 1;
        if (!ack && resend) {
          const uint32_t s2 = s - 1448;
          tcp[4] = uint8_t(s2 >> 24), tcp[5] = uint8_t(s2 >> 16), tcp[6] = uint8_t(s2 >> 8);
          tcp[7] = uint8_t(s2);
        }
        if (!ack && !resend) seq[size_t(i)] += 1448;
        f.insert(f.end(), p, p + 66);
      }
    }
  }
  return f;
}

class NullSink : public EventSink {
 public:
  void OnEvent(const Event&) override { ++events; }
  int events = 0;
};

// Reads `file`, decodes every packet and hands it to on_packet(packet, decoded, position);
// counts the allocations from the first packet at or after steady_from to the last.
struct Counted {
  uint64_t packets = 0;          // read in all
  uint64_t counted_packets = 0;  // read while counting
  uint64_t before = 0;           // allocations before counting began
  uint64_t allocations = 0;      // while counting
};
template <typename OnPacket>
Counted ReadCounting(const std::vector<uint8_t>& file, int64_t steady_from, OnPacket on_packet) {
  Counted c;
  capture::CaptureFileReader reader;
  std::string err;
  EXPECT_TRUE(reader.Open(file.data(), file.size(), "mem", &err)) << err;
  capture::Packet pkt;
  capture::DecodedPacket d;
  while (reader.Next(&pkt) == capture::ReadStatus::kPacket) {
    if (c.counted_packets == 0 && pkt.ts_ns >= steady_from) {
      c.before = g_allocations.load();
      c.counted_packets = 1;
    } else if (c.counted_packets > 0) {
      ++c.counted_packets;
    }
    ++c.packets;
    EXPECT_EQ(capture::Decode(pkt.link_type, pkt.data, pkt.caplen, &d), capture::DecodeStatus::kOk);
    on_packet(pkt, d, c.packets);
  }
  c.allocations = g_allocations.load() - c.before;
  EXPECT_EQ(c.packets, reader.stats().packets);
  return c;
}

TEST(AllocationTest, SteadyStatePacketPathDoesNotAllocate) {
  const std::vector<uint8_t> file = MakePcap(/*flows=*/50, /*seconds=*/30);
  NullSink sink;
  Engine engine(EngineParams{}, &sink);
  capture::BinnerParams bp;
  bp.max_flows = 1000;
  capture::Binner binner(bp, capture::LocalNetworks({*capture::Cidr::Parse("10.0.0.0/24")}),
                         &engine);
  FlowVerdictTracker verdicts;
  const int64_t steady_from = 1'700'000'005LL * 1'000'000'000;  // after 5 s: flows known
  const Counted c = ReadCounting(
      file, steady_from,
      [&](const capture::Packet& pkt, const capture::DecodedPacket& d, uint64_t) {
        const capture::BinnedPacket binned = binner.OnPacket(pkt.ts_ns, pkt.wire_len, d);
        verdicts.OnPacket(pkt.ts_ns, pkt.wire_len, d, binned);
      });
  EXPECT_GT(c.before, 0u) << "the counting operator new is not in use";
  EXPECT_GT(c.counted_packets, 100'000u);
  EXPECT_GT(engine.stats().bins, 25u);  // the steady state includes ~25 bin closes
  EXPECT_EQ(c.allocations, 0u) << c.allocations << " allocations over " << c.counted_packets
                               << " packets in steady state";

  // The verdict tracker saw what the test means it to: a record per segment (resends included),
  // RTT samples from the echoed timestamps, resends as losses.
  binner.Finish();
  EXPECT_EQ(verdicts.records(), 50u * 30 * 100);
  const std::vector<FlowVerdict> v = verdicts.Finish();
  ASSERT_EQ(v.size(), 50u);
  EXPECT_GT(v[0].rtt_median_s, 0);
  EXPECT_GT(v[0].retrans_bytes, 0u);
  EXPECT_EQ(v[0].fit.losses, 30 * 2);
}

// The same through the sharded pipeline (replay --threads): the reader, two shards and the
// merger pass packets and bins in buffers that circulate, so they allocate nothing either once
// the buffers have grown to the traffic (the counter sees every thread).
TEST(AllocationTest, ShardedPacketPathDoesNotAllocate) {
  const std::vector<uint8_t> file = MakePcap(/*flows=*/50, /*seconds=*/30);
  NullSink sink;
  Engine engine(EngineParams{}, &sink);
  ShardedAnalysisParams sp;
  sp.shards = 2;
  sp.binner.max_flows = 1000;
  ShardedAnalysis sharded(sp, capture::LocalNetworks({*capture::Cidr::Parse("10.0.0.0/24")}),
                          &engine, nullptr);
  // Later than above: the shards run up to a few batches (~1 s of this traffic) behind.
  const int64_t steady_from = 1'700'000'008LL * 1'000'000'000;
  const Counted c = ReadCounting(
      file, steady_from,
      [&](const capture::Packet& pkt, const capture::DecodedPacket& d, uint64_t position) {
        sharded.OnPacket(pkt.ts_ns, pkt.wire_len, d, pkt.data, pkt.caplen, position);
      });
  sharded.Finish();
  EXPECT_GT(c.counted_packets, 100'000u);
  EXPECT_GT(engine.stats().bins, 25u);
  EXPECT_EQ(c.allocations, 0u) << c.allocations << " allocations over " << c.counted_packets
                               << " packets in steady state";
  EXPECT_EQ(sharded.stats().packets, c.packets);
  EXPECT_EQ(sharded.TakeVerdicts().size(), 50u);
}

}  // namespace
}  // namespace tw::detector
