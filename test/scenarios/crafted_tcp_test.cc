// TCP crafted to confuse the trackers — sequence numbers and timestamps that wrap, huge
// jumps, retransmission storms, packets with no time between them, time running backwards or
// jumping years — through the Binner and the detectors. None of it may divide by zero,
// overflow, or produce nonsense: every bin and every event is checked (NaN, infinity and
// negative numbers never appear; retransmitted bytes never exceed the payload; RTT samples
// stay within a minute).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "capture/binner.h"
#include "capture/ip_proto.h"
#include "detector/core/engine.h"
#include "detector/outputs/event_json.h"
#include "test/support/event_checks.h"
#include "test/support/schema_lines.h"

namespace tw::detector {
namespace {

using capture::DecodedPacket;
using capture::kTcpAck;
using capture::kTcpSyn;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

// Checks every bin and flow end, then hands them to the engine; checks every event.
class CheckingPipeline final : public capture::BinSink, public EventSink {
 public:
  CheckingPipeline() : engine_({}, this) {}

  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link) override {
    ++bins;
    for (const capture::FlowBin& f : flows) {
      for (const capture::DirectionBin& d : f.dir) CheckDirection(d);
      const capture::RttBin& r = f.rtt;
      if (r.samples > 0) {
        EXPECT_TRUE(std::isfinite(r.sum_s) && r.min_s > 0 && r.min_s <= r.max_s &&
                    r.max_s <= 60.0f && std::isfinite(r.mean_s()))
            << "rtt " << r.min_s << ".." << r.max_s << " over " << r.samples;
      }
      EXPECT_TRUE(f.handshake_rtt_s == -1 || f.handshake_rtt_s >= 0) << f.handshake_rtt_s;
    }
    for (const capture::DirectionBin& d : link.dir) CheckDirection(d);
    engine_.OnBin(start_ns, width_ns, flows, link);
  }
  void OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) override {
    for (const capture::DirectionBin& d : totals.dir) CheckDirection(d);
    engine_.OnFlowEnd(info, totals);
  }
  void OnEvent(const Event& e) override {
    const std::string p = testing::EventProblems(e);
    EXPECT_TRUE(p.empty()) << p << "\n" << EventToJson(e);
    testing::KeepLines(EventToJson(e));
    events.push_back(e);
  }

  std::vector<Event> events;
  int bins = 0;

 private:
  static void CheckDirection(const capture::DirectionBin& d) {
    EXPECT_LE(d.retrans_bytes, d.payload_bytes);
    EXPECT_LE(d.data_packets, d.packets);
    EXPECT_LE(d.in_flight_max, uint32_t(INT32_MAX));
  }
  Engine engine_;
};

DecodedPacket Tcp(bool up, uint16_t port, uint32_t seq, uint32_t ack, uint32_t len,
                  uint8_t flags = kTcpAck, bool ts = false, uint32_t ts_val = 0,
                  uint32_t ts_ecr = 0) {
  DecodedPacket p;
  p.ip_version = 4;
  p.ip_proto = capture::kIpProtoTcp;
  const auto local = *capture::Address::Parse("10.0.0.2");
  const auto remote = *capture::Address::Parse("192.0.2.1");
  p.src = up ? local : remote;
  p.dst = up ? remote : local;
  p.src_port = up ? port : 443;
  p.dst_port = up ? 443 : port;
  p.tcp_seq = seq;
  p.tcp_ack = ack;
  p.payload_len = len;
  p.tcp_flags = flags;
  p.tcp_window = 1000;
  p.tcp_has_ts = ts;
  p.tcp_ts_val = ts_val;
  p.tcp_ts_ecr = ts_ecr;
  return p;
}

capture::LocalNetworks Local() {
  return capture::LocalNetworks({*capture::Cidr::Parse("10.0.0.0/24")});
}

