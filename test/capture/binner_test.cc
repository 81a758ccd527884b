#include "capture/binner.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "capture/ip_proto.h"

namespace tw::capture {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;  // bin-aligned

// Records everything the Binner hands over.
class RecordingSink : public BinSink {
 public:
  struct Bin {
    int64_t start;
    std::vector<FlowBin> flows;
    LinkBin link;
  };
  void OnBin(int64_t start_ns, int64_t, std::span<const FlowBin> flows,
             const LinkBin& link) override {
    bins.push_back({start_ns, {flows.begin(), flows.end()}, link});
  }
  void OnFlowEnd(const FlowInfo& info, const FlowTotals& totals) override {
    ended.push_back({info, totals});
  }
  std::vector<Bin> bins;
  std::vector<std::pair<FlowInfo, FlowTotals>> ended;
};

DecodedPacket Tcp(bool up, uint16_t local_port, uint32_t seq, uint32_t len, uint8_t flags,
                  uint16_t window = 1000) {
  DecodedPacket p;
  p.ip_version = 4;
  p.ip_proto = capture::kIpProtoTcp;
  const Address local = *Address::Parse("10.0.0.2"), remote = *Address::Parse("192.0.2.1");
  p.src = up ? local : remote;
  p.dst = up ? remote : local;
  p.src_port = up ? local_port : 443;
  p.dst_port = up ? 443 : local_port;
  p.tcp_seq = seq;
  p.payload_len = len;
  p.tcp_flags = flags;
  p.tcp_window = window;
  return p;
}

LocalNetworks Local() { return LocalNetworks({*Cidr::Parse("10.0.0.0/24")}); }

// Local port 40000 opens a connection to 192.0.2.1:443 (SYN at 0.1 s, SYN-ACK at 0.15 s, ACK at
// 0.2 s) and receives its first 1448-byte segment (seq 501) at 0.3 s.
void Handshake(Binner* b) {
  b->OnPacket(kT0 + 100'000'000, 60, Tcp(true, 40000, 1, 0, kTcpSyn));
  b->OnPacket(kT0 + 150'000'000, 60, Tcp(false, 40000, 500, 0, kTcpSyn | kTcpAck));
  b->OnPacket(kT0 + 200'000'000, 52, Tcp(true, 40000, 2, 0, kTcpAck));
  b->OnPacket(kT0 + 300'000'000, 1500, Tcp(false, 40000, 501, 1448, kTcpAck));
}

TEST(BinnerTest, BinsPerFlowAndDirectionWithIdleZeros) {
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  Handshake(&b);  // and a first segment, by 0.3 s
  b.OnPacket(kT0 + 2 * kSec + 1, 1500, Tcp(false, 40000, 1949, 1448, kTcpAck));
  b.Finish();
  ASSERT_EQ(sink.bins.size(), 3u);  // bins 0, 1 (empty but flow still open), 2
  EXPECT_EQ(sink.bins[0].start, kT0);
  const FlowBin& f0 = sink.bins[0].flows.at(0);
  EXPECT_EQ(f0.info.local().ToString(), "10.0.0.2");
  EXPECT_EQ(f0.info.remote_port(), 443);
  EXPECT_TRUE(f0.info.local_initiated);
  EXPECT_EQ(f0.dir[kDown].payload_bytes, 1448u);
  EXPECT_EQ(f0.dir[kDown].wire_bytes, 60u + 1500u);
  EXPECT_EQ(f0.dir[kUp].packets, 2u);
  EXPECT_NEAR(f0.handshake_rtt_s, 0.1, 1e-9);  // SYN at .1, handshake ACK at .2
  EXPECT_EQ(sink.bins[1].flows.at(0).dir[kDown].packets, 0u);
  EXPECT_EQ(sink.bins[2].flows.at(0).dir[kDown].payload_bytes, 1448u);
  EXPECT_EQ(sink.bins[0].link.dir[kDown].wire_bytes, 1560u);
  EXPECT_EQ(sink.bins[0].link.first_ns[kDown], kT0 + 150'000'000);
  ASSERT_EQ(sink.ended.size(), 1u);
  EXPECT_EQ(sink.ended[0].second.dir[kDown].payload_bytes, 2896u);
}

TEST(BinnerTest, RetransmissionsAndZeroWindow) {
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  b.OnPacket(kT0, 1500, Tcp(false, 40000, 1000, 1448, kTcpAck));
  b.OnPacket(kT0 + 1, 1500, Tcp(false, 40000, 2448, 1448, kTcpAck));
  const BinnedPacket bp = b.OnPacket(kT0 + 2, 1500, Tcp(false, 40000, 1000, 1448, kTcpAck));
  ASSERT_NE(bp.info, nullptr);
  EXPECT_EQ(bp.info->local_port(), 40000);
  EXPECT_EQ(bp.dir, kDown);
  EXPECT_EQ(bp.retrans_bytes, 1448u);  // a retransmission
  b.OnPacket(kT0 + 3, 52, Tcp(true, 40000, 1, 0, kTcpAck, /*window=*/0));
  b.Finish();
  const FlowBin& f = sink.bins.at(0).flows.at(0);
  EXPECT_EQ(f.dir[kDown].retrans_bytes, 1448u);
  EXPECT_TRUE(f.dir[kDown].zero_window);  // local receiver closed its window on the download
  EXPECT_FALSE(f.dir[kUp].zero_window);
  EXPECT_EQ(sink.bins.at(0).link.dir[kDown].retrans_bytes, 1448u);
}

TEST(BinnerTest, RttInFlightAndScaledWindow) {
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  // An upload from the office with timestamps and window scaling.
  DecodedPacket syn = Tcp(true, 40000, 999, 0, kTcpSyn);
  syn.tcp_wscale = 7;
  b.OnPacket(kT0, 74, syn);
  DecodedPacket synack = Tcp(false, 40000, 5000, 0, kTcpSyn | kTcpAck);
  synack.tcp_wscale = 2;
  synack.tcp_ack = 1000;
  b.OnPacket(kT0 + 20'000'000, 74, synack);
  for (uint32_t i = 0; i < 10; ++i) {
    DecodedPacket data = Tcp(true, 40000, 1000 + i * 1000, 1000, kTcpAck);
    data.tcp_has_ts = true;
    data.tcp_ts_val = 100 + i;
    b.OnPacket(kT0 + 30'000'000 + i * 1'000'000, 1066, data);
  }
  DecodedPacket ack = Tcp(false, 40000, 5001, 0, kTcpAck, /*window=*/1000);
  ack.tcp_ack = 1000 + 4 * 1000;
  ack.tcp_has_ts = true;
  ack.tcp_ts_ecr = 100;
  b.OnPacket(kT0 + 80'000'000, 66, ack);
  b.Finish();
  const FlowBin& f = sink.bins.at(0).flows.at(0);
  EXPECT_EQ(f.rtt.samples, 1u);
  EXPECT_NEAR(f.rtt.max_s, 0.050, 1e-6);         // TSval 100 left at 30 ms, echoed at 80 ms
  EXPECT_EQ(f.dir[kUp].in_flight_max, 10'000u);  // ten segments out before the first ACK
  EXPECT_EQ(f.dir[kUp].rwnd_min, 1000u << 2);    // the remote's window, scaled by its shift
}

// A download of `n` 1448-byte segments from seq `seq`, one every `gap_ns` from `t_ns`.
uint32_t Segments(Binner* b, int64_t t_ns, int n, int64_t gap_ns, uint32_t seq) {
  for (int i = 0; i < n; ++i, seq += 1448) {
    b->OnPacket(t_ns + i * gap_ns, 1500, Tcp(false, 40000, seq, 1448, kTcpAck));
  }
  return seq;
}

TEST(BinnerBusyTest, APauseBetweenBurstsIsNotBusy) {
  // Two bursts of 100 segments 1 ms apart, 0.7 s between them (a player waiting): busy 2 x 99
  // ms, carrying the 198 segments that ended a gap; the first of each burst ended a pause.
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  const uint32_t seq = Segments(&b, kT0, 100, 1'000'000, 1000);
  Segments(&b, kT0 + 800'000'000, 100, 1'000'000, seq);
  b.Finish();
  const FlowBin& f = sink.bins.at(0).flows.at(0);
  EXPECT_EQ(f.busy[kDown].us, 198'000u);
  EXPECT_EQ(f.busy[kDown].bytes, 198u * 1448);
  EXPECT_EQ(f.busy[kUp].us, 0u);
}

TEST(BinnerBusyTest, SegmentsOfOneMicrosecondCountAsPartOfTheBurst) {
  // A capture's clock ticks in microseconds: a burst's segments may share one. Their bytes
  // belong to the burst under way; only the gaps between ticks are time.
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  uint32_t seq = Segments(&b, kT0, 1, 0, 1000);
  for (int tick = 1; tick <= 10; ++tick) seq = Segments(&b, kT0 + tick * 1000, 2, 0, seq);
  b.Finish();
  EXPECT_EQ(sink.bins.at(0).flows.at(0).busy[kDown].us, 10u);
  EXPECT_EQ(sink.bins.at(0).flows.at(0).busy[kDown].bytes, 20u * 1448);
}

TEST(BinnerBusyTest, ASlowSendersGapsBecomeItsTypicalGap) {
  // A sender held to 40 kbit/s: a segment every 0.3 s, longer than the least pause. The first
  // gap is a pause; after it the gaps are typical and the sender is busy the whole time.
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  Segments(&b, kT0, 20, 300'000'000, 1000);  // 0 .. 5.7 s
  b.Finish();
  EXPECT_EQ(sink.bins.at(0).flows.at(0).busy[kDown].us, 600'000u);  // gaps ending at .6 and .9
  for (int bin = 1; bin <= 4; ++bin) {
    const BusyBin& busy = sink.bins.at(size_t(bin)).flows.at(0).busy[kDown];
    EXPECT_EQ(busy.us, 300'000u * busy.bytes / 1448) << "bin " << bin;
    EXPECT_GE(busy.bytes, 3u * 1448) << "bin " << bin;
  }
}

TEST(BinnerBusyTest, AGapEndingInARetransmissionIsBusy) {
  // A sender waiting 1.5 s for a lost segment (a retransmission timeout) was held by the
  // network, not idle.
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  Segments(&b, kT0, 10, 1'000'000, 1000);
  Segments(&b, kT0 + 1'509'000'000, 1, 0, 1000);  // seq 1000 again
  b.Finish();
  EXPECT_EQ(sink.bins.at(0).flows.at(0).busy[kDown].us, 9'000u);
  EXPECT_EQ(sink.bins.at(1).flows.at(0).busy[kDown].us, 1'500'000u);
}

TEST(BinnerTest, ClosedAndIdleFlowsLeaveTheTable) {
  RecordingSink sink;
  BinnerParams p;
  p.idle_timeout_ns = 5 * kSec;
  Binner b(p, Local(), &sink);
  b.OnPacket(kT0, 60, Tcp(true, 1, 1, 0, kTcpSyn));            // goes idle
  b.OnPacket(kT0, 60, Tcp(true, 2, 1, 0, kTcpFin | kTcpAck));  // closes
  b.OnPacket(kT0 + 4 * kSec, 60, Tcp(true, 3, 1, 0, kTcpSyn));
  ASSERT_EQ(sink.ended.size(), 1u);
  EXPECT_EQ(sink.ended[0].first.local_port(), 2);
  EXPECT_TRUE(sink.ended[0].second.closed);
  EXPECT_EQ(sink.ended[0].second.end, FlowEnd::kClosed);
  b.OnPacket(kT0 + 7 * kSec, 60, Tcp(true, 3, 2, 0, kTcpAck));
  ASSERT_EQ(sink.ended.size(), 2u);
  EXPECT_EQ(sink.ended[1].first.local_port(), 1);
  EXPECT_EQ(sink.ended[1].second.end, FlowEnd::kIdle);
  EXPECT_EQ(b.active_flows(), 1u);
}

// Flows ended together reach the sink in order of id, whatever the table's order, and a
// caller's ids (a packet's position in a split input) replace the count.
TEST(BinnerTest, FlowEndsComeInOrderOfIdAndCallersIdsAreUsed) {
  RecordingSink sink;
  BinnerParams p;
  p.idle_timeout_ns = 5 * kSec;
  Binner b(p, Local(), &sink);
  const uint64_t ids[] = {30, 10, 40, 20};
  for (uint16_t i = 0; i < 4; ++i) {
    b.OnPacket(kT0 + i, 60, Tcp(true, uint16_t(100 + i), 1, 0, kTcpSyn), ids[i]);
  }
  b.OnPacket(kT0 + 4, 60, Tcp(true, 100, 2, 0, kTcpAck), 99);  // not new: keeps id 30
  b.OnPacket(kT0 + 5, 60, Tcp(true, 104, 1, 0, kTcpSyn));      // no id given: the count, 5
  b.OnPacket(kT0 + 7 * kSec, 60, Tcp(true, 105, 1, 0, kTcpSyn), 77);
  ASSERT_EQ(sink.ended.size(), 5u);
  const uint64_t want[] = {5, 10, 20, 30, 40};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(sink.ended[i].first.id, want[i]) << i;
  EXPECT_EQ(sink.ended[3].first.local_port(), 100);
  EXPECT_EQ(sink.ended[3].second.dir[kUp].packets, 2u);
  b.Finish();
  ASSERT_EQ(sink.ended.size(), 6u);
  EXPECT_EQ(sink.ended[5].first.id, 77u);
}

TEST(BinnerTest, LookupFindsTheFlowWithoutCountingThePacket) {
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  EXPECT_EQ(b.Lookup(Tcp(true, 40000, 1, 0, kTcpSyn)).info, nullptr);  // not in the table yet
  const BinnedPacket first = b.OnPacket(kT0, 60, Tcp(true, 40000, 1, 0, kTcpSyn));
  ASSERT_NE(first.info, nullptr);
  const BinnedPacket seen = b.Lookup(Tcp(false, 40000, 500, 517, kTcpAck));
  ASSERT_NE(seen.info, nullptr);
  EXPECT_EQ(seen.info->id, first.info->id);
  EXPECT_EQ(seen.dir, kDown);
  EXPECT_EQ(b.Lookup(Tcp(true, 40001, 1, 0, kTcpSyn)).info, nullptr);  // another flow
  b.Finish();
  ASSERT_EQ(sink.bins.size(), 1u);
  ASSERT_EQ(sink.bins[0].flows.size(), 1u);
  EXPECT_EQ(sink.bins[0].flows[0].dir[kUp].packets, 1u);  // looked-up packets are not counted
  EXPECT_EQ(sink.bins[0].flows[0].dir[kDown].packets, 0u);
  EXPECT_EQ(b.stats().packets, 1u);
}

TEST(BinnerTest, NonLocalTrafficIsCountedNotBinned) {
  RecordingSink sink;
  Binner b({}, LocalNetworks({*Cidr::Parse("172.16.0.0/12")}), &sink);
  EXPECT_EQ(b.OnPacket(kT0, 60, Tcp(true, 1, 1, 0, kTcpSyn)).info, nullptr);
  b.Finish();
  EXPECT_EQ(b.stats().not_local, 1u);
  EXPECT_TRUE(sink.bins.empty());
}

TEST(BinnerTest, FullTableEvictsSmallFlowsAndKeepsTheBusyOne) {
  RecordingSink sink;
  BinnerParams p;
  p.max_flows = 16;
  Binner b(p, Local(), &sink);
  for (int i = 0; i < 200; ++i) b.OnPacket(kT0, 1500, Tcp(false, 9, uint32_t(i) * 1448, 1448, 0));
  for (uint16_t port = 100; port < 1100; ++port) {
    b.OnPacket(kT0 + 1, 60, Tcp(true, port, 1, 0, kTcpSyn));
  }
  EXPECT_EQ(b.active_flows(), 16u);
  EXPECT_EQ(b.stats().flows_evicted, 1000u - 15u);
  b.Finish();
  bool busy_evicted = false;
  for (const auto& [info, totals] : sink.ended) {
    if (info.local_port() == 9) busy_evicted = totals.end == FlowEnd::kEvicted;
  }
  EXPECT_FALSE(busy_evicted);
}

TEST(BinnerTest, TimestampJumpDoesNotEmitMillionsOfBins) {
  RecordingSink sink;
  BinnerParams p;
  p.max_empty_bins = 10;
  Binner b(p, Local(), &sink);
  b.OnPacket(kT0, 60, Tcp(true, 1, 1, 0, kTcpSyn));
  b.OnPacket(kT0 + 400LL * 86400 * kSec, 60, Tcp(true, 1, 2, 0, kTcpAck));  // a year later
  b.OnPacket(kT0 + 1, 60, Tcp(true, 1, 3, 0, kTcpAck));                     // and back again
  b.Finish();
  EXPECT_LE(sink.bins.size(), 13u);
  EXPECT_EQ(b.stats().gaps_skipped, 1u);
  EXPECT_EQ(b.stats().time_backwards, 1u);
}

// Live capture on a silent link: the wall clock closes bins that no packet would close, so an
// outage shows up as empty bins while it lasts, not when the next packet arrives.
TEST(BinnerTest, AdvanceClockClosesBinsWithoutPackets) {
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  b.OnPacket(kT0 + 100'000'000, 1500, Tcp(false, 40000, 1, 1448, kTcpAck));
  b.AdvanceClock(kT0 + 900'000'000);  // still inside the first bin
  EXPECT_TRUE(sink.bins.empty());
  b.AdvanceClock(kT0 + 3 * kSec + 1);  // bins 0, 1, 2 are over
  ASSERT_EQ(sink.bins.size(), 3u);
  EXPECT_EQ(sink.bins[0].link.dir[kDown].wire_bytes, 1500u);
  EXPECT_EQ(sink.bins[1].link.dir[kDown].packets, 0u);
  EXPECT_EQ(sink.bins[2].start, kT0 + 2 * kSec);
  // A packet that was still in the capture ring lands in the open bin.
  b.OnPacket(kT0 + 2 * kSec + 500'000'000, 1500, Tcp(false, 40000, 1449, 1448, kTcpAck));
  EXPECT_EQ(b.stats().time_backwards, 1u);
  b.Finish();
  ASSERT_EQ(sink.bins.size(), 4u);
  EXPECT_EQ(sink.bins[3].start, kT0 + 3 * kSec);
  EXPECT_EQ(sink.bins[3].link.dir[kDown].wire_bytes, 1500u);
}

TEST(BinnerTest, AdvanceClockStartsTheFirstBin) {
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  b.AdvanceClock(kT0 + 200'000'000);
  b.AdvanceClock(kT0 + 2 * kSec);
  ASSERT_EQ(sink.bins.size(), 2u);
  EXPECT_EQ(sink.bins[0].start, kT0);
}

DecodedPacket Udp(bool up, const char* remote, uint16_t remote_port, uint32_t len) {
  DecodedPacket p;
  p.ip_version = 4;
  p.ip_proto = kIpProtoUdp;
  const Address local = *Address::Parse("10.0.0.2"), far = *Address::Parse(remote);
  p.src = up ? local : far;
  p.dst = up ? far : local;
  p.src_port = up ? 50000 : remote_port;
  p.dst_port = up ? remote_port : 50000;
  p.payload_len = len;
  return p;
}

TEST(BinnerBusyTest, AUdpSendersPausesAreNotBusyEither) {
  // A QUIC player's fetches: two bursts of 100 datagrams 1 ms apart, 0.7 s between them. UDP
  // shows no RTT, so a pause is a gap over 200 ms and over four typical gaps.
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  for (int burst = 0; burst < 2; ++burst) {
    for (int i = 0; i < 100; ++i) {
      b.OnPacket(kT0 + burst * 800'000'000 + i * 1'000'000, 1392,
                 Udp(false, "192.0.2.9", 443, 1350));
    }
  }
  b.Finish();
  const FlowBin& f = sink.bins.at(0).flows.at(0);
  EXPECT_EQ(f.busy[kDown].us, 198'000u);
  EXPECT_EQ(f.busy[kDown].bytes, 198u * 1350);
  EXPECT_EQ(f.busy[kUp].us, 0u);
}

// The demand of the only flow at the end of the last bin.
Demand LastDemand(const RecordingSink& sink) { return sink.bins.back().flows.at(0).demand; }

TEST(BinnerDemandTest, UnansweredSynsAskAndTheirRepeatsAreRetries) {
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  b.OnPacket(kT0 + 100'000'000, 60, Tcp(true, 40000, 1, 0, kTcpSyn));
  b.OnPacket(kT0 + 1'100'000'000, 60, Tcp(true, 40000, 1, 0, kTcpSyn));
  b.OnPacket(kT0 + 2 * kSec + 1, 60, Tcp(true, 40000, 1, 0, kTcpSyn));
  b.AdvanceClock(kT0 + 3 * kSec);
  const Demand d = LastDemand(sink);
  EXPECT_EQ(d.since_ns, kT0 + 100'000'000);
  EXPECT_EQ(d.last_ask_ns, kT0 + 2 * kSec + 1);
  EXPECT_EQ(d.asks, 3u);
  EXPECT_TRUE(d.retried);
  EXPECT_EQ(d.rto_s, 1.0f);  // no RTT sample yet: RFC 6298's initial 1 s
}

TEST(BinnerDemandTest, AnyAnswerClearsTheDemandAndPureAcksNeverAsk) {
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  Handshake(&b);  // and a first segment, by 0.3 s
  b.OnPacket(kT0 + 400'000'000, 52, Tcp(true, 40000, 2, 0, kTcpAck));  // an ACK: no ask
  b.AdvanceClock(kT0 + kSec);
  EXPECT_EQ(LastDemand(sink).since_ns, 0);
  // Data goes out, is retransmitted, and nothing comes back: the peer answered before.
  b.OnPacket(kT0 + 1'100'000'000, 600, Tcp(true, 40000, 2, 500, kTcpAck | kTcpPsh));
  b.AdvanceClock(kT0 + 2 * kSec);
  EXPECT_FALSE(LastDemand(sink).retried);
  b.OnPacket(kT0 + 2'100'000'000, 600, Tcp(true, 40000, 2, 500, kTcpAck | kTcpPsh));
  b.AdvanceClock(kT0 + 3 * kSec);
  Demand d = LastDemand(sink);
  EXPECT_EQ(d.since_ns, kT0 + 1'100'000'000);
  EXPECT_TRUE(d.retried);
  EXPECT_NEAR(d.rto_s, 1.0, 1e-6);  // 50 ms handshake: SRTT + 4 RTTVAR < 1 s, so 1 s
  b.OnPacket(kT0 + 3'100'000'000, 52, Tcp(false, 40000, 1949, 0, kTcpAck));
  b.AdvanceClock(kT0 + 4 * kSec);
  d = LastDemand(sink);
  EXPECT_EQ(d.since_ns, 0);
  EXPECT_EQ(d.asks, 0u);
}

TEST(BinnerDemandTest, MulticastAndLinkLocalNeverAsk) {
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  for (int i = 0; i < 5; ++i) {
    b.OnPacket(kT0 + i * 300'000'000, 200, Udp(true, "239.255.255.250", 1900, 150));  // SSDP
    b.OnPacket(kT0 + i * 300'000'000, 200, Udp(true, "224.0.0.251", 5353, 150));      // mDNS
    b.OnPacket(kT0 + i * 300'000'000, 200, Udp(true, "169.254.3.3", kDnsPort, 40));
  }
  b.AdvanceClock(kT0 + 2 * kSec);
  for (const FlowBin& f : sink.bins.back().flows) EXPECT_EQ(f.demand.since_ns, 0);
}

TEST(BinnerDemandTest, DnsQueriesAskAndTheirRepeatsAreRetries) {
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  b.OnPacket(kT0 + 100'000'000, 80, Udp(true, "9.9.9.9", kDnsPort, 40));
  b.OnPacket(kT0 + 150'000'000, 80, Udp(true, "9.9.9.9", kDnsPort, 40));  // too soon: no retry
  b.AdvanceClock(kT0 + kSec);
  EXPECT_FALSE(LastDemand(sink).retried);
  b.OnPacket(kT0 + 5'100'000'000, 80, Udp(true, "9.9.9.9", kDnsPort, 40));
  b.AdvanceClock(kT0 + 6 * kSec);
  EXPECT_TRUE(LastDemand(sink).retried);
  EXPECT_EQ(LastDemand(sink).asks, 3u);
}

TEST(BinnerDemandTest, DatagramsRightAfterAnAnswerAreRepliesNotAsks) {
  // A QUIC client acknowledges what it receives: its ACK-only datagrams follow the server's
  // within a delayed-ACK time. A datagram long after the server fell quiet asks again.
  RecordingSink sink;
  Binner b({}, Local(), &sink);
  b.OnPacket(kT0 + 100'000'000, 1400, Udp(false, "192.0.2.9", 443, 1350));
  b.OnPacket(kT0 + 110'000'000, 80, Udp(true, "192.0.2.9", 443, 40));
  b.OnPacket(kT0 + 400'000'000, 80, Udp(true, "192.0.2.9", 443, 40));
  b.AdvanceClock(kT0 + kSec);
  EXPECT_EQ(LastDemand(sink).since_ns, 0);
  b.OnPacket(kT0 + 1'500'000'000, 80, Udp(true, "192.0.2.9", 443, 40));
  b.AdvanceClock(kT0 + 2 * kSec);
  EXPECT_EQ(LastDemand(sink).since_ns, kT0 + 1'500'000'000);
}

}  // namespace
}  // namespace tw::capture
