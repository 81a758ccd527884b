#include "capture/dns_outcomes.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "capture/ip_proto.h"
#include "test/support/decoded_packet.h"
#include "test/support/dns_message.h"

namespace tw::capture {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr uint16_t kA = testing::kDnsA, kAaaa = testing::kDnsAaaa;

using testing::DnsMessage;

// The lookups of one stub at 10.0.0.2 (port `port`, flow `flow`) to a resolver.
class Stub {
 public:
  explicit Stub(DnsTracker* t, uint64_t flow = 7, uint16_t port = 40000,
                const char* resolver = "198.51.100.53")
      : t_(t), port_(port), resolver_(resolver) {
    info_.id = flow;
    info_.key.a = *Address::Parse("10.0.0.2");
    info_.key.b = *Address::Parse(resolver);
    info_.key.port_a = port;
    info_.key.port_b = kDnsPort;
    info_.key.proto = kIpProtoUdp;
    info_.local_is_a = true;
    info_.local_initiated = true;
  }
  void Query(int64_t ms, uint16_t id, const std::string& name, uint16_t qtype = kA) {
    Send(ms, kUp, DnsMessage(id, false, 0, name, qtype), 64);
  }
  void Answer(int64_t ms, uint16_t id, const std::string& name,
              const std::vector<std::string>& addresses, uint8_t ttl = 52, uint8_t rcode = 0,
              uint16_t qtype = kA) {
    Send(ms, kDown, DnsMessage(id, true, rcode, name, qtype, addresses), ttl);
  }
  // A datagram of `bytes`, of which the capture kept the first `caplen` (all by default);
  // `wire_len`: the payload length its headers claim (the bytes' length by default).
  void Send(int64_t ms, Direction d, std::vector<uint8_t> bytes, uint8_t ttl,
            size_t caplen = SIZE_MAX, size_t wire_len = SIZE_MAX) {
    DecodedPacket p = d == kUp ? testing::Packet("10.0.0.2", port_, resolver_, 53, kIpProtoUdp)
                               : testing::Packet(resolver_, 53, "10.0.0.2", port_, kIpProtoUdp);
    p.payload_len = uint32_t(wire_len == SIZE_MAX ? bytes.size() : wire_len);
    p.ip_ttl = ttl;
    bytes.resize(std::min(caplen, bytes.size()));  // exactly what was captured, for ASan
    bytes.shrink_to_fit();
    t_->OnPacket(ms * kMs, p, bytes.empty() ? nullptr : bytes.data(), uint32_t(bytes.size()), info_,
                 d, &decided);
  }
  void End() { t_->OnFlowEnd(info_.id, &decided); }
  std::vector<DnsOutcome> decided;

 private:
  DnsTracker* t_;
  uint16_t port_;
  const char* resolver_;
  FlowInfo info_;
};

std::string Text(const Address& a) { return a.ToString(); }

TEST(DnsTrackerTest, AnAnswerIsDecidedOnceTheRaceWindowIsOver) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 0x1234, "Video.Example.com");
  s.Answer(30, 0x1234, "video.example.com", {"203.0.113.7", "203.0.113.8"});
  t.Expire(1000 * kMs, &s.decided);  // 970 ms after the answer: a second one could still come
  EXPECT_TRUE(s.decided.empty());
  t.Expire(1031 * kMs, &s.decided);
  ASSERT_EQ(s.decided.size(), 1u);
  const DnsOutcome& o = s.decided[0];
  EXPECT_EQ(o.kind, DnsOutcomeKind::kAnswered);
  EXPECT_EQ(o.flow_id, 7u);
  EXPECT_EQ(o.name, "video.example.com");
  EXPECT_EQ(o.qtype, kA);
  EXPECT_EQ(o.dns_id, 0x1234);
  EXPECT_EQ(Text(o.resolver), "198.51.100.53");
  EXPECT_EQ(o.query_ns, 0);
  EXPECT_EQ(o.decided_ns, 30 * kMs);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(o.answers, 1);
  EXPECT_NEAR(o.first.delay_s, 0.030, 1e-6);
  EXPECT_EQ(o.first.ip_ttl, 52);
  EXPECT_EQ(o.first.rcode, 0);
  EXPECT_TRUE(o.first.whole);
  ASSERT_EQ(o.first.address_count, 2);
  EXPECT_EQ(Text(o.first.addresses[0]), "203.0.113.7");
  EXPECT_EQ(Text(o.first.addresses[1]), "203.0.113.8");
  EXPECT_LT(o.second.delay_s, 0);
  EXPECT_FALSE(o.bogon);
  EXPECT_FALSE(o.nxdomain_after_resolution);
  EXPECT_EQ(t.pending(), 0u);
  EXPECT_TRUE(t.ResolvedBefore("video.example.com"));
}

