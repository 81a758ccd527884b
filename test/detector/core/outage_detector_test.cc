#include "detector/core/outage_detector.h"

#include <gtest/gtest.h>

#include <vector>

namespace tw::detector {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

capture::LinkBin Link(int64_t start, uint32_t down_pkts, uint32_t up_pkts) {
  capture::LinkBin l;
  l.dir[capture::kDown].packets = down_pkts;
  l.dir[capture::kDown].wire_bytes = down_pkts * 1500ULL;
  l.dir[capture::kUp].packets = up_pkts;
  if (down_pkts > 0) {
    l.first_ns[capture::kDown] = start + 10'000'000;
    l.last_ns[capture::kDown] = start + 990'000'000;
  }
  if (up_pkts > 0) l.first_ns[capture::kUp] = l.last_ns[capture::kUp] = start + kSec / 2;
  return l;
}

capture::Address Remote(uint8_t last) {
  const uint8_t v4[4] = {192, 0, 2, last};
  return capture::Address::FromV4(v4);
}

// A flow from a local host to remote 192.0.2.`remote` whose asks since `since` are unanswered.
capture::FlowBin Asking(uint8_t remote, int64_t since, int64_t last_ask, bool retried = true) {
  capture::FlowBin f;
  const uint8_t local[4] = {10, 0, 0, 2};
  f.info.key.a = capture::Address::FromV4(local);
  f.info.key.b = Remote(remote);
  f.info.local_is_a = true;
  f.demand.since_ns = since;
  f.demand.last_ask_ns = last_ask;
  f.demand.asks = 3;
  f.demand.retried = retried;
  return f;
}

// A flow with remote 192.0.2.`remote` that received `packets` in the bin: the remote answers.
capture::FlowBin Answering(uint8_t remote, uint32_t packets) {
  capture::FlowBin f = Asking(remote, 0, 0, false);
  f.dir[capture::kDown].packets = packets;
  return f;
}

struct Harness {
  EventCollector events;
  uint64_t next_id = 1;
  OutageDetector det{OutageParams{}, &events, &next_id};
  int64_t t = kT0;
  // A bin with `down` packets received and `up` sent; when packets arrive and no flows are
  // given, remotes 1 to 3 are the ones that answered.
  void Bin(uint32_t down, uint32_t up, std::vector<capture::FlowBin> flows = {}) {
    if (down > 0 && flows.empty()) {
      for (uint8_t r = 1; r <= 3; ++r) flows.push_back(Answering(r, down / 3));
    }
    det.OnBin(t, kSec, flows, Link(t, down, up));
    t += kSec;
  }
  // A silent bin in which two remotes that answered before are asked again, unanswered since
  // the silence began at `since`.
  void DarkBin(int64_t since) {
    Bin(0, 4, {Asking(1, since, t + kSec / 2), Asking(2, since, t + kSec / 2)});
  }
};

TEST(OutageDetectorTest, SilenceWithUnansweredTrafficIsAnOutage) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  const int64_t since = kT0 + 20 * kSec;  // asked right after the last answer
  for (int i = 0; i < 10; ++i) h.DarkBin(since);
  for (int i = 0; i < 5; ++i) h.Bin(80, 40);
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, EventKind::kOutage);
  EXPECT_EQ(ev[0].state, EventState::kStart);
  EXPECT_EQ(ev[0].scope, EventScope::kLink);
  EXPECT_DOUBLE_EQ(ev[0].ts, double(kT0 + 19 * kSec + 990'000'000) * 1e-9);  // last inbound
  EXPECT_DOUBLE_EQ(ev[0].detected_at, double(kT0 + 25 * kSec) * 1e-9);       // 5 s of silence
  EXPECT_EQ(ev[0].outage.unanswered_remotes, 2);
  EXPECT_EQ(ev[0].outage.witnesses, 2);
  EXPECT_NEAR(ev[0].confidence, 0.75, 1e-9);  // two witnesses: 1 - 0.5^2
  EXPECT_EQ(ev[1].state, EventState::kEnd);
  EXPECT_DOUBLE_EQ(ev[1].ts, double(kT0 + 30 * kSec + 10'000'000) * 1e-9);  // first inbound
  EXPECT_NEAR(ev[1].duration_s, 10.02, 1e-6);
  EXPECT_EQ(ev[1].id, ev[0].id);
  EXPECT_EQ(ev[1].reason, "traffic_resumed");
}

TEST(OutageDetectorTest, OutageEndNeverPrecedesItsStart) {
  // Regression (found by fuzz_binner): the bin that ended an outage began with a straggler
  // whose timestamp was older than the silence (time running backwards), and the end event got
  // a time before the start and a negative duration.
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  for (int i = 0; i < 10; ++i) h.DarkBin(kT0 + 20 * kSec);
  capture::LinkBin l = Link(h.t, 80, 40);
  l.first_ns[capture::kDown] = kT0 + 5 * kSec;  // older than the last packet before the silence
  h.det.OnBin(h.t, kSec, {}, l);
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].state, EventState::kEnd);
  EXPECT_GE(ev[1].ts, ev[0].ts);
  EXPECT_GE(ev[1].duration_s, 0);
}