// A download whose sequence numbers wrap past 2^32 while it is throttled half-way: the
// wrap must not read as a jump, a retransmission or a stall.
TEST(CraftedTcpTest, SequenceWrapDuringAThrottleIsSeamless) {
  CheckingPipeline pipe;
  capture::Binner b({}, Local(), &pipe);
  uint32_t seq = 0xffffffffu - 30'000'000u;  // wraps about 30 s in
  int64_t t = kT0;
  // Each data segment echoes the TSval of the newest office ACK that left one round trip
  // before it (20 ms, 200 ms once a shaper's queue builds), as a real sender does.
  std::deque<int64_t> acks;
  int64_t echoed = 0;
  for (int i = 0; i < 120'000; ++i) {
    const bool slow = t >= kT0 + 60 * kSec;
    const int64_t rtt = (slow ? 200 : 20) * 1'000'000;
    while (!acks.empty() && acks.front() <= t - rtt) {
      echoed = acks.front();
      acks.pop_front();
    }
    b.OnPacket(t, 1514,
               Tcp(false, 40000, seq, 1, 1448, kTcpAck, true, uint32_t(t / 1'000'000),
                   uint32_t(echoed / 1'000'000)));
    if (i % 2) {
      acks.push_back(t + 500'000);
      b.OnPacket(t + 500'000, 66,
                 Tcp(true, 40000, 1, seq + 1448, 0, kTcpAck, true,
                     uint32_t((t + 500'000) / 1'000'000), 0));
    }
    seq += 1448;
    t += slow ? 7'240'000 : 1'448'000;  // 200 kB/s after 60 s, 1 MB/s before
    if (t > kT0 + 120 * kSec) break;
  }
  b.Finish();
  ASSERT_EQ(pipe.events.size(), 1u);  // the start; the end of input leaves it open
  EXPECT_EQ(pipe.events[0].kind, EventKind::kThrottle);
  EXPECT_NEAR(pipe.events[0].ts - double(kT0) * 1e-9, 60, 2);
  EXPECT_EQ(pipe.events[0].mechanism, Mechanism::kShaping);
}

// Sequence numbers that jump by half the number space at every segment: each jump
// re-synchronises; nothing counts as retransmitted and rates stay what was on the wire.
TEST(CraftedTcpTest, HugeSequenceJumpsAreNotRetransmissions) {
  CheckingPipeline pipe;
  capture::Binner b({}, Local(), &pipe);
  uint64_t retrans = 0;
  for (int i = 0; i < 20'000; ++i) {
    const uint32_t seq = uint32_t(i) * 0x80000001u;
    const int64_t t = kT0 + int64_t(i) * 1'000'000;
    retrans += b.OnPacket(t, 1514, Tcp(false, 40000, seq, 1, 1448)).retrans_bytes;
  }
  b.Finish();
  EXPECT_EQ(retrans, 0u);
  EXPECT_TRUE(pipe.events.empty());
}

// The same segment sent a hundred thousand times in one second, then again later: every
// copy is a retransmission, but the share never exceeds the payload and no rate is negative.
TEST(CraftedTcpTest, RetransmissionStormStaysBounded) {
  CheckingPipeline pipe;
  capture::Binner b({}, Local(), &pipe);
  uint32_t seq = 1000;
  for (int s = 0; s < 30; ++s) {  // a normal start: 30 s at 1 MB/s
    for (int i = 0; i < 700; ++i, seq += 1448) {
      b.OnPacket(kT0 + s * kSec + int64_t(i) * 1'400'000, 1514, Tcp(false, 40000, seq, 1, 1448));
    }
  }
  uint64_t retrans = 0;
  for (int i = 0; i < 100'000; ++i) {  // the storm
    retrans += b.OnPacket(kT0 + 30 * kSec + int64_t(i) * 10'000, 1514,
                          Tcp(false, 40000, seq - 1448, 1, 1448))
                   .retrans_bytes;
  }
  b.Finish();
  EXPECT_EQ(retrans, 100'000u * 1448);
}

// Thousands of packets with exactly the same timestamp, then a flow whose every packet has
// time zero: no division by a zero duration anywhere.
TEST(CraftedTcpTest, ZeroLengthTimeDividesByNothing) {
  CheckingPipeline pipe;
  capture::Binner b({}, Local(), &pipe);
  uint32_t seq = 1;
  for (int i = 0; i < 50'000; ++i, seq += 1448) {
    b.OnPacket(kT0, 1514, Tcp(false, 40000, seq, 1, 1448, kTcpAck, true, 5, 5));
    b.OnPacket(kT0, 66, Tcp(true, 40000, 1, seq, 0, kTcpAck, true, 5, 5));
  }
  b.OnPacket(kT0, 60, Tcp(true, 40001, 1, 0, 0, kTcpSyn));
  b.OnPacket(kT0, 60, Tcp(false, 40001, 9, 2, 0, kTcpSyn | kTcpAck));
  b.OnPacket(kT0, 60, Tcp(true, 40001, 2, 10, 0));
  b.Finish();
  EXPECT_EQ(pipe.bins, 1);
}

// Time that runs backwards (reordered captures, a crafted file) and jumps years ahead, within
// a throttled download: the Binner counts the stragglers and the gaps, and the events that
// come out are still sane.
TEST(CraftedTcpTest, BackwardsAndYearLongJumpsInTime) {
  CheckingPipeline pipe;
  capture::BinnerParams bp;
  capture::Binner b(bp, Local(), &pipe);
  std::mt19937 gen(3);
  const auto rng = [&gen] { return uint32_t(gen()); };
  uint32_t seq = 1;
  int64_t t = kT0;
  for (int i = 0; i < 150'000; ++i, seq += 1448) {
    int64_t when = t;
    if (rng() % 50 == 0) when -= int64_t(rng() % 5000) * 1'000'000;  // up to 5 s back
    b.OnPacket(when, 1514,
               Tcp(false, 40000, seq, 1, 1448, kTcpAck, true, uint32_t(when / 1'000'000),
                   uint32_t(when / 1'000'000 - 20)));
    t += 1'448'000;
    if (i == 50'000) t += 3 * 365 * 86'400 * kSec;       // three years on
    if (i == 100'000) t -= 3 * 365 * 86'400 * kSec / 2;  // and half of it back
  }
  b.Finish();
  EXPECT_GT(b.stats().time_backwards, 1000u);
  EXPECT_GE(b.stats().gaps_skipped, 1u);
}

// Random TCP headers from a handful of flows, random times stepping back and forth: the
// strongest form of the above, deterministic by its seed.
TEST(CraftedTcpTest, RandomHeadersNeverGiveNonsense) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    CheckingPipeline pipe;
    capture::BinnerParams bp;
    bp.bin_ns = seed % 2 ? kSec : kSec / 10;
    capture::Binner b(bp, Local(), &pipe);
    std::mt19937 gen(seed);
    const auto rng = [&gen] { return uint32_t(gen()); };
    int64_t t = kT0;
    for (int i = 0; i < 200'000; ++i) {
      const uint32_t r = rng();
      t += int64_t(rng() % 4000) * 1'000 - (r % 97 == 0 ? int64_t(rng() % 3000) * 1'000'000 : 0);
      const uint8_t flags = uint8_t(r % 13 == 0 ? rng() : kTcpAck);
      DecodedPacket p = Tcp(r & 1, uint16_t(40000 + (r >> 1) % 4), rng(), rng(),
                            (r >> 3) % 3 ? 1448 : rng() % 70000, flags, (r >> 5) & 1, rng(), rng());
      p.tcp_window = uint16_t(rng());
      p.tcp_wscale = uint8_t(rng() % 16);
      b.OnPacket(t, uint32_t(p.payload_len + 66), p);
    }
    b.Finish();
  }
}

}  // namespace
}  // namespace tw::detector
