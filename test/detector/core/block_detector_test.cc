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
  EXPECT_EQ(quic_too.all()[0].block.transport, BlockTransport::kQuic);
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

// -- DNS lookups --

using capture::DnsOutcome;
using capture::DnsOutcomeKind;

capture::Address V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t x[4] = {a, b, c, d};
  return capture::Address::FromV4(x);
}

// A query for `name` (type A) sent to resolver 192.0.2.53 (or `resolver`) at kT0 + t s; its
// first answer 30 ms later from TTL 58, holding `address` unless NXDOMAIN.
DnsOutcome Lookup(const std::string& name, double t, DnsOutcomeKind kind,
                  capture::Address address = V4(198, 51, 100, 10),
                  capture::Address resolver = V4(192, 0, 2, 53)) {
  DnsOutcome d;
  d.flow_id = uint64_t(t * 1000) + 1;
  d.kind = kind;
  d.name = name;
  d.qtype = 1;
  d.resolver = resolver;
  d.query_ns = kT0 + int64_t(t * 1e9);
  d.decided_ns = d.query_ns + kSec / 33;
  d.attempts = 1;
  d.answers = 1;
  d.first.delay_s = 0.03f;
  d.first.ip_ttl = 58;
  d.first.whole = true;
  if (kind == DnsOutcomeKind::kNxdomain) {
    d.first.rcode = 3;
  } else {
    d.first.address_count = 1;
    d.first.addresses[0] = address;
  }
  if (kind == DnsOutcomeKind::kBogon) {
    d.bogon = true;
    d.bogon_address = address;
  }
  return d;
}

DnsOutcome Resolved(const std::string& name, double t) {
  return Lookup(name, t, DnsOutcomeKind::kAnswered);
}

// An injector's answer (TTL 64, 2 ms) raced the resolver's (TTL 58, 30 ms).
DnsOutcome Raced(const std::string& name, double t, uint8_t forged_ttl = 64) {
  DnsOutcome d = Lookup(name, t, DnsOutcomeKind::kRacing, V4(203, 0, 113, 99));
  d.answers = 2;
  d.first.delay_s = 0.002f;
  d.first.ip_ttl = forged_ttl;
  d.second = d.first;
  d.second.delay_s = 0.03f;
  d.second.ip_ttl = 58;
  d.second.addresses[0] = V4(198, 51, 100, 10);
  return d;
}

struct DnsHarness : Harness {
  void Dns(const DnsOutcome& d) { det.OnDnsOutcome(d, d.decided_ns); }
};