TEST(OutageDetectorTest, RouterUnreachableMessagesAreNotAnswersButWitnesses) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  for (int i = 0; i < 10; ++i) {
    // The first hop answers each probe with "network unreachable": inbound packets, no answers.
    capture::LinkBin l = Link(h.t, 0, 1);
    l.dir[capture::kDown].packets = 1;
    l.icmp_errors[capture::kDown] = 1;
    const std::vector<capture::FlowBin> flows = {Asking(1, kT0 + 20 * kSec, h.t + 1),
                                                 Asking(2, kT0 + 20 * kSec, h.t + 1)};
    h.det.OnBin(h.t, kSec, flows, l);
    h.t += kSec;
  }
  h.Bin(80, 40);
  ASSERT_EQ(h.events.events().size(), 2u);
  EXPECT_NEAR(h.events.events()[1].duration_s, 10.02, 1e-6);
  EXPECT_EQ(h.events.events()[1].outage.router_errors, 10u);
  EXPECT_NEAR(h.events.events()[1].confidence, 0.875, 1e-9);  // two remotes and the router
}

TEST(OutageDetectorTest, QuietPeriodWithoutDemandIsNotAnOutage) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  for (int i = 0; i < 30; ++i) h.Bin(0, 3);  // everyone went home: multicast, ACKs, no asks
  for (int i = 0; i < 5; ++i) h.Bin(80, 40);
  EXPECT_TRUE(h.events.events().empty());
}

TEST(OutageDetectorTest, OneSilentServerIsNotTheLink) {
  // A client retries one dead server while nothing else is asked: that server's failure.
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  for (int i = 0; i < 30; ++i) h.Bin(0, 1, {Asking(1, kT0 + 20 * kSec, h.t + 1)});
  EXPECT_TRUE(h.events.events().empty());
}

TEST(OutageDetectorTest, RemotesThatNeverAnsweredOrNeverRetriedAreNoWitnesses) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  const int64_t since = kT0 + 20 * kSec;
  for (int i = 0; i < 30; ++i) {
    h.Bin(0, 3,
          {Asking(9, since, h.t + 1),                   // never answered: a dead address
           Asking(2, since, since, /*retried=*/false),  // one request, never asked again
           Asking(3, since, h.t + 1)});                 // the only witness
  }
  EXPECT_TRUE(h.events.events().empty());
}

TEST(OutageDetectorTest, NewConnectionsToARemoteThatAnsweredAreWitnesses) {
  // A prober opens a new connection (or asks from a new port) every second: each flow asks
  // once, but the remote, which answered the earlier probes, is asked again and again.
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  for (int i = 0; i < 10; ++i) {
    std::vector<capture::FlowBin> probes;
    for (int k = 0; k <= i; ++k) {
      const int64_t at = kT0 + (20 + k) * kSec;
      for (const uint8_t r : {uint8_t{1}, uint8_t{2}}) {
        probes.push_back(Asking(r, at, at, /*retried=*/false));
        probes.back().info.key.port_a = uint16_t(40000 + k);
      }
    }
    h.Bin(0, 2, probes);
  }
  ASSERT_FALSE(h.events.events().empty());
  EXPECT_EQ(h.events.events()[0].outage.witnesses, 2);
}

TEST(OutageDetectorTest, DemandThatStoppedBeforeTheSilenceProvesNothing) {
  // Flows that gave up asking before the silence (a closed connection's last FIN retries) do
  // not witness it: the capture may simply have stopped.
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  const int64_t before = kT0 + 10 * kSec;
  for (int i = 0; i < 30; ++i) h.Bin(0, 0, {Asking(1, before, before), Asking(2, before, before)});
  EXPECT_TRUE(h.events.events().empty());
}

TEST(OutageDetectorTest, AskWithinItsRetransmissionTimeoutIsNotOverdue) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  std::vector<capture::FlowBin> slow = {Asking(1, kT0 + 20 * kSec, kT0 + 21 * kSec),
                                        Asking(2, kT0 + 20 * kSec, kT0 + 21 * kSec)};
  for (auto& f : slow) f.demand.rto_s = 30;  // a path with a 30 s timeout (huge queue)
  for (int i = 0; i < 20; ++i) h.Bin(0, 2, slow);
  EXPECT_TRUE(h.events.events().empty());
}

TEST(OutageDetectorTest, ShortSilenceIsIgnored) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  for (int i = 0; i < 4; ++i) h.DarkBin(kT0 + 20 * kSec);  // 4 s: a stall, not an outage
  for (int i = 0; i < 5; ++i) h.Bin(80, 40);
  EXPECT_TRUE(h.events.events().empty());
}

TEST(OutageDetectorTest, BarelyUsedLinkIsNotJudged) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(i % 4 == 0 ? 1 : 0, 0);  // 0.25 packets/s
  for (int i = 0; i < 10; ++i) h.DarkBin(kT0 + 20 * kSec);
  EXPECT_TRUE(h.events.events().empty());
}

TEST(OutageDetectorTest, CaptureGapEndsAnOpenOutageAtItsLastPacket) {
  // The sensor stopped (or its clock jumped by years) during an outage: the outage lasted
  // until the last packet seen, not until the capture resumed.
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  for (int i = 0; i < 8; ++i) h.DarkBin(kT0 + 20 * kSec);
  const int64_t last_up = h.t - kSec / 2;  // the last DarkBin's asks went out mid-bin
  h.t += 3600 * 24 * kSec;                 // the next bin is a day later
  h.Bin(80, 40);
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].reason, "capture_gap");
  EXPECT_DOUBLE_EQ(ev[1].ts, double(last_up) * 1e-9);
  EXPECT_NEAR(ev[1].duration_s, 7.51, 1e-6);
}

}  // namespace
}  // namespace tw::detector
