#include "detector/core/flow_verdict.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "capture/anonymizer.h"
#include "capture/community_id.h"
#include "capture/ip_proto.h"
#include "capture/tunnel.h"
#include "detector/outputs/flow_verdict_json.h"
#include "test/support/policed_sender.h"
#include "test/support/schema_lines.h"
#include "test/support/token_bucket_limiter.h"

namespace tw::detector {
namespace {

using capture::BinnedPacket;
using capture::DecodedPacket;

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

capture::FlowInfo Info(uint64_t id) {
  capture::FlowInfo info;
  info.id = id;
  info.key.proto = capture::kIpProtoTcp;
  info.key.port_a = 40000;
  info.key.port_b = 443;
  info.local_is_a = true;
  return info;
}

DecodedPacket Data(uint32_t seq, uint32_t len) {
  DecodedPacket p;
  p.ip_proto = capture::kIpProtoTcp;
  p.tcp_seq = seq;
  p.payload_len = len;
  p.tcp_flags = capture::kTcpAck;
  return p;
}

int64_t Ns(double s) { return kT0 + int64_t(s * 1e9); }

TEST(FlowVerdictTest, PolicedAtTheSenderFromRetransmissions) {
  testing::PolicedSenderSpec spec;  // 2 Mbit/s, 50 kB bucket
  const capture::FlowInfo info = Info(1);
  FlowVerdictTracker tracker;
  for (const auto& x : testing::PolicedSender(spec)) {
    // Captured before the policer: every transmission is seen, drops show as resends later.
    tracker.OnPacket(Ns(x.t), x.wire, Data(x.seq, x.payload), BinnedPacket{&info, capture::kUp, 0});
  }
  const auto v = tracker.Finish();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].kind, VerdictKind::kPoliced) << stats::BucketFitName(v[0].fit.result);
  EXPECT_FALSE(v[0].receiver_vantage);
  EXPECT_EQ(v[0].dir, capture::kUp);
  EXPECT_NEAR(v[0].rate_bps, spec.rate_Bps * 8, 0.05 * spec.rate_Bps * 8);
  EXPECT_NEAR(v[0].burst_bytes, spec.bucket_bytes, 0.2 * spec.bucket_bytes);
  EXPECT_GT(v[0].retrans_rate, 0.05);
  EXPECT_NEAR(v[0].limited_since, double(Ns(0)) * 1e-9, spec.on_s);
}

TEST(FlowVerdictTest, SegmentsTheSendersCaptureMissedAreNoLosses) {
  // Captured at the sender, but the capture drops one segment in ten of those that passed the
  // policer (a busy capture host): the sequence holes are the capture's, not the network's.
  testing::PolicedSenderSpec spec;
  const capture::FlowInfo info = Info(5);
  FlowVerdictTracker tracker;
  int n = 0;
  for (const auto& x : testing::PolicedSender(spec)) {
    if (!x.dropped && ++n % 10 == 0) continue;
    tracker.OnPacket(Ns(x.t), x.wire, Data(x.seq, x.payload), BinnedPacket{&info, capture::kUp, 0});
  }
  const auto v = tracker.Finish();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].receiver_vantage);
  EXPECT_EQ(v[0].kind, VerdictKind::kPoliced) << stats::BucketFitName(v[0].fit.result);
  EXPECT_NEAR(v[0].rate_bps, spec.rate_Bps * 8, 0.05 * spec.rate_Bps * 8);
}

