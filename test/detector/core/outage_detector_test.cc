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
  return l;
}

struct Harness {
  EventCollector events;
  uint64_t next_id = 1;
  OutageDetector det{OutageParams{}, &events, &next_id};
  int64_t t = kT0;
  void Bin(uint32_t down, uint32_t up, std::vector<capture::FlowBin> flows = {}) {
    det.OnBin(t, kSec, flows, Link(t, down, up));
    t += kSec;
  }
};

TEST(OutageDetectorTest, SilenceWithUnansweredTrafficIsAnOutage) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  for (int i = 0; i < 10; ++i) h.Bin(0, 1);  // our probes go out, nothing comes back
  for (int i = 0; i < 5; ++i) h.Bin(80, 40);
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, EventKind::kOutage);
  EXPECT_EQ(ev[0].state, EventState::kStart);
  EXPECT_EQ(ev[0].scope, EventScope::kLink);
  EXPECT_DOUBLE_EQ(ev[0].ts, double(kT0 + 19 * kSec + 990'000'000) * 1e-9);  // last inbound
  EXPECT_DOUBLE_EQ(ev[0].detected_at, double(kT0 + 22 * kSec) * 1e-9);       // 2 s of silence
  EXPECT_EQ(ev[1].state, EventState::kEnd);
  EXPECT_DOUBLE_EQ(ev[1].ts, double(kT0 + 30 * kSec + 10'000'000) * 1e-9);  // first inbound
  EXPECT_NEAR(ev[1].duration_s, 10.02, 1e-6);
  EXPECT_EQ(ev[1].id, ev[0].id);
}

TEST(OutageDetectorTest, OutageEndNeverPrecedesItsStart) {
  // Regression (found by fuzz_binner): the bin that ended an outage began with a straggler
  // whose timestamp was older than the silence (time running backwards), and the end event got
  // a time before the start and a negative duration.
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  for (int i = 0; i < 10; ++i) h.Bin(0, 1);
  capture::LinkBin l = Link(h.t, 80, 40);
  l.first_ns[capture::kDown] = kT0 + 5 * kSec;  // older than the last packet before the silence
  h.det.OnBin(h.t, kSec, {}, l);
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].state, EventState::kEnd);
  EXPECT_GE(ev[1].ts, ev[0].ts);
  EXPECT_GE(ev[1].duration_s, 0);
}

TEST(OutageDetectorTest, RouterUnreachableMessagesAreNotAnswers) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  for (int i = 0; i < 10; ++i) {
    // The first hop answers each probe with "network unreachable": inbound packets, no answers.
    capture::LinkBin l = Link(h.t, 0, 1);
    l.dir[capture::kDown].packets = 1;
    l.icmp_errors[capture::kDown] = 1;
    h.det.OnBin(h.t, kSec, {}, l);
    h.t += kSec;
  }
  h.Bin(80, 40);
  ASSERT_EQ(h.events.events().size(), 2u);
  EXPECT_NEAR(h.events.events()[1].duration_s, 10.02, 1e-6);
}

TEST(OutageDetectorTest, QuietPeriodWithoutDemandIsNotAnOutage) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  for (int i = 0; i < 30; ++i) h.Bin(0, 0);  // everyone went home
  for (int i = 0; i < 5; ++i) h.Bin(80, 40);
  EXPECT_TRUE(h.events.events().empty());
}

TEST(OutageDetectorTest, StalledTransfersAloneAreEnough) {
  Harness h;
  std::vector<capture::FlowBin> busy(3);
  for (auto& f : busy) f.dir[capture::kDown].payload_bytes = 100000;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40, busy);
  for (int i = 0; i < 10; ++i) h.Bin(0, 0);
  ASSERT_FALSE(h.events.events().empty());
  EXPECT_EQ(h.events.events()[0].state, EventState::kStart);
}

TEST(OutageDetectorTest, ShortSilenceIsIgnored) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(80, 40);
  h.Bin(0, 5);  // 1.01 s of silence, under min_silence (2 s): a stall, not an outage
  for (int i = 0; i < 5; ++i) h.Bin(80, 40);
  EXPECT_TRUE(h.events.events().empty());
}

TEST(OutageDetectorTest, BarelyUsedLinkIsNotJudged) {
  Harness h;
  for (int i = 0; i < 20; ++i) h.Bin(i % 4 == 0 ? 1 : 0, 0);  // 0.25 packets/s
  for (int i = 0; i < 10; ++i) h.Bin(0, 3);
  EXPECT_TRUE(h.events.events().empty());
}

}  // namespace
}  // namespace tw::detector