TEST(DnsTrackerTest, AForgedAnswerAheadOfTheResolversIsRacing) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 7, "blocked.example.net");
  s.Answer(2, 7, "blocked.example.net", {"203.0.113.66"}, 64);  // the injector: 2 ms, near
  EXPECT_TRUE(s.decided.empty());
  s.Answer(30, 7, "blocked.example.net", {"198.51.100.80"}, 52);  // the resolver's
  ASSERT_EQ(s.decided.size(), 1u);  // decided at the answer that differs
  const DnsOutcome& o = s.decided[0];
  EXPECT_EQ(o.kind, DnsOutcomeKind::kRacing);
  EXPECT_EQ(o.decided_ns, 30 * kMs);
  EXPECT_EQ(o.answers, 2);
  EXPECT_EQ(o.first.ip_ttl, 64);
  EXPECT_NEAR(o.first.delay_s, 0.002, 1e-6);
  EXPECT_EQ(Text(o.first.addresses[0]), "203.0.113.66");
  EXPECT_EQ(o.second.ip_ttl, 52);
  EXPECT_NEAR(o.second.delay_s, 0.030, 1e-6);
  EXPECT_EQ(Text(o.second.addresses[0]), "198.51.100.80");
  EXPECT_FALSE(o.bogon);
  EXPECT_EQ(t.pending(), 0u);
  s.Answer(31, 7, "blocked.example.net", {"198.51.100.80"});  // a third: the query is gone
  EXPECT_EQ(t.unmatched(), 1u);
}

TEST(DnsTrackerTest, AnInjectedNxdomainAheadOfTheAnswerIsRacing) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 9, "news.example.org", kAaaa);
  s.Answer(3, 9, "news.example.org", {}, 61, 3, kAaaa);
  s.Answer(40, 9, "news.example.org", {"2001:db8::80"}, 55, 0, kAaaa);
  ASSERT_EQ(s.decided.size(), 1u);
  EXPECT_EQ(s.decided[0].kind, DnsOutcomeKind::kRacing);
  EXPECT_EQ(s.decided[0].first.rcode, 3);
  EXPECT_EQ(s.decided[0].second.rcode, 0);
  EXPECT_EQ(Text(s.decided[0].second.addresses[0]), "2001:db8::80");
}

TEST(DnsTrackerTest, TheSameAnswerTwiceIsNoRaceWhateverItsOrder) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 1, "cdn.example.com");
  s.Answer(20, 1, "cdn.example.com", {"203.0.113.1", "203.0.113.2", "203.0.113.3"});
  s.Answer(21, 1, "cdn.example.com", {"203.0.113.1", "203.0.113.2", "203.0.113.3"});
  s.Answer(25, 1, "cdn.example.com", {"203.0.113.3", "203.0.113.1", "203.0.113.2"});  // rotated
  s.End();
  ASSERT_EQ(s.decided.size(), 1u);
  EXPECT_EQ(s.decided[0].kind, DnsOutcomeKind::kAnswered);
  EXPECT_EQ(s.decided[0].answers, 3);
}