// A chunked upload captured at the sender, with the receiver's ACKs: every 0.6 s a chunk starts
// with 16 segments back to back at 1 Gbit/s, then 1.5 times the limiter's rate for 0.2 s; the
// segments lost are resent at half the rate from 0.3 s into the chunk. The receiver acknowledges
// each segment as it arrives (cumulatively); data and ACKs are fed in capture order.
std::vector<FlowVerdict> ChunkedUploadThroughALimiter(double rate_Bps, double bucket,
                                                      int queue_packets) {
  const uint32_t mss = 1448, wire = 1514;
  const double rtt = 0.1, line_gap = wire / 125e6;
  testing::TokenBucketLimiter limiter(rate_Bps, bucket, queue_packets);
  struct Pkt {
    double t;
    bool ack;
    uint32_t seq;  // data: its first byte; ACK: the next byte expected
  };
  std::vector<Pkt> pkts;
  std::vector<std::pair<double, uint32_t>> arrivals;
  uint32_t next = 1;
  const auto send = [&](double t, uint32_t seq) {
    pkts.push_back({t, false, seq});
    const double leave = limiter.Offer(t, wire);
    if (leave >= 0) arrivals.push_back({leave + rtt / 2, seq});
    return leave >= 0;
  };
  for (double on = 0; on < 40; on += 0.6) {
    std::vector<uint32_t> lost;
    const auto fresh = [&](double t) {
      if (!send(t, next)) lost.push_back(next);
      next += mss;
    };
    for (int k = 0; k < 16; ++k) fresh(on + k * line_gap);
    for (double t = on + 16 * line_gap; t < on + 0.2; t += wire / (1.5 * rate_Bps)) fresh(t);
    double t = on + 0.3;
    for (uint32_t seq : lost) {
      send(t, seq);
      t += wire / (0.5 * rate_Bps);
    }
  }
  std::sort(arrivals.begin(), arrivals.end());
  std::set<uint32_t> ahead;  // arrived beyond a hole
  uint32_t expected = 1;
  for (const auto& [t, seq] : arrivals) {
    ahead.insert(seq);
    while (!ahead.empty() && *ahead.begin() == expected) {
      ahead.erase(ahead.begin());
      expected += mss;
    }
    pkts.push_back({t + rtt / 2, true, expected});
  }
  std::stable_sort(pkts.begin(), pkts.end(), [](const Pkt& a, const Pkt& b) { return a.t < b.t; });
  const capture::FlowInfo info = Info(9);
  FlowVerdictTracker tracker;
  for (const Pkt& x : pkts) {
    if (x.ack) {
      DecodedPacket p;
      p.ip_proto = capture::kIpProtoTcp;
      p.tcp_flags = capture::kTcpAck;
      p.tcp_ack = x.seq;
      tracker.OnPacket(Ns(x.t), 66, p, BinnedPacket{&info, capture::kDown, 0});
    } else {
      tracker.OnPacket(Ns(x.t), wire, Data(x.seq, mss), BinnedPacket{&info, capture::kUp, 0});
    }
  }
  return tracker.Finish();
}

TEST(FlowVerdictTest, AShapersSmallQueueSeenInItsAcksIsNoPolicer) {
  // 10 Mbit/s, an 8 kB bucket, a queue of six packets: bursts lose their tails, no RTT sample
  // shows the queue, but the ACKs of the passes before each loss come at the shaper's rate.
  const auto v = ChunkedUploadThroughALimiter(1'250'000, 8000, 6);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].receiver_vantage);
  EXPECT_GE(v[0].fit.losses, 15);
  EXPECT_NE(v[0].kind, VerdictKind::kPoliced);
  EXPECT_EQ(v[0].fit.result, stats::BucketFit::kQueueAtRate)
      << stats::BucketFitName(v[0].fit.result);
}

TEST(FlowVerdictTest, APolicersPassesAcknowledgedAsTheyCameArePoliced) {
  const auto v = ChunkedUploadThroughALimiter(1'250'000, 16'000, 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].kind, VerdictKind::kPoliced) << stats::BucketFitName(v[0].fit.result);
  EXPECT_NEAR(v[0].rate_bps, 10e6, 0.1 * 10e6);
  EXPECT_GE(v[0].fit.queue_checked, 2);
  EXPECT_EQ(v[0].fit.queued_share, 0);
}

TEST(FlowVerdictTest, PolicedAtTheReceiverFromSequenceHoles) {
  testing::PolicedSenderSpec spec;
  spec.rate_Bps = 125'000;  // 1 Mbit/s
  spec.offered_Bps = 200'000;
  const capture::FlowInfo info = Info(2);
  FlowVerdictTracker tracker;
  for (const auto& x : testing::PolicedSender(spec)) {
    if (x.dropped) continue;  // captured after the policer: drops are never seen
    tracker.OnPacket(Ns(x.t + 0.02), x.wire, Data(x.seq, x.payload),
                     BinnedPacket{&info, capture::kDown, 0});
  }
  const auto v = tracker.Finish();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].receiver_vantage);
  EXPECT_EQ(v[0].kind, VerdictKind::kPoliced) << stats::BucketFitName(v[0].fit.result);
  EXPECT_NEAR(v[0].rate_bps, spec.rate_Bps * 8, 0.05 * spec.rate_Bps * 8);
}

