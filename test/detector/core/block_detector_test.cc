#include "detector/core/block_detector.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capture/ip_proto.h"
#include "detector/core/event_sink.h"

namespace tw::detector {
namespace {

using capture::Opening;
using capture::OpeningOutcome;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr uint8_t kServerTtl = 52;

// A connection from 10.0.0.2 to 192.0.2.`remote` (443), TCP or QUIC, opened at kT0 + t s.
Opening Conn(uint8_t remote, double t, OpeningOutcome outcome, bool quic = false) {
  Opening o;
  const uint8_t local[4] = {10, 0, 0, 2};
  const uint8_t far[4] = {192, 0, 2, remote};
  o.flow.key.a = capture::Address::FromV4(local);
  o.flow.key.b = capture::Address::FromV4(far);
  o.flow.key.port_a = 50000;
  o.flow.key.port_b = 443;
  o.flow.key.proto = quic ? capture::kIpProtoUdp : capture::kIpProtoTcp;
  o.flow.local_is_a = true;
  o.outcome = outcome;
  o.start_ns = kT0 + int64_t(t * 1e9);
  o.decided_ns = o.start_ns + kSec / 10;
  o.attempts = outcome == OpeningOutcome::kCompleted ? 1 : 2;
  if (!quic && outcome != OpeningOutcome::kSynUnanswered && outcome != OpeningOutcome::kRefused) {
    o.server_ttl = kServerTtl;
    o.handshake_rtt_s = 0.05f;
  }
  return o;
}

Opening Ok(uint8_t remote, double t, bool quic = false) {
  return Conn(remote, t, OpeningOutcome::kCompleted, quic);
}

// A RST after the ClientHello with TTL `ttl`, `after_s` after it.
Opening ResetAfterHello(uint8_t remote, double t, uint8_t ttl, float after_s = 0.06f) {
  Opening o = Conn(remote, t, OpeningOutcome::kResetAfterRequest);
  o.hello = true;
  o.attempts = 1;
  o.reset_ttl = ttl;
  o.reset_ttl_delta = int16_t(ttl - kServerTtl);
  o.reset_after_s = after_s;
  return o;
}

Opening Refused(uint8_t remote, double t, uint8_t ttl) {
  Opening o = Conn(remote, t, OpeningOutcome::kRefused);
  o.attempts = 1;
  o.reset_ttl = ttl;
  o.reset_after_s = 0.05f;
  return o;
}

struct Harness {
  EventCollector events;
  uint64_t next_id = 1;
  BlockDetector det{BlockParams{}, &events, &next_id};
  void Feed(const Opening& o, const std::string& name) { det.OnOpening(o, name, o.decided_ns); }
  const std::vector<Event>& all() const { return events.events(); }
};

TEST(BlockDetectorTest, ForeignResetsAfterTheHelloStartABlockThatTheFirstSuccessEnds) {
  Harness h;
  h.Feed(Ok(3, 0), "news.example");
  h.Feed(Ok(3, 1), "weather.example");
  for (int i = 0; i < 3; ++i) {
    h.Feed(ResetAfterHello(3, 10 + i, 64), "news.example");
    h.Feed(Ok(3, 10.5 + i), "weather.example");  // same address, another name: works
  }
  ASSERT_EQ(h.all().size(), 1u);
  const Event s = h.all()[0];  // a copy: more events follow
  EXPECT_EQ(s.kind, EventKind::kBlock);
  EXPECT_EQ(s.state, EventState::kStart);
  EXPECT_EQ(s.server_name, "news.example");
  EXPECT_DOUBLE_EQ(s.ts, double(kT0 / kSec) + 10);
  EXPECT_EQ(s.block.method, BlockMethod::kTcpRst);
  EXPECT_STREQ(BlockOoniCategory(s.block), "http-failure");
  EXPECT_EQ(s.block.failures, 3);
  EXPECT_EQ(s.block.resets_ttl_mismatch, 3);
  EXPECT_EQ(s.block.reset_ttl_delta, 12);
  EXPECT_TRUE(s.block.same_address_ok);
  EXPECT_TRUE(s.block.worked_before);
  EXPECT_TRUE(s.targeted);
  EXPECT_GE(s.confidence, 0.9);
  EXPECT_EQ(h.det.blocked(), 1u);

  h.Feed(ResetAfterHello(3, 14, 64), "news.example");  // counted into the block
  h.Feed(Ok(3, 20), "news.example");                   // lifted
  ASSERT_EQ(h.all().size(), 2u);
  const Event& e = h.all()[1];
  EXPECT_EQ(e.state, EventState::kEnd);
  EXPECT_EQ(e.id, s.id);
  EXPECT_EQ(e.reason, "lifted");
  EXPECT_NEAR(e.duration_s, 10.1, 1e-6);  // to the first answer (0.1 s after its start)
  EXPECT_EQ(e.block.failures, 4);
  EXPECT_EQ(e.block.attempts, 5);
  EXPECT_EQ(h.det.blocked(), 0u);

  // Failures that started before the success, decided after it, are stale.
  for (int i = 0; i < 3; ++i) h.Feed(ResetAfterHello(3, 15 + i * 0.1, 64), "news.example");
  EXPECT_EQ(h.all().size(), 2u);
}

TEST(BlockDetectorTest, TheServersOwnResetIsNoBlock) {
  Harness h;
  h.Feed(Ok(4, 0), "weather.example");
  for (int i = 0; i < 5; ++i) {
    h.Feed(ResetAfterHello(3, 10 + i, kServerTtl), "news.example");
    h.Feed(Ok(4, 10.5 + i), "weather.example");
  }
  EXPECT_TRUE(h.all().empty());
}

TEST(BlockDetectorTest, AResetSoonerThanARoundTripIsInjectedWhateverItsTtl) {
  Harness h;
  for (int i = 0; i < 3; ++i) {
    h.Feed(ResetAfterHello(3, 10 + i, kServerTtl, 0.001f), "news.example");
    h.Feed(Ok(4, 10.5 + i), "weather.example");
  }
  ASSERT_EQ(h.all().size(), 1u);
  EXPECT_EQ(h.all()[0].block.method, BlockMethod::kTcpRst);
  EXPECT_EQ(h.all()[0].block.resets_too_fast, 3);
  EXPECT_FALSE(h.all()[0].block.worked_before);
}

TEST(BlockDetectorTest, ARefusalIsTheServersWhenItsTtlIsThatOfTheServersSynAcks) {
  Harness own, forged, unknown;
  for (Harness* h : {&own, &forged}) h->Feed(Ok(3, 0), "");  // learns the server's TTL
  for (int i = 0; i < 4; ++i) {
    own.Feed(Refused(3, 10 + i, kServerTtl), "");
    forged.Feed(Refused(3, 10 + i, 250), "");
    unknown.Feed(Refused(3, 10 + i, 250), "");
    for (Harness* h : {&own, &forged, &unknown}) h->Feed(Ok(4, 10.5 + i), "");
  }
  EXPECT_TRUE(own.all().empty());
  EXPECT_TRUE(unknown.all().empty());  // no SYN-ACK of that server seen: no evidence
  ASSERT_EQ(forged.all().size(), 1u);
  EXPECT_EQ(forged.all()[0].block.method, BlockMethod::kTcpRst);
  EXPECT_STREQ(BlockOoniCategory(forged.all()[0].block), "tcp_ip");
  EXPECT_TRUE(forged.all()[0].server_name.empty());  // the service is its address
}

TEST(BlockDetectorTest, NoBlockWhenNothingElseWorkedMeanwhile) {
  Harness h;
  h.Feed(Ok(4, 0), "weather.example");  // before the failures: no witness
  for (int i = 0; i < 6; ++i) h.Feed(Conn(3, 10 + i, OpeningOutcome::kSynUnanswered), "");
  EXPECT_TRUE(h.all().empty());
}

TEST(BlockDetectorTest, UnansweredSynsWhileOthersWorkAreAnAddressBlackHole) {
  Harness h;
  for (int i = 0; i < 3; ++i) {
    h.Feed(Conn(3, 10 + i, OpeningOutcome::kSynUnanswered), "");
    h.Feed(Ok(4, 10.5 + i), "weather.example");
  }
  ASSERT_EQ(h.all().size(), 1u);
  const Event& s = h.all()[0];
  EXPECT_EQ(s.block.method, BlockMethod::kIpBlackhole);
  EXPECT_STREQ(BlockOoniCategory(s.block), "tcp_ip");
  EXPECT_LE(s.confidence, 0.55);  // a server down for everyone looks the same
  // The address's first completed connection, named or not, lifts it.
  h.Feed(Ok(3, 30), "news.example");
  ASSERT_EQ(h.all().size(), 2u);
  EXPECT_EQ(h.all()[1].state, EventState::kEnd);
}

TEST(BlockDetectorTest, AnUnansweredRequestIsASniBlackHoleOnlyWhenItWasAClientHello) {
  Harness hello, plain;
  for (int i = 0; i < 3; ++i) {
    Opening o = Conn(3, 10 + i, OpeningOutcome::kRequestUnanswered);
    plain.Feed(o, "news.example");
    o.hello = true;
    hello.Feed(o, "news.example");
    for (Harness* h : {&hello, &plain}) h->Feed(Ok(4, 10.5 + i), "weather.example");
  }
  EXPECT_TRUE(plain.all().empty());
  ASSERT_EQ(hello.all().size(), 1u);
  EXPECT_EQ(hello.all()[0].block.method, BlockMethod::kSniBlackhole);
  EXPECT_EQ(hello.all()[0].block.handshake_rtt_s, 0.05f);
}

TEST(BlockDetectorTest, AQuicBlackHoleNeedsAnotherQuicServiceWorking) {
  Harness tcp_only, quic_too;
  for (int i = 0; i < 4; ++i) {
    for (Harness* h : {&tcp_only, &quic_too}) {
      h->Feed(Conn(3, 10 + i, OpeningOutcome::kQuicUnanswered, /*quic=*/true), "video.example");
      h->Feed(Ok(4, 10.5 + i), "weather.example");
    }
    quic_too.Feed(Ok(5, 10.6 + i, /*quic=*/true), "maps.example");
  }
  EXPECT_TRUE(tcp_only.all().empty());  // all QUIC may be blocked: browsers fall back to TCP
  ASSERT_EQ(quic_too.all().size(), 1u);
  EXPECT_EQ(quic_too.all()[0].block.method, BlockMethod::kQuicBlackhole);
  EXPECT_TRUE(quic_too.all()[0].block.quic);
}

TEST(BlockDetectorTest, FewOrScatteredFailuresAndPrivateAddressesAreNoBlock) {
  Harness few, scattered, private_address;
  for (int i = 0; i < 2; ++i) few.Feed(Conn(3, 10 + i, OpeningOutcome::kSynUnanswered), "");
  for (int i = 0; i < 3; ++i) {
    scattered.Feed(Conn(3, 10 + i * 100, OpeningOutcome::kSynUnanswered), "");
    Opening o = Conn(3, 10 + i, OpeningOutcome::kSynUnanswered);
    const uint8_t lan[4] = {10, 0, 1, 2};
    o.flow.key.b = capture::Address::FromV4(lan);
    private_address.Feed(o, "");
    for (Harness* h : {&few, &scattered, &private_address}) {
      h->Feed(Ok(4, 10.5 + i), "weather.example");
      h->Feed(Ok(4, 10.5 + i * 100), "weather.example");
    }
  }
  EXPECT_TRUE(few.all().empty());
  EXPECT_TRUE(scattered.all().empty());
  EXPECT_TRUE(private_address.all().empty());
}

// A browser opens several connections at once: those are one attempt of its user, and three
// of them failing together are no three failures.
TEST(BlockDetectorTest, ParallelConnectionsAreOneAttempt) {
  Harness h;
  for (int i = 0; i < 3; ++i) {
    h.Feed(ResetAfterHello(3, 10 + i * 0.001, 64), "news.example");
    h.Feed(Ok(4, 10.5 + i), "weather.example");
  }
  EXPECT_TRUE(h.all().empty());
  h.Feed(ResetAfterHello(3, 12, 64), "news.example");  // a second attempt
  EXPECT_TRUE(h.all().empty());
  h.Feed(ResetAfterHello(3, 14, 64), "news.example");  // a third: weather answered meanwhile
  ASSERT_EQ(h.all().size(), 1u);
  EXPECT_EQ(h.all()[0].block.failures, 5);
}

// A path that stalls for a while (a device walking away from its access point) fails every
// connection that starts in it; a connection of another service that got through as the stall
// began is no sign that the link worked while this one failed: the witnesses must answer
// between the service's last two attempts.
TEST(BlockDetectorTest, AnotherServiceMustAnswerBetweenTheLastTwoAttempts) {
  Harness stall, block;
  for (Harness* h : {&stall, &block}) h->Feed(Ok(4, 10.2), "weather.example");
  for (int i = 0; i < 3; ++i) {
    for (Harness* h : {&stall, &block}) {
      h->Feed(Conn(3, 10 + i * 4, OpeningOutcome::kSynUnanswered), "");
    }
    if (i == 1) block.Feed(Ok(4, 15), "weather.example");  // answered after attempt 2 began
  }
  EXPECT_TRUE(stall.all().empty());
  EXPECT_EQ(block.all().size(), 1u);
}

}  // namespace
}  // namespace tw::detector
