#include "capture/connection_opening.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "capture/ip_proto.h"
#include "test/support/decoded_packet.h"

namespace tw::capture {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000 * kMs;
constexpr uint8_t kSynAck = kTcpSyn | kTcpAck;

// The harness captures a packet's first kCaptured bytes (fewer if it carries fewer); every
// payload below is at least that long.
constexpr uint32_t kCaptured = 16;
// The start of a TLS record holding a ClientHello, and of an HTTP request.
constexpr std::array<uint8_t, kCaptured> kHello = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
constexpr std::array<uint8_t, kCaptured> kGet = {'G', 'E', 'T', ' ', '/', ' ', 'H',  'T',
                                                 'T', 'P', '/', '1', '.', '1', '\r', '\n'};
// A QUIC v1 Initial's first bytes: long header, version 1, connection ids and padding.
constexpr std::array<uint8_t, kCaptured> kInitial = {0xc3, 0, 0, 0, 1, 8, 1, 2,
                                                     3,    4, 5, 6, 7, 8, 0, 0};

// One connection from 10.0.0.2:40000 to 192.0.2.7:443, packet by packet.
class Connection {
 public:
  explicit Connection(OpeningTracker* t, uint8_t proto = kIpProtoTcp) : t_(t), proto_(proto) {
    info_.id = 7;
    info_.first_ns = 0;
  }
  // A packet from the client (up) or the server (down) at `ms`.
  void Up(int64_t ms, uint8_t flags, uint32_t seq = 0, const uint8_t* data = nullptr,
          uint32_t len = 0) {
    Send(ms, kUp, flags, seq, data, len, 64);
  }
  void Down(int64_t ms, uint8_t flags, uint32_t len = 0, uint8_t ttl = 50) {
    Send(ms, kDown, flags, 0, kGet.data(), len, ttl);
  }
  // The server's data `text` at `ms`, with IP TTL `ttl`.
  void DownData(int64_t ms, const std::string& text, uint8_t ttl) {
    Send(ms, kDown, kTcpAck | kTcpPsh, 0, reinterpret_cast<const uint8_t*>(text.data()),
         uint32_t(text.size()), ttl);
  }
  void Hello(int64_t ms, uint32_t seq = 1) { Up(ms, kTcpAck | kTcpPsh, seq, kHello.data(), 517); }
  // SYN at 0, SYN-ACK at 20 ms, the ClientHello at 21 ms.
  void Handshake() {
    Up(0, kTcpSyn);
    Down(20, kSynAck);
    Hello(21);
  }
  void End() { t_->OnFlowEnd(info_.id, &decided); }
  std::vector<Opening> decided;