TEST(DnsTrackerTest, TwoSendsMayGetTwoDifferentAnswers) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 1, "cdn.example.com");
  s.Query(1000, 1, "cdn.example.com");  // the stub's retry: same id, same port
  s.Answer(1020, 1, "cdn.example.com", {"203.0.113.1"});
  s.Answer(1030, 1, "cdn.example.com", {"203.0.113.9"});  // one answer per send
  s.End();
  ASSERT_EQ(s.decided.size(), 1u);
  EXPECT_EQ(s.decided[0].kind, DnsOutcomeKind::kAnswered);
  EXPECT_EQ(s.decided[0].attempts, 2);
  EXPECT_NEAR(s.decided[0].first.delay_s, 0.020, 1e-6);  // after the send it answered
}

TEST(DnsTrackerTest, APrivateAddressForAPublicNameIsABogon) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 2, "blocked.example.com");
  s.Answer(15, 2, "blocked.example.com", {"203.0.113.5", "10.10.34.36"});
  s.Query(100, 3, "ads.example.com", kAaaa);
  s.Answer(110, 3, "ads.example.com", {"::"}, 52, 0, kAaaa);
  s.End();
  ASSERT_EQ(s.decided.size(), 2u);
  EXPECT_EQ(s.decided[0].kind, DnsOutcomeKind::kBogon);
  EXPECT_TRUE(s.decided[0].bogon);
  EXPECT_EQ(Text(s.decided[0].bogon_address), "10.10.34.36");
  EXPECT_EQ(s.decided[1].kind, DnsOutcomeKind::kBogon);
  EXPECT_EQ(Text(s.decided[1].bogon_address), "::");
  EXPECT_FALSE(t.ResolvedBefore("blocked.example.com"));  // no public answer
}

TEST(DnsTrackerTest, APrivateAddressForALocalNameIsNoBogon) {
  DnsTracker t;
  Stub s(&t, 7, 40000, "192.168.1.1");
  s.Query(0, 4, "printer.local");
  s.Answer(1, 4, "printer.local", {"192.168.1.20"});
  s.Query(10, 5, "nas.home.arpa");
  s.Answer(11, 5, "nas.home.arpa", {"10.0.0.5"});
  s.Query(20, 6, "nas");
  s.Answer(21, 6, "nas", {"fd00::5"});
  s.End();
  ASSERT_EQ(s.decided.size(), 3u);
  for (const DnsOutcome& o : s.decided) {
    EXPECT_EQ(o.kind, DnsOutcomeKind::kAnswered) << o.name;
    EXPECT_FALSE(o.bogon) << o.name;
  }
}

TEST(DnsTrackerTest, LocalNames) {
  for (const char* yes : {"printer.local", "nas.home.arpa", "wpad", "router.lan", "db.internal",
                          "localhost", "a.b.localhost", "pc.localdomain", "fileserver.corp"}) {
    EXPECT_TRUE(IsLocalName(yes)) << yes;
  }
  for (const char* no : {"example.com", "local.example.com", "lan.example", "mylocal.com",
                         "example.plan", "www.home-depot.com"}) {
    EXPECT_FALSE(IsLocalName(no)) << no;
  }
}