TEST(FlowVerdictTest, AtTheReceiverBehindASlowerLinkThePolicersRateIsFound) {
  // A download in bursts of six new segments every 12 ms (6 Mbit/s offered) through a policer of
  // 3 Mbit/s and 8 kB, then a 20 Mbit/s link, captured at the receiver; lost segments are resent
  // in the next burst, before or after its new ones in turn. The link spaces the arrivals, so at
  // any rate above it a bucket of a packet or two would let every pass through and be short right
  // after each: the rate reported must be the policer's. Beside it, a 1 Mbit/s download from the
  // same server that no policer touches, with four segments arriving twice (spurious resends): it
  // is no policed flow, and not part of a shared bucket.
  const uint32_t mss = 1448, wire = 1514;
  const double link_gap = wire / 2.5e6;
  testing::TokenBucketLimiter policer(375'000, 8000, 0);
  struct Arrival {
    double t;
    int flow;
    uint32_t seq;
  };
  std::vector<Arrival> arrivals;
  double link_free = 0;
  uint32_t next = 1;
  std::vector<uint32_t> resend;
  int round = 0;
  for (double t = 0; t < 40; t += 0.012, ++round) {
    // New data first in every other burst, the resends first in the others.
    std::vector<uint32_t> burst;
    if (round % 2 == 1) burst.swap(resend);
    while (burst.size() < 6) {
      burst.push_back(next);
      next += mss;
    }
    burst.insert(burst.end(), resend.begin(), resend.end());
    resend.clear();
    for (size_t k = 0; k < burst.size(); ++k) {
      const double at = t + double(k) * wire / 125e6;
      if (policer.Offer(at, wire) < 0) {
        resend.push_back(burst[k]);
        continue;
      }
      link_free = std::max(link_free, at) + link_gap;
      arrivals.push_back({link_free, 1, burst[k]});
    }
  }
  for (int k = 0; k < 3300; ++k) {
    arrivals.push_back({0.006 + k * 0.012, 2, 1 + uint32_t(k) * mss});
    if (k % 800 == 400) arrivals.push_back({0.007 + k * 0.012, 2, 1 + uint32_t(k) * mss});
  }
  std::stable_sort(arrivals.begin(), arrivals.end(),
                   [](const Arrival& a, const Arrival& b) { return a.t < b.t; });
  const capture::FlowInfo policed = Info(11), free = Info(12);
  VerdictParams params;
  params.bucket.default_rtt_s = 0.002;  // a 2 ms path (these packets carry no timestamps)
  FlowVerdictTracker tracker(params);
  for (const Arrival& a : arrivals) {
    tracker.OnPacket(Ns(a.t), wire, Data(a.seq, mss),
                     BinnedPacket{a.flow == 1 ? &policed : &free, capture::kDown, 0});
  }
  const auto v = tracker.Finish();
  ASSERT_EQ(v.size(), 2u);
  for (const FlowVerdict& f : v) {
    if (f.info.id == policed.id) {
      EXPECT_TRUE(f.receiver_vantage);
      EXPECT_EQ(f.kind, VerdictKind::kPoliced) << stats::BucketFitName(f.fit.result);
      EXPECT_EQ(f.scope, EventScope::kFlow);
      EXPECT_NEAR(f.rate_bps, 3e6, 0.1 * 3e6);
    } else {
      EXPECT_FALSE(f.receiver_vantage);  // its own counts: resends, no holes
      EXPECT_NE(f.kind, VerdictKind::kPoliced) << stats::BucketFitName(f.host_fit.result);
    }
  }
}

TEST(FlowVerdictTest, FlowsSharingOnePolicerAreJudgedAsAService) {
  // One policer, two flows to the same remote host taking turns: each flow alone sees only
  // part of the tokens, their sum lines up with the bucket.
  testing::PolicedSenderSpec spec;
  const capture::FlowInfo a = Info(3), b = Info(4);
  FlowVerdictTracker tracker;
  for (const auto& x : testing::PolicedSender(spec)) {
    // Blocks of 7 segments alternate between the flows, each with its own sequence space.
    const uint32_t idx = (x.seq - 1) / spec.mss, block = idx / 7;
    const capture::FlowInfo& info = block % 2 == 0 ? a : b;
    const uint32_t seq = 1 + ((block / 2) * 7 + idx % 7) * spec.mss;
    tracker.OnPacket(Ns(x.t), x.wire, Data(seq, x.payload), BinnedPacket{&info, capture::kUp, 0});
  }
  const auto v = tracker.Finish();
  ASSERT_EQ(v.size(), 2u);
  for (const FlowVerdict& f : v) {
    EXPECT_EQ(f.kind, VerdictKind::kPoliced);
    EXPECT_EQ(f.scope, EventScope::kRemoteHost);
    EXPECT_EQ(f.host_flows, 2);
    EXPECT_NEAR(f.rate_bps, spec.rate_Bps * 8, 0.05 * spec.rate_Bps * 8);
  }
}

TEST(FlowVerdictTest, CleanTransferIsUnlimitedAndShortOneInsufficient) {
  const capture::FlowInfo big = Info(5), small = Info(6);
  FlowVerdictTracker tracker;
  for (int k = 0; k < 2000; ++k) {
    tracker.OnPacket(Ns(k * 0.001), 1514, Data(1 + uint32_t(k) * 1448, 1448),
                     BinnedPacket{&big, capture::kDown, 0});
  }
  for (int k = 0; k < 10; ++k) {
    tracker.OnPacket(Ns(k * 0.001), 1514, Data(1 + uint32_t(k) * 1448, 1448),
                     BinnedPacket{&small, capture::kDown, 0});
  }
  const auto v = tracker.Finish();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].kind, VerdictKind::kUnlimited);
  EXPECT_EQ(v[0].retrans_bytes, 0u);
  EXPECT_NEAR(v[0].goodput_bps, 2000 * 1448 * 8 / 1.999, 1e3);  // payload over first..last
  EXPECT_EQ(v[1].kind, VerdictKind::kInsufficientData);
}

