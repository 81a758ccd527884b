#include "detector/daemon/probe.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>  // before Asio (GCC 12)

namespace tw::detector {
namespace {

namespace asio = boost::asio;

TEST(ProbeTargetTest, Parses) {
  std::string host, port, error;
  ASSERT_TRUE(ParseProbeTarget("192.0.2.1:443", &host, &port, &error));
  EXPECT_EQ(host, "192.0.2.1");
  EXPECT_EQ(port, "443");
  ASSERT_TRUE(ParseProbeTarget("[2001:db8::1]:53", &host, &port, &error));
  EXPECT_EQ(host, "2001:db8::1");
  EXPECT_FALSE(ParseProbeTarget("2001:db8::1:53", &host, &port, &error));
  EXPECT_FALSE(ParseProbeTarget("host", &host, &port, &error));
  EXPECT_FALSE(ParseProbeTarget("host:0", &host, &port, &error));
  EXPECT_FALSE(ParseProbeTarget("host:99999", &host, &port, &error));
}

TEST(ProbeTargetTest, LabelsHideAddressesUnderAnonymization) {
  const std::array<uint8_t, 32> key = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                       12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                       23, 24, 25, 26, 27, 28, 29, 30, 31};
  const capture::AddressFormatter anon(std::make_shared<capture::Anonymizer>(key));
  const capture::AddressFormatter plain;
  EXPECT_EQ(ProbeLabel("192.0.2.10:443", plain), "192.0.2.10:443");
  const std::string v4 = ProbeLabel("192.0.2.10:443", anon);
  EXPECT_EQ(v4, anon.Format(*capture::Address::Parse("192.0.2.10")) + ":443");
  EXPECT_EQ(v4.find("192.0.2.10"), std::string::npos);
  const std::string v6 = ProbeLabel("dns:[2001:db8::53]", anon);
  EXPECT_EQ(v6, "dns:[" + anon.Format(*capture::Address::Parse("2001:db8::53")) + "]:53");
  // A name is the operator's choice, like a server name: kept.
  EXPECT_EQ(ProbeLabel("dns:resolver.example:5353", anon), "dns:resolver.example:5353");
  EXPECT_EQ(ProbeLabel("not a target", anon), "not a target");
}

TEST(ProbeTargetTest, ParsesDnsTargets) {
  ProbeSpec p;
  std::string error;
  ASSERT_TRUE(ParseProbe("192.0.2.1:443", &p, &error));
  EXPECT_EQ(p.kind, ProbeSpec::Kind::kTcp);
  ASSERT_TRUE(ParseProbe("dns:192.0.2.53", &p, &error)) << error;
  EXPECT_EQ(p.kind, ProbeSpec::Kind::kDns);
  EXPECT_EQ(p.host, "192.0.2.53");
  EXPECT_EQ(p.port, "53");
  ASSERT_TRUE(ParseProbe("dns:resolver.example:5353", &p, &error));
  EXPECT_EQ(p.host, "resolver.example");
  EXPECT_EQ(p.port, "5353");
  ASSERT_TRUE(ParseProbe("dns:[2001:db8::53]", &p, &error));
  EXPECT_EQ(p.host, "2001:db8::53");
  EXPECT_EQ(p.port, "53");
  ASSERT_TRUE(ParseProbe("dns:[2001:db8::53]:853", &p, &error));
  EXPECT_EQ(p.port, "853");
  EXPECT_FALSE(ParseProbe("dns:", &p, &error));
  EXPECT_FALSE(ParseProbe("dns:[2001:db8::53", &p, &error));
  EXPECT_FALSE(ParseProbe("dns:host:0", &p, &error));
  EXPECT_FALSE(ParseProbe("192.0.2.1", &p, &error));  // TCP needs a port
}

TEST(DnsProbeTest, QueryIsTheRootNsQuestionAndAnswersMatchById) {
  uint8_t q[17];
  ASSERT_EQ(MakeDnsProbeQuery(0xbeef, q), 17u);
  const uint8_t want[17] = {0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1};
  EXPECT_EQ(0, std::memcmp(q, want, 17));
  EXPECT_FALSE(IsDnsProbeAnswer(q, 17, 0xbeef));  // a query is not an answer
  q[2] |= 0x80;
  EXPECT_TRUE(IsDnsProbeAnswer(q, 17, 0xbeef));
  q[3] = 0x05;  // REFUSED still proves the server answered
  EXPECT_TRUE(IsDnsProbeAnswer(q, 17, 0xbeef));
  EXPECT_FALSE(IsDnsProbeAnswer(q, 17, 0xbeee));
  EXPECT_FALSE(IsDnsProbeAnswer(q, 11, 0xbeef));
}

// Loopback only: a server that answers, one that answers with the wrong id first and then
// right, and one that never answers.
TEST(ProberTest, DnsProbesNeedAnAnswerToTheirQuery) {
  asio::io_context io;
  using udp = asio::ip::udp;
  const auto lo = asio::ip::make_address("127.0.0.1");
  udp::socket good(io, {lo, 0}), picky(io, {lo, 0}), silent(io, {lo, 0});
  uint8_t buf[2][512];
  udp::endpoint from[2];
  std::function<void(int, udp::socket*)> serve = [&](int k, udp::socket* s) {
    s->async_receive_from(asio::buffer(buf[k]), from[k],
                          [&, k, s](const boost::system::error_code& ec, size_t n) {
                            if (ec) return;
                            buf[k][2] |= 0x80;
                            if (k == 1) {  // first a stray datagram with another id
                              uint8_t stray[17];
                              std::memcpy(stray, buf[k], 17);
                              stray[0] ^= 0xff;
                              s->send_to(asio::buffer(stray, 17), from[k]);
                            }
                            s->send_to(asio::buffer(buf[k], n), from[k]);
                            serve(k, s);
                          });
  };
  serve(0, &good);
  serve(1, &picky);
  auto text = [](const udp::socket& s) {
    return "dns:127.0.0.1:" + std::to_string(s.local_endpoint().port());
  };
  const std::vector<std::string> targets = {text(good), text(picky), text(silent)};
  int results[3][2] = {};
  Prober prober(io, targets, std::chrono::milliseconds(50), std::chrono::milliseconds(150),
                [&](size_t t, bool ok, double) { ++results[t][ok ? 1 : 0]; });
  prober.Start();
  asio::steady_timer stop(io);
  stop.expires_after(std::chrono::milliseconds(500));
  stop.async_wait([&](const boost::system::error_code&) {
    prober.Stop();
    good.close();
    picky.close();
    silent.close();
  });
  io.run();
  EXPECT_GE(results[0][1], 3);
  EXPECT_EQ(results[0][0], 0);
  EXPECT_GE(results[1][1], 3);
  EXPECT_EQ(results[1][0], 0);
  EXPECT_GE(results[2][0], 1);  // timed out (150 ms each, one at a time)
  EXPECT_EQ(results[2][1], 0);
}

// Loopback only: one target that accepts, one that refuses.
TEST(ProberTest, ReportsSuccessAndFailurePerTarget) {
  asio::io_context io;
  asio::ip::tcp::acceptor open(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::acceptor closed(io, {asio::ip::make_address("127.0.0.1"), 0});
  const int closed_port = closed.local_endpoint().port();
  closed.close();  // nothing listens there any more: connection refused
  const std::vector<std::string> targets = {
      "127.0.0.1:" + std::to_string(open.local_endpoint().port()),
      "127.0.0.1:" + std::to_string(closed_port)};
  int results[2][2] = {{0, 0}, {0, 0}};  // [target][ok]
  double max_rtt = 0;
  Prober prober(io, targets, std::chrono::milliseconds(50), std::chrono::milliseconds(500),
                [&](size_t t, bool ok, double rtt) {
                  ++results[t][ok ? 1 : 0];
                  if (ok) max_rtt = std::max(max_rtt, rtt);
                });
  prober.Start();
  asio::steady_timer stop(io);
  stop.expires_after(std::chrono::milliseconds(400));
  stop.async_wait([&](const boost::system::error_code&) {
    prober.Stop();
    open.close();
  });
  io.run();
  EXPECT_GE(results[0][1], 3);
  EXPECT_EQ(results[0][0], 0);
  EXPECT_GE(results[1][0], 3);
  EXPECT_EQ(results[1][1], 0);
  EXPECT_LT(max_rtt, 0.5);
}

}  // namespace
}  // namespace tw::detector
