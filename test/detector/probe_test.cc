#include "detector/probe.h"

#include <utility>  // before Asio (GCC 12)

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

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