TEST(BlockDetectorTest, RacingAnswersOfOneNameAreADnsInjectionUntilItResolvesAlone) {
  DnsHarness h;
  h.Dns(Resolved("news.example", 0));
  for (int i = 0; i < 3; ++i) {
    h.Dns(Raced("news.example", 10 + 2 * i));
    h.Dns(Resolved("weather.example", 11 + 2 * i));  // the resolver answers other names
  }
  ASSERT_EQ(h.all().size(), 1u);
  const Event& e = h.all()[0];
  EXPECT_EQ(e.kind, EventKind::kBlock);
  EXPECT_EQ(e.server_name, "news.example");
  EXPECT_EQ(e.remote, V4(192, 0, 2, 53));
  EXPECT_EQ(e.block.remote_port, 53);
  EXPECT_EQ(e.block.transport, BlockTransport::kDns);
  EXPECT_EQ(e.block.method, BlockMethod::kDnsInjection);
  EXPECT_STREQ(BlockOoniCategory(e.block), "dns");
  EXPECT_DOUBLE_EQ(e.ts, 1'700'000'010.0);
  EXPECT_EQ(e.block.failures, 3);
  EXPECT_EQ(e.block.answers_racing, 3);
  EXPECT_EQ(e.block.answers_ttl_mismatch, 3);
  EXPECT_EQ(e.block.answer_ttl_delta, 6);
  EXPECT_TRUE(e.block.has_forged_address);
  EXPECT_EQ(e.block.forged_address, V4(203, 0, 113, 99));
  EXPECT_TRUE(e.block.same_address_ok);  // the same resolver answered weather.example
  EXPECT_TRUE(e.block.worked_before);
  EXPECT_DOUBLE_EQ(e.confidence, 0.95);

  h.Dns(Raced("news.example", 17));  // still on: counted
  h.Dns(Resolved("news.example", 30));
  ASSERT_EQ(h.all().size(), 2u);
  const Event& end = h.all()[1];
  EXPECT_EQ(end.state, EventState::kEnd);
  EXPECT_EQ(end.reason, "lifted");
  EXPECT_NEAR(end.ts, 1'700'000'030.0 + 1.0 / 33, 1e-6);  // the answer, not the query
  EXPECT_EQ(end.block.failures, 4);
}

TEST(BlockDetectorTest, RacingAnswersWithOneTtlAreLessSure) {
  DnsHarness h;
  for (int i = 0; i < 3; ++i) {
    h.Dns(Raced("news.example", 10 + 2 * i, /*forged_ttl=*/58));  // a forwarder's two answers?
    h.Dns(Resolved("weather.example", 11 + 2 * i));
  }
  ASSERT_EQ(h.all().size(), 1u);
  EXPECT_EQ(h.all()[0].block.answers_ttl_mismatch, 0);
  EXPECT_DOUBLE_EQ(h.all()[0].confidence, 0.6);
}

TEST(BlockDetectorTest, ABogonIsABlockOnlyFromAResolverThatHadAnsweredTheNamePublicly) {
  DnsHarness h;
  const capture::Address block_page = V4(10, 10, 34, 34);
  const capture::Address other_resolver = V4(192, 0, 2, 54);
  h.Dns(Resolved("news.example", 0));
  for (int i = 0; i < 3; ++i) {
    // An ad blocker's null answer for a name it never resolved: no evidence of anything.
    h.Dns(Lookup("ads.example", 10 + 2 * i, DnsOutcomeKind::kBogon, V4(0, 0, 0, 0)));
    // Another resolver (a VPN's, a split horizon) that never answered the name publicly.
    h.Dns(Lookup("news.example", 10.6 + 2 * i, DnsOutcomeKind::kBogon, block_page, other_resolver));
    h.Dns(Resolved("weather.example", 11 + 2 * i));
  }
  EXPECT_TRUE(h.all().empty());
  for (int i = 0; i < 3; ++i) {
    h.Dns(Lookup("news.example", 20 + 2 * i, DnsOutcomeKind::kBogon, block_page));
    h.Dns(Resolved("weather.example", 21 + 2 * i));
  }
  ASSERT_EQ(h.all().size(), 1u);
  const Event& e = h.all()[0];
  EXPECT_EQ(e.block.method, BlockMethod::kDnsBogon);
  EXPECT_EQ(e.block.forged_address, block_page);
  EXPECT_DOUBLE_EQ(e.ts, 1'700'000'020.0);
  EXPECT_DOUBLE_EQ(e.confidence, 0.65);
}

TEST(BlockDetectorTest, NxdomainIsABlockOnlyForANameThatHadResolved) {
  DnsHarness h;
  for (int i = 0; i < 3; ++i) {
    h.Dns(Lookup("typo.example", 10 + 2 * i, DnsOutcomeKind::kNxdomain));  // never existed
    h.Dns(Resolved("weather.example", 11 + 2 * i));
  }
  EXPECT_TRUE(h.all().empty());
  EXPECT_EQ(h.det.services(), 1u);  // a name that never resolved takes no room
  h.Dns(Resolved("news.example", 15));
  for (int i = 0; i < 3; ++i) {
    h.Dns(Lookup("news.example", 20 + 2 * i, DnsOutcomeKind::kNxdomain));
    h.Dns(Resolved("weather.example", 21 + 2 * i));
  }
  ASSERT_EQ(h.all().size(), 1u);
  EXPECT_EQ(h.all()[0].block.method, BlockMethod::kDnsNxdomain);
  EXPECT_FALSE(h.all()[0].block.has_forged_address);
  h.Dns(Resolved("news.example", 40));
  ASSERT_EQ(h.all().size(), 2u);
  EXPECT_EQ(h.all()[1].state, EventState::kEnd);
}

TEST(BlockDetectorTest, DnsFailuresWithNothingElseResolvingAreNoBlock) {
  DnsHarness h;
  h.Dns(Resolved("news.example", 0));
  h.Dns(Resolved("weather.example", 0.2));
  for (int i = 0; i < 4; ++i) {  // a resolver failing for every name (a captive portal...)
    h.Dns(Lookup("news.example", 10 + 2 * i, DnsOutcomeKind::kNxdomain));
    h.Dns(Lookup("weather.example", 10.2 + 2 * i, DnsOutcomeKind::kNxdomain));
  }
  EXPECT_TRUE(h.all().empty());
}

TEST(BlockDetectorTest, LocalNamesAndUnansweredQueriesSayNothing) {
  DnsHarness h;
  h.Dns(Resolved("nas.lan", 0));
  for (int i = 0; i < 3; ++i) {
    h.Dns(Lookup("nas.lan", 10 + 2 * i, DnsOutcomeKind::kBogon, V4(192, 168, 1, 5)));
    h.Dns(Lookup("news.example", 10.5 + 2 * i, DnsOutcomeKind::kUnanswered));
    h.Dns(Resolved("weather.example", 11 + 2 * i));
  }
  EXPECT_TRUE(h.all().empty());
  EXPECT_EQ(h.det.services(), 1u);  // weather.example: no local name, no unanswered one
}

TEST(BlockDetectorTest, LookupsOfOneMomentAreOneAttempt) {
  DnsHarness h;
  h.Dns(Resolved("news.example", 0));
  for (int i = 0; i < 2; ++i) {
    h.Dns(Raced("news.example", 10 + 2 * i));
    h.Dns(Raced("news.example", 10.01 + 2 * i));  // its AAAA query
    h.Dns(Resolved("weather.example", 11 + 2 * i));
  }
  EXPECT_TRUE(h.all().empty());  // two lookups, four queries
  h.Dns(Raced("news.example", 14));
  EXPECT_EQ(h.all().size(), 1u);
}

TEST(BlockDetectorTest, AWitnessDecidedAfterTheFailureItVouchesForStillCounts) {
  // A race is decided at its second answer, a lone answer a second after it came: the
  // weather.example lookup answered at 13.03 s is judged after news.example's race at 14 s.
  DnsHarness h;
  h.Dns(Resolved("news.example", 0));
  h.Dns(Raced("news.example", 10));
  h.Dns(Resolved("weather.example", 11));
  h.Dns(Raced("news.example", 12));
  h.Dns(Raced("news.example", 14));
  EXPECT_TRUE(h.all().empty());  // no witness yet between 12 and 14
  DnsOutcome late = Resolved("weather.example", 13);
  h.det.OnDnsOutcome(late, kT0 + 15 * kSec);
  ASSERT_EQ(h.all().size(), 1u);
  EXPECT_DOUBLE_EQ(h.all()[0].ts, 1'700'000'010.0);
  EXPECT_DOUBLE_EQ(h.all()[0].detected_at, 1'700'000'015.0);
}

TEST(BlockDetectorTest, AWitnessAfterTheLastFailureDoesNotStartABlockLate) {
  DnsHarness h;
  h.Dns(Resolved("news.example", 0));
  for (int i = 0; i < 3; ++i) h.Dns(Raced("news.example", 10 + 2 * i));  // nothing else works
  h.Dns(Resolved("weather.example", 100));  // the link is back, long after
  EXPECT_TRUE(h.all().empty());
}

TEST(BlockDetectorTest, AnotherQueryTypesAnswersNeitherClearNorEndForgedOnes) {
  // The injector forges A answers only; each lookup's AAAA query gets the resolver's answer.
  DnsHarness h;
  const auto aaaa = [](double t) {
    DnsOutcome d = Resolved("news.example", t);
    d.qtype = 28;
    d.first.addresses[0] = *capture::Address::Parse("2001:db8::3");
    return d;
  };
  h.Dns(Resolved("news.example", 0));
  for (int i = 0; i < 3; ++i) {
    h.Dns(Raced("news.example", 10 + 2 * i));
    h.Dns(aaaa(10.01 + 2 * i));
    h.Dns(Resolved("weather.example", 11 + 2 * i));
  }
  ASSERT_EQ(h.all().size(), 1u);
  EXPECT_EQ(h.all()[0].block.method, BlockMethod::kDnsInjection);
  h.Dns(aaaa(20));
  EXPECT_EQ(h.all().size(), 1u);  // still forged
  h.Dns(Resolved("news.example", 22));
  ASSERT_EQ(h.all().size(), 2u);
  EXPECT_EQ(h.all()[1].state, EventState::kEnd);
}

// A plain HTTP connection to 192.0.2.`remote`:80 at t, answered by `status` with IP TTL
// kServerTtl + `ttl_delta` (the SYN-ACK's is kServerTtl).
Opening Http(uint8_t remote, double t, uint16_t status, int16_t ttl_delta) {
  Opening o = Ok(remote, t);
  o.flow.key.port_b = 80;
  o.http_status = status;
  o.data_ttl_delta = ttl_delta;
  return o;
}

TEST(BlockDetectorTest, ResponsesFromAnotherSenderThanTheServerAreABlockPage) {
  Harness h;
  h.Feed(Http(3, 0, 200, 0), "news.example");
  for (int i = 0; i < 3; ++i) {
    h.Feed(Http(3, 10 + i, 302, 12), "news.example");  // a box 12 hops nearer answered
    h.Feed(Http(3, 10.5 + i, 200, 0), "weather.example");
  }
  ASSERT_EQ(h.all().size(), 1u);
  const Event& e = h.all()[0];
  EXPECT_EQ(e.block.method, BlockMethod::kHttpBlockpage);
  EXPECT_STREQ(BlockOoniCategory(e.block), "http-diff");
  EXPECT_EQ(e.block.http_status, 302);
  EXPECT_EQ(e.block.page_ttl_delta, 12);
  EXPECT_EQ(e.block.remote_port, 80);
  EXPECT_TRUE(e.block.same_address_ok);
  EXPECT_DOUBLE_EQ(e.confidence, 0.85);
  h.Feed(Http(3, 20, 200, 0), "news.example");
  ASSERT_EQ(h.all().size(), 2u);
  EXPECT_EQ(h.all()[1].state, EventState::kEnd);
}

TEST(BlockDetectorTest, ASitesOwnRedirectIsNoBlockPage) {
  Harness h;
  for (int i = 0; i < 4; ++i) {
    h.Feed(Http(3, 10 + i, 301, 0), "news.example");  // http -> https, with the server's TTL
    h.Feed(Http(3, 10.5 + i, 200, 0), "weather.example");
  }
  // A TLS connection's data is never a block page, whatever its TTL (a ClientHello opened it).
  for (int i = 0; i < 4; ++i) {
    Opening o = Http(4, 20 + i, 200, 5);
    o.hello = true;
    h.Feed(o, "tls.example");
  }
  EXPECT_TRUE(h.all().empty());
}

TEST(BlockDetectorTest, AQuestionThatIsNoHostNameIsNoService) {
  DnsHarness h;
  const std::string forged = std::string("news.example\"<b>") + char(0x7f);
  h.Dns(Resolved(forged, 0));
  for (int i = 0; i < 3; ++i) {
    h.Dns(Raced(forged, 10 + 2 * i));
    h.Dns(Resolved("weather.example", 11 + 2 * i));
  }
  EXPECT_TRUE(h.all().empty());
  EXPECT_EQ(h.det.services(), 1u);  // weather.example only
}

}  // namespace
}  // namespace tw::detector