TEST(DnsTrackerTest, NxdomainForANameThatResolvedBeforeIsFlagged) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 10, "news.example.org");
  s.Answer(20, 10, "news.example.org", {"203.0.113.20"});
  s.Query(60'000, 11, "news.example.org");
  s.Answer(60'020, 11, "news.example.org", {}, 52, 3);
  s.Query(60'100, 12, "typo.example.org");  // never resolved
  s.Answer(60'120, 12, "typo.example.org", {}, 52, 3);
  s.End();
  ASSERT_EQ(s.decided.size(), 3u);
  EXPECT_EQ(s.decided[0].kind, DnsOutcomeKind::kAnswered);
  EXPECT_EQ(s.decided[1].kind, DnsOutcomeKind::kNxdomain);
  EXPECT_EQ(s.decided[1].name, "news.example.org");
  EXPECT_TRUE(s.decided[1].nxdomain_after_resolution);
  EXPECT_EQ(s.decided[1].first.rcode, 3);
  EXPECT_EQ(s.decided[2].kind, DnsOutcomeKind::kNxdomain);
  EXPECT_FALSE(s.decided[2].nxdomain_after_resolution);
}

TEST(DnsTrackerTest, ResolvedNamesAreBoundedLeastRecentFirst) {
  DnsTracker t(16, DnsTracker::kDefaultRaceWindowNs, DnsTracker::kDefaultMaxWaitNs, 2);
  Stub s(&t);
  s.Query(0, 1, "a.example");
  s.Answer(1, 1, "a.example", {"203.0.113.1"});
  s.Query(2, 2, "b.example");
  s.Answer(3, 2, "b.example", {"203.0.113.2"});
  s.Query(4, 3, "a.example");
  s.Answer(5, 3, "a.example", {"203.0.113.1"});  // a again: b is now the oldest
  s.Query(6, 4, "c.example");
  s.Answer(7, 4, "c.example", {"203.0.113.3"});
  EXPECT_TRUE(t.ResolvedBefore("a.example"));
  EXPECT_FALSE(t.ResolvedBefore("b.example"));
  EXPECT_TRUE(t.ResolvedBefore("c.example"));
}

TEST(DnsTrackerTest, AQuerySentAgainWithoutAnswerIsUnanswered) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 20, "blocked.example.com");
  s.Query(1000, 20, "blocked.example.com");
  s.Query(3000, 20, "blocked.example.com");
  t.Expire(9'000 * kMs, &s.decided);
  EXPECT_TRUE(s.decided.empty());
  t.Expire(10'001 * kMs, &s.decided);
  ASSERT_EQ(s.decided.size(), 1u);
  EXPECT_EQ(s.decided[0].kind, DnsOutcomeKind::kUnanswered);
  EXPECT_EQ(s.decided[0].attempts, 3);
  EXPECT_EQ(s.decided[0].answers, 0);
  EXPECT_EQ(s.decided[0].decided_ns, 3000 * kMs);
  EXPECT_LT(s.decided[0].first.delay_s, 0);
  EXPECT_FALSE(s.decided[0].retry_answered);
  EXPECT_EQ(t.pending(), 0u);
}

TEST(DnsTrackerTest, AQuerySentOnceWithoutAnswerShowsNothing) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 21, "gone.example.com");
  t.Expire(10'001 * kMs, &s.decided);
  EXPECT_TRUE(s.decided.empty());
  EXPECT_EQ(t.pending(), 0u);
  Stub s2(&t, 8);
  s2.Query(0, 22, "gone.example.com");
  s2.Query(100, 22, "gone.example.com");  // sooner than any retry timer: the same send
  s2.End();
  EXPECT_TRUE(s2.decided.empty());
}

TEST(DnsTrackerTest, TheQuestionAskedAgainOnAnotherPortRetriesIt) {
  DnsTracker t;
  Stub first(&t, 7, 40000);
  Stub again(&t, 8, 40001);  // a stub that opens a new socket, with a new id, per attempt
  first.Query(0, 30, "blocked.example.com", kAaaa);
  again.Query(2000, 31, "blocked.example.com", kAaaa);
  again.Answer(2030, 31, "blocked.example.com", {"2001:db8::1"}, 52, 0, kAaaa);
  Stub other(&t, 9, 40002);
  other.Query(2500, 32, "blocked.example.com", kA);  // another type: another question
  t.Expire(12'000 * kMs, &first.decided);
  ASSERT_EQ(first.decided.size(), 2u);  // in flow order
  EXPECT_EQ(first.decided[0].kind, DnsOutcomeKind::kUnanswered);
  EXPECT_EQ(first.decided[0].flow_id, 7u);
  EXPECT_EQ(first.decided[0].attempts, 2);
  EXPECT_EQ(first.decided[0].decided_ns, 2000 * kMs);
  EXPECT_TRUE(first.decided[0].retry_answered);  // a lost query, not a blocked name
  EXPECT_EQ(first.decided[1].kind, DnsOutcomeKind::kAnswered);
  EXPECT_EQ(first.decided[1].flow_id, 8u);
  EXPECT_EQ(first.decided[1].attempts, 1);
}

TEST(DnsTrackerTest, ANameBlockedByDroppingLeavesEverySendUnanswered) {
  DnsTracker t;
  Stub a(&t, 7, 40000), b(&t, 8, 40001), c(&t, 9, 40002);
  a.Query(0, 1, "blocked.example.com");
  b.Query(1000, 2, "blocked.example.com");
  c.Query(3000, 3, "blocked.example.com");
  t.Expire(14'000 * kMs, &a.decided);
  ASSERT_EQ(a.decided.size(), 2u);  // the last send was never retried: undecided
  EXPECT_EQ(a.decided[0].attempts, 3);
  EXPECT_EQ(a.decided[1].attempts, 2);
  for (const DnsOutcome& o : a.decided) {
    EXPECT_EQ(o.kind, DnsOutcomeKind::kUnanswered);
    EXPECT_FALSE(o.retry_answered);
  }
  EXPECT_EQ(t.pending(), 0u);
}

TEST(DnsTrackerTest, ParallelQueriesToTwoResolversAreNoRetry) {
  DnsTracker t;
  Stub a(&t, 7, 40000, "198.51.100.53");
  Stub b(&t, 8, 40001, "203.0.113.53");
  a.Query(0, 40, "www.example.com");
  b.Query(1, 41, "www.example.com");
  b.Answer(20, 41, "www.example.com", {"203.0.113.80"});
  a.End();
  b.End();
  ASSERT_EQ(b.decided.size(), 1u);
  EXPECT_TRUE(a.decided.empty());  // a never answered, never retried: no evidence
}

TEST(DnsTrackerTest, ALateAnswerIsNotCountedAfterTheDecisionWasDue) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 50, "slow.example.com");
  s.Answer(30, 50, "slow.example.com", {"203.0.113.1"});
  s.Answer(1500, 50, "slow.example.com", {"203.0.113.2"});  // past the race window
  ASSERT_EQ(s.decided.size(), 1u);  // decided as Expire() would have at 1030 ms
  EXPECT_EQ(s.decided[0].kind, DnsOutcomeKind::kAnswered);
  EXPECT_EQ(s.decided[0].answers, 1);
  EXPECT_EQ(t.unmatched(), 1u);
}

TEST(DnsTrackerTest, AnAnswerToAnotherQuestionIsNotTheQuerysAnswer) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 60, "www.example.com");
  s.Answer(10, 60, "other.example.com", {"10.0.0.1"});
  s.Answer(11, 61, "www.example.com", {"10.0.0.1"});
  EXPECT_EQ(t.unmatched(), 2u);
  s.Answer(20, 60, "WWW.Example.COM", {"203.0.113.4"});  // names are case-insensitive
  s.End();
  ASSERT_EQ(s.decided.size(), 1u);
  EXPECT_EQ(s.decided[0].kind, DnsOutcomeKind::kAnswered);
}