// retrans_rate is the share of the bytes sent that were lost, never above 1. On a real capture
// (a client on WiFi, which missed a server segment of 1561 bytes between two it saw, of 69 and
// 63) it was missing / seen = 11.8; it is missing / (seen + missing).
TEST(FlowVerdictTest, RetransRateIsAFractionOfTheBytesSent) {
  const capture::FlowInfo holes = Info(7), resends = Info(8);
  FlowVerdictTracker tracker;
  tracker.OnPacket(Ns(0.188), 123, Data(313527934, 69), BinnedPacket{&holes, capture::kDown, 0});
  tracker.OnPacket(Ns(239.544), 117, Data(313527934 + 69 + 1561, 63),
                   BinnedPacket{&holes, capture::kDown, 0});
  // A sender that sends every segment twice: half of what it sent was lost.
  for (int k = 0; k < 100; ++k) {
    for (int copy = 0; copy < 2; ++copy) {
      tracker.OnPacket(Ns(k * 0.01 + copy * 0.005), 1514, Data(1 + uint32_t(k) * 1448, 1448),
                       BinnedPacket{&resends, capture::kUp, 0});
    }
  }
  const auto v = tracker.Finish();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].receiver_vantage);
  EXPECT_EQ(v[0].retrans_bytes, 1561u);
  EXPECT_EQ(v[0].payload_bytes, 132u);
  EXPECT_NEAR(v[0].retrans_rate, 1561.0 / (132 + 1561), 1e-9);
  EXPECT_FALSE(v[1].receiver_vantage);
  EXPECT_EQ(v[1].retrans_bytes, 100u * 1448);
  EXPECT_NEAR(v[1].retrans_rate, 0.5, 1e-9);
  for (const FlowVerdict& x : v) {
    EXPECT_GE(x.retrans_rate, 0.0);
    EXPECT_LE(x.retrans_rate, 1.0);
  }
}