 private:
  void Send(int64_t ms, Direction d, uint8_t flags, uint32_t seq, const uint8_t* data, uint32_t len,
            uint8_t ttl) {
    DecodedPacket p = d == kUp ? testing::Packet("10.0.0.2", 40000, "192.0.2.7", 443, proto_)
                               : testing::Packet("192.0.2.7", 443, "10.0.0.2", 40000, proto_);
    p.tcp_flags = proto_ == kIpProtoTcp ? flags : 0;
    p.tcp_seq = seq;
    p.payload_len = len;
    p.ip_ttl = ttl;
    t_->OnPacket(ms * kMs, p, data, data == nullptr ? 0 : std::min(len, kCaptured), info_, d,
                 &decided);
  }
  OpeningTracker* t_;
  uint8_t proto_;
  FlowInfo info_;
};

TEST(OpeningTrackerTest, AServerThatAnswersCompletesTheOpening) {
  OpeningTracker t;
  Connection c(&t);
  c.Handshake();
  c.Down(45, kTcpAck, 1400);
  ASSERT_EQ(c.decided.size(), 1u);
  const Opening& o = c.decided[0];
  EXPECT_EQ(o.outcome, OpeningOutcome::kCompleted);
  EXPECT_EQ(o.flow.id, 7u);
  EXPECT_TRUE(o.hello);
  EXPECT_NEAR(o.handshake_rtt_s, 0.020, 1e-6);
  EXPECT_EQ(o.decided_ns, 45 * kMs);
  EXPECT_EQ(t.pending(), 0u);
}

TEST(OpeningTrackerTest, SynsSentAgainWithoutAnswerAreUnanswered) {
  OpeningTracker t;
  Connection c(&t);
  c.Up(0, kTcpSyn);
  c.Up(1000, kTcpSyn);
  c.Up(3000, kTcpSyn);
  EXPECT_TRUE(c.decided.empty());
  c.End();
  ASSERT_EQ(c.decided.size(), 1u);
  EXPECT_EQ(c.decided[0].outcome, OpeningOutcome::kSynUnanswered);
  EXPECT_EQ(c.decided[0].attempts, 3);
  EXPECT_EQ(c.decided[0].decided_ns, 3 * kS);
  EXPECT_LT(c.decided[0].handshake_rtt_s, 0);
}

TEST(OpeningTrackerTest, AClientThatGaveUpAfterOneSynShowsNothing) {
  OpeningTracker t;
  Connection c(&t);
  c.Up(0, kTcpSyn);
  c.End();
  EXPECT_TRUE(c.decided.empty());
  EXPECT_EQ(t.pending(), 0u);
}

TEST(OpeningTrackerTest, AResetAnsweringTheSynIsARefusal) {
  OpeningTracker t;
  Connection c(&t);
  c.Up(0, kTcpSyn);
  c.Down(30, kTcpRst | kTcpAck, 0, 57);
  ASSERT_EQ(c.decided.size(), 1u);
  EXPECT_EQ(c.decided[0].outcome, OpeningOutcome::kRefused);
  EXPECT_NEAR(c.decided[0].reset_after_s, 0.030, 1e-6);
  EXPECT_EQ(c.decided[0].reset_ttl, 57);
  EXPECT_EQ(c.decided[0].reset_ttl_delta, Opening::kNoTtl);
}

TEST(OpeningTrackerTest, AResetAfterTheClientHelloCarriesItsFingerprints) {
  OpeningTracker t;
  Connection c(&t);
  c.Handshake();
  c.Down(23, kTcpRst, 0, 62);  // 2 ms after the ClientHello, on a 20 ms path, 12 hops closer
  ASSERT_EQ(c.decided.size(), 1u);
  const Opening& o = c.decided[0];
  EXPECT_EQ(o.outcome, OpeningOutcome::kResetAfterRequest);
  EXPECT_TRUE(o.hello);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_NEAR(o.reset_after_s, 0.002, 1e-6);
  EXPECT_EQ(o.reset_ttl_delta, 12);
}

TEST(OpeningTrackerTest, AnHttpRequestResetIsNoClientHello) {
  OpeningTracker t;
  Connection c(&t);
  c.Up(0, kTcpSyn);
  c.Down(20, kSynAck);
  c.Up(21, kTcpAck | kTcpPsh, 1, kGet.data(), 80);
  c.Down(40, kTcpRst);
  ASSERT_EQ(c.decided.size(), 1u);
  EXPECT_EQ(c.decided[0].outcome, OpeningOutcome::kResetAfterRequest);
  EXPECT_FALSE(c.decided[0].hello);
}

TEST(OpeningTrackerTest, AnHttpResponseCarriesItsStatusAndItsTtlAgainstTheServers) {
  OpeningTracker t1, t2;  // one connection each: they share a flow id
  Connection censored(&t1), site(&t2);
  for (Connection* c : {&censored, &site}) {
    c->Up(0, kTcpSyn);
    c->Down(20, kSynAck);  // TTL 50
    c->Up(21, kTcpAck | kTcpPsh, 1, kGet.data(), 80);
  }
  censored.DownData(22, "HTTP/1.1 302 Found\r\n", 64);  // a box 14 hops nearer, at once
  site.DownData(41, "HTTP/1.1 200 OK\r\n", 50);
  ASSERT_EQ(censored.decided.size(), 1u);
  EXPECT_EQ(censored.decided[0].outcome, OpeningOutcome::kCompleted);
  EXPECT_EQ(censored.decided[0].http_status, 302);
  EXPECT_EQ(censored.decided[0].data_ttl_delta, 14);
  ASSERT_EQ(site.decided.size(), 1u);
  EXPECT_EQ(site.decided[0].http_status, 200);
  EXPECT_EQ(site.decided[0].data_ttl_delta, 0);
}

TEST(OpeningTrackerTest, AClientHelloSentAgainIsUnansweredOnceTheWaitIsOver) {
  OpeningTracker t;
  Connection c(&t);
  c.Handshake();
  c.Up(22, kTcpAck);  // an ACK without data is no attempt
  c.Hello(250);
  c.Hello(700);
  t.Expire(9 * kS, &c.decided);
  EXPECT_TRUE(c.decided.empty());
  t.Expire(11 * kS, &c.decided);
  ASSERT_EQ(c.decided.size(), 1u);
  EXPECT_EQ(c.decided[0].outcome, OpeningOutcome::kRequestUnanswered);
  EXPECT_EQ(c.decided[0].attempts, 3);
  EXPECT_EQ(c.decided[0].decided_ns, 700 * kMs);
  EXPECT_EQ(t.pending(), 0u);
}

TEST(OpeningTrackerTest, AServerThatAcknowledgesButSaysNothingIsSlowNotBlocked) {
  OpeningTracker t;
  Connection c(&t);
  c.Handshake();
  c.Down(41, kTcpAck);
  c.Up(5000, kTcpAck | kTcpFin);
  c.End();
  EXPECT_TRUE(c.decided.empty());
}

TEST(OpeningTrackerTest, QuicInitialsWithoutAnyDatagramBackAreUnanswered) {
  OpeningTracker t;
  Connection c(&t, kIpProtoUdp);
  c.Up(0, 0, 0, kInitial.data(), 1200);
  c.Up(300, 0, 0, kInitial.data(), 1200);
  c.Up(900, 0, 0, kInitial.data(), 1200);
  c.End();
  ASSERT_EQ(c.decided.size(), 1u);
  EXPECT_EQ(c.decided[0].outcome, OpeningOutcome::kQuicUnanswered);
  EXPECT_EQ(c.decided[0].attempts, 3);
}

TEST(OpeningTrackerTest, AnyQuicDatagramBackCompletesTheOpening) {
  OpeningTracker t;
  Connection c(&t, kIpProtoUdp);
  c.Up(0, 0, 0, kInitial.data(), 1200);
  c.Down(25, 0, 1200);
  ASSERT_EQ(c.decided.size(), 1u);
  EXPECT_EQ(c.decided[0].outcome, OpeningOutcome::kCompleted);
}

TEST(OpeningTrackerTest, TheClientsLaterFragmentsAreNoAttempts) {
  OpeningTracker t;
  std::vector<Opening> decided;
  FlowInfo info;
  info.id = 9;
  DecodedPacket initial = testing::Packet("10.0.0.2", 40000, "192.0.2.7", 443, kIpProtoUdp);
  initial.payload_len = 1200;
  t.OnPacket(0, initial, kInitial.data(), uint32_t(kInitial.size()), info, kUp, &decided);
  DecodedPacket rest = initial;  // the Initial's second fragment: its bytes may look like one
  rest.later_fragment = true;
  t.OnPacket(1 * kMs, rest, kInitial.data(), uint32_t(kInitial.size()), info, kUp, &decided);
  t.OnFlowEnd(info.id, &decided);
  EXPECT_TRUE(decided.empty());  // one Initial, never sent again: undecided
}

TEST(OpeningTrackerTest, ConnectionsSeenWithoutTheirStartAreNotFollowed) {
  OpeningTracker t;
  Connection c(&t);
  c.Up(5, kTcpAck | kTcpPsh, 1, kHello.data(), 517);  // not the flow's first packet
  c.Up(9, kTcpSyn);                                   // nor this one
  EXPECT_EQ(t.pending(), 0u);
  Connection udp(&t, kIpProtoUdp);
  udp.Up(0, 0, 0, kGet.data(), 100);  // a UDP flow that is not QUIC
  EXPECT_EQ(t.pending(), 0u);
}

TEST(OpeningTrackerTest, OpeningsBeyondTheTableAreCountedNotFollowed) {
  OpeningTracker t(0);
  Connection c(&t);
  c.Up(0, kTcpSyn);
  c.Up(1000, kTcpSyn);
  c.End();
  EXPECT_TRUE(c.decided.empty());
  EXPECT_EQ(t.not_followed(), 1u);
}

}  // namespace
}  // namespace tw::capture