TEST(DnsTrackerTest, AQueryCutByTheSnaplenTakesItsQuestionFromTheAnswer) {
  DnsTracker t;
  Stub s(&t);
  // A 72-byte capture keeps 30 bytes of the DNS message: the header and part of the name.
  s.Send(0, kUp, DnsMessage(70, false, 0, "r5---sn-p5qs7n7z.googlevideo.com", kA), 64, 30);
  s.Send(1000, kUp, DnsMessage(70, false, 0, "r5---sn-p5qs7n7z.googlevideo.com", kA), 64, 30);
  s.Answer(1010, 70, "r5---sn-p5qs7n7z.googlevideo.com", {"10.1.1.1"});
  s.End();
  ASSERT_EQ(s.decided.size(), 1u);
  EXPECT_EQ(s.decided[0].name, "r5---sn-p5qs7n7z.googlevideo.com");
  EXPECT_EQ(s.decided[0].qtype, kA);
  EXPECT_EQ(s.decided[0].attempts, 2);
  EXPECT_EQ(s.decided[0].kind, DnsOutcomeKind::kBogon);
  EXPECT_EQ(t.malformed(), 0u);
}

TEST(DnsTrackerTest, AnswersCutByTheCaptureAreNotComparedAsSets) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 80, "cdn.example.com");
  const auto one = DnsMessage(80, true, 0, "cdn.example.com", kA, {"203.0.113.1", "203.0.113.2"});
  const auto two = DnsMessage(80, true, 0, "cdn.example.com", kA, {"203.0.113.2", "203.0.113.1"});
  s.Send(20, kDown, one, 52, one.size() - 16);  // the capture kept the first address only
  s.Send(21, kDown, two, 52, two.size() - 16);
  s.End();
  ASSERT_EQ(s.decided.size(), 1u);
  EXPECT_EQ(s.decided[0].kind, DnsOutcomeKind::kAnswered);
  EXPECT_FALSE(s.decided[0].first.whole);
  EXPECT_EQ(s.decided[0].first.address_count, 1);
}