// Timestamps going backwards within a flow (a capture's clock stepping back by a millisecond):
// the duration runs from the earliest data packet to the latest, never negative.
TEST(FlowVerdictTest, DurationIsNeverNegative) {
  const capture::FlowInfo info = Info(9);
  FlowVerdictTracker tracker;
  tracker.OnPacket(Ns(1.000), 1514, Data(1, 1448), BinnedPacket{&info, capture::kDown, 0});
  tracker.OnPacket(Ns(1.002), 1514, Data(1449, 1448), BinnedPacket{&info, capture::kDown, 0});
  tracker.OnPacket(Ns(0.999), 1514, Data(2897, 1448), BinnedPacket{&info, capture::kDown, 0});
  const auto v = tracker.Finish();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].first_ns, Ns(0.999));
  EXPECT_EQ(v[0].last_ns, Ns(1.002));
  const std::string json = FlowVerdictToJson(v[0]);
  testing::KeepLines(json);
  EXPECT_EQ(json.find("\"duration_s\":-"), std::string::npos) << json;
  EXPECT_NE(json.find("\"duration_s\":0.003"), std::string::npos) << json;
}

// OnFlowEnd frees what only live flows need (timestamps; whole traces of flows without data)
// and reuses it for new flows; the verdicts are those of a tracker never told.
TEST(FlowVerdictTest, FlowEndsFreeMemoryWithoutChangingVerdicts) {
  FlowVerdictTracker told, untold;
  const testing::PolicedSenderSpec spec;
  const auto sent = testing::PolicedSender(spec);
  uint64_t next_id = 1;
  // Three rounds: a policed transfer with timestamp echoes, and a handshake-only flow (a SYN
  // with a timestamp, never answered) that ends at once. Ids never repeat.
  for (int round = 0; round < 3; ++round) {
    const capture::FlowInfo data = Info(next_id++), syn = Info(next_id++);
    DecodedPacket s;
    s.ip_proto = capture::kIpProtoTcp;
    s.tcp_flags = capture::kTcpSyn;
    s.tcp_has_ts = true;
    s.tcp_ts_val = 77;
    for (FlowVerdictTracker* t : {&told, &untold}) {
      t->OnPacket(Ns(round * 100), 74, s, BinnedPacket{&syn, capture::kUp, 0});
    }
    told.OnFlowEnd(syn);
    uint32_t k = 0;
    for (const auto& x : sent) {
      DecodedPacket d = Data(x.seq, x.payload);
      d.tcp_has_ts = true;
      d.tcp_ts_val = 1000 + k;
      DecodedPacket ack;
      ack.ip_proto = capture::kIpProtoTcp;
      ack.tcp_flags = capture::kTcpAck;
      ack.tcp_has_ts = true;
      ack.tcp_ts_val = 9000 + k;
      ack.tcp_ts_ecr = 1000 + k;
      ++k;
      for (FlowVerdictTracker* t : {&told, &untold}) {
        t->OnPacket(Ns(round * 100 + x.t), x.wire, d, BinnedPacket{&data, capture::kUp, 0});
        t->OnPacket(Ns(round * 100 + x.t + spec.rtt_s), 66, ack,
                    BinnedPacket{&data, capture::kDown, 0});
      }
    }
    told.OnFlowEnd(data);
    told.OnFlowEnd(data);  // a second call, or one for a flow never seen, changes nothing
    told.OnFlowEnd(Info(999));
  }
  EXPECT_EQ(untold.flows(), 6u);
  EXPECT_EQ(told.flows(), 3u);  // the handshake-only flows are gone, their slots reused
  const auto a = told.Finish(), b = untold.Finish();
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(FlowVerdictToJson(a[i]), FlowVerdictToJson(b[i]));
    EXPECT_EQ(a[i].kind, VerdictKind::kPoliced);
    EXPECT_GT(a[i].rtt_median_s, 0);
  }
  EXPECT_EQ(a[0].info.id, 1u);
  EXPECT_EQ(a[2].info.id, 5u);
}

TEST(FlowVerdictTest, RttFromTimestampEchoes) {
  const capture::FlowInfo info = Info(7);
  FlowVerdictTracker tracker;
  for (int k = 0; k < 100; ++k) {
    DecodedPacket d = Data(1 + uint32_t(k) * 1448, 1448);
    d.tcp_has_ts = true;
    d.tcp_ts_val = 1000 + uint32_t(k);
    tracker.OnPacket(Ns(k * 0.01), 1514, d, BinnedPacket{&info, capture::kUp, 0});
    DecodedPacket ack;
    ack.ip_proto = capture::kIpProtoTcp;
    ack.tcp_flags = capture::kTcpAck;
    ack.tcp_has_ts = true;
    ack.tcp_ts_val = 5000 + uint32_t(k);
    ack.tcp_ts_ecr = 1000 + uint32_t(k);
    tracker.OnPacket(Ns(k * 0.01 + 0.08), 66, ack, BinnedPacket{&info, capture::kDown, 0});
  }
  const auto v = tracker.Finish();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NEAR(v[0].rtt_floor_s, 0.08, 1e-6);
  EXPECT_NEAR(v[0].rtt_median_s, 0.08, 1e-6);
  const std::string json = FlowVerdictToJson(v[0]);
  testing::KeepLines(json);
  EXPECT_NE(json.find("\"verdict\":\"unlimited\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"rtt_median_ms\":80.0"), std::string::npos) << json;
  EXPECT_NE(json.find("\"vantage\":\"sender\""), std::string::npos) << json;
}

// The flow line carries the flow's Community ID right after the flow object, computed over the
// addresses the line writes, so an anonymized line does not give away the real ones.
TEST(FlowVerdictTest, FlowLineCarriesTheCommunityIdOfTheAddressesItWrites) {
  capture::FlowInfo info = Info(3);
  // The specification's TCP baseline flow (community-id-spec, baseline_deflt.json).
  info.key.a = *capture::Address::Parse("66.35.250.204");
  info.key.b = *capture::Address::Parse("128.232.110.120");
  info.key.port_a = 80;
  info.key.port_b = 34855;
  FlowVerdictTracker tracker;
  tracker.OnPacket(Ns(1.0), 1514, Data(1, 1448), BinnedPacket{&info, capture::kDown, 0});
  const auto v = tracker.Finish();
  ASSERT_EQ(v.size(), 1u);
  const std::string json = FlowVerdictToJson(v[0]);
  testing::KeepLines(json);
  EXPECT_NE(
      json.find("\"remote_port\":34855},\"community_id\":\"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\","),
      std::string::npos)
      << json;

  std::array<uint8_t, capture::Anonymizer::kKeySize> key{};
  key[0] = 1;
  const capture::AddressFormatter anonymized(std::make_shared<capture::Anonymizer>(key));
  const std::string anon = FlowVerdictToJson(v[0], anonymized);
  testing::KeepLines(anon);
  EXPECT_EQ(anon.find("LQU9qZlK"), std::string::npos) << anon;
  const std::string want = capture::CommunityId(
      anonymized.Map(info.key.a), anonymized.Map(info.key.b), 80, 34855, capture::kIpProtoTcp);
  EXPECT_NE(anon.find("\"community_id\":\"" + want + "\""), std::string::npos) << anon;
}

// A flow that came through tunnels names them in its flow object; one that did not has no
// such field.
TEST(FlowVerdictTest, FlowLineNamesTheFlowsTunnels) {
  capture::FlowInfo info = Info(4);
  ASSERT_TRUE(info.tunnels.Push(capture::Tunnel::kVxlan));
  FlowVerdictTracker tracker;
  tracker.OnPacket(Ns(1.0), 1514, Data(1, 1448), BinnedPacket{&info, capture::kDown, 0});
  auto v = tracker.Finish();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(FlowVerdictToJson(v[0]).find(",\"tunnel\":\"vxlan\"},"), std::string::npos)
      << FlowVerdictToJson(v[0]);
  v[0].info.tunnels = {};
  EXPECT_EQ(FlowVerdictToJson(v[0]).find("tunnel"), std::string::npos);
}

}  // namespace
}  // namespace tw::detector