// Every prefix of an answer, cut by the capture (the datagram was longer) or a whole datagram
// that short: no read past the bytes (the buffer is exactly that long), no answer invented.
TEST(DnsTrackerTest, AnAnswerTruncatedAtEveryOffsetIsSafe) {
  const auto full =
      DnsMessage(90, true, 0, "video.example.com", kAaaa, {"2001:db8::7", "192.0.2.8", "10.0.0.9"});
  for (bool cut_by_capture : {true, false}) {
    for (size_t n = 0; n <= full.size(); ++n) {
      DnsTracker t;
      Stub s(&t);
      s.Query(0, 90, "video.example.com", kAaaa);
      s.Send(10, kDown, full, 52, n, cut_by_capture ? full.size() : n);
      s.End();
      ASSERT_LE(s.decided.size(), 1u) << n;
      if (n < 12 || (!cut_by_capture && n < full.size())) {
        EXPECT_TRUE(s.decided.empty()) << n;  // no header, or malformed: ignored
        EXPECT_EQ(t.malformed(), cut_by_capture ? 0u : 1u) << n;
        continue;
      }
      ASSERT_EQ(s.decided.size(), 1u) << n;
      const DnsOutcome& o = s.decided[0];
      EXPECT_EQ(o.first.whole, n == full.size()) << n;
      EXPECT_LE(o.first.address_count, 3) << n;
      // Each record is 12 bytes of header (owner pointer, type, class, TTL, length) and its
      // address; the first starts after the 35-byte question.
      size_t whole_records = 0;
      for (size_t end = 12 + 23, i = 0; i < 3; ++i) {
        end += 12 + (i == 0 ? 16 : 4);
        if (end <= n) whole_records = i + 1;
      }
      EXPECT_EQ(o.first.address_count, whole_records) << n;
    }
  }
}

TEST(DnsTrackerTest, MalformedAndForeignDatagramsAreIgnored) {
  DnsTracker t;
  Stub s(&t);
  s.Query(0, 100, "www.example.com");
  auto loop = DnsMessage(100, true, 0, "www.example.com", kA, {"203.0.113.1"});
  loop[12] = 0xc0;  // the question's name points at itself
  loop[13] = 12;
  s.Send(5, kDown, loop, 52);
  EXPECT_EQ(t.malformed(), 1u);
  auto notify = DnsMessage(100, true, 0, "www.example.com", kA, {"203.0.113.1"});
  notify[2] |= 0x20;  // opcode 4 (NOTIFY)
  s.Send(6, kDown, notify, 52);
  auto chaos = DnsMessage(101, false, 0, "version.bind", 16);
  chaos[chaos.size() - 1] = 3;  // class CH
  s.Send(7, kUp, chaos, 64);
  EXPECT_EQ(t.pending(), 1u);
  s.End();
  EXPECT_TRUE(s.decided.empty());
}

TEST(DnsTrackerTest, QueriesBeyondTheTableAreCountedNotFollowed) {
  DnsTracker t(1);
  Stub s(&t);
  s.Query(0, 1, "a.example.com");
  s.Query(1, 2, "b.example.com");
  EXPECT_EQ(t.pending(), 1u);
  EXPECT_EQ(t.not_followed(), 1u);
}

TEST(DnsTrackerTest, TheFlowsEndDecidesItsQueriesAtOnce) {
  DnsTracker t;
  Stub s(&t);
  Stub other(&t, 8, 40001);
  s.Query(0, 1, "a.example.com");
  s.Answer(10, 1, "a.example.com", {"203.0.113.1"});
  s.Query(20, 2, "b.example.com");
  s.Answer(30, 2, "b.example.com", {}, 52, 3);
  other.Query(40, 3, "c.example.com");
  s.End();
  ASSERT_EQ(s.decided.size(), 2u);
  EXPECT_EQ(s.decided[0].kind, DnsOutcomeKind::kAnswered);
  EXPECT_EQ(s.decided[1].kind, DnsOutcomeKind::kNxdomain);
  EXPECT_EQ(t.pending(), 1u);  // the other flow's query
}

TEST(DnsTrackerTest, OtherTrafficIsNotLookedAt) {
  DnsTracker t;
  std::vector<DnsOutcome> decided;
  FlowInfo info;
  info.id = 3;
  const auto q = DnsMessage(1, false, 0, "www.example.com", kA);
  DecodedPacket tcp = testing::Packet("10.0.0.2", 40000, "198.51.100.53", 53, kIpProtoTcp);
  tcp.payload_len = uint32_t(q.size());
  t.OnPacket(0, tcp, q.data(), uint32_t(q.size()), info, kUp, &decided);
  DecodedPacket inbound = testing::Packet("198.51.100.9", 40000, "10.0.0.2", 53, kIpProtoUdp);
  inbound.payload_len = uint32_t(q.size());  // a query to the local side: not ours
  t.OnPacket(0, inbound, q.data(), uint32_t(q.size()), info, kDown, &decided);
  DecodedPacket later = testing::Packet("10.0.0.2", 40000, "198.51.100.53", 53, kIpProtoUdp);
  later.payload_len = uint32_t(q.size());
  later.later_fragment = true;
  t.OnPacket(0, later, q.data(), uint32_t(q.size()), info, kUp, &decided);
  EXPECT_EQ(t.pending(), 0u);
  EXPECT_EQ(t.malformed(), 0u);
}

TEST(DnsTrackerTest, KindNames) {
  EXPECT_EQ(DnsOutcomeKindName(DnsOutcomeKind::kAnswered), "answered");
  EXPECT_EQ(DnsOutcomeKindName(DnsOutcomeKind::kNxdomain), "nxdomain");
  EXPECT_EQ(DnsOutcomeKindName(DnsOutcomeKind::kRacing), "racing");
  EXPECT_EQ(DnsOutcomeKindName(DnsOutcomeKind::kBogon), "bogon");
  EXPECT_EQ(DnsOutcomeKindName(DnsOutcomeKind::kUnanswered), "unanswered");
}

}  // namespace
}  // namespace tw::capture
