#include "capture/live_source.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "capture/decode.h"
#include "capture/ip_proto.h"
#include "capture/server_names.h"
#include "capture/tls_sni.h"
#include "test/support/tls_client_hello.h"

namespace tw::capture {
namespace {

// Opens the loopback interface, or skips: live capture needs root or CAP_NET_RAW.
std::unique_ptr<PcapLiveSource> OpenLoopback(const std::string& filter, std::string* error) {
  LiveOptions o;
  o.interface = "lo";
  o.bpf_filter = filter;
  o.buffer_bytes = 1 << 20;
  return PcapLiveSource::Open(o, error);
}

TEST(PcapLiveSourceTest, CapturesHeadersOnLoopback) {
  std::string error;
  auto src = OpenLoopback("udp and dst port 47123", &error);
  if (!src) GTEST_SKIP() << "cannot capture on lo (needs root or CAP_NET_RAW): " << error;
  const int s = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(47123);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char payload[1000] = {0};
  ASSERT_EQ(sendto(s, payload, sizeof(payload), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
            ssize_t(sizeof(payload)));
  close(s);
  Packet pkt;
  SourceStatus st = SourceStatus::kIdle;
  for (int i = 0; i < 20 && st != SourceStatus::kPacket; ++i) st = src->Next(&pkt);
  ASSERT_EQ(st, SourceStatus::kPacket);
  EXPECT_EQ(pkt.caplen, 128u);  // snaplen 128: headers only
  EXPECT_EQ(pkt.wire_len, 14u + 20 + 8 + 1000);
  DecodedPacket d;
  ASSERT_EQ(Decode(pkt.link_type, pkt.data, pkt.caplen, &d), DecodeStatus::kOk);
  EXPECT_EQ(d.dst_port, 47123);
  EXPECT_EQ(d.payload_len, 1000u);
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_LT(std::abs(now - pkt.ts_ns), int64_t(5'000'000'000));
  CaptureCounters c;
  ASSERT_TRUE(src->Counters(&c));
  EXPECT_GE(c.received, 1u);
  EXPECT_EQ(c.dropped, 0u);
}

TEST(PcapLiveSourceTest, IdleAfterTimeoutAndStopWakesAWaitingReader) {
  std::string error;
  auto src = OpenLoopback("udp and dst port 1", &error);  // nothing matches
  if (!src) GTEST_SKIP() << "cannot capture on lo (needs root or CAP_NET_RAW): " << error;
  Packet pkt;
  EXPECT_EQ(src->Next(&pkt), SourceStatus::kIdle);
  std::thread stopper([&] { src->Stop(); });
  stopper.join();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(src->Next(&pkt), SourceStatus::kIdle);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(90));
}

// Sends `payload` over a fresh TCP connection on loopback (::1 when v6); false if the socket
// calls fail.
bool SendOverTcp(const std::vector<uint8_t>& payload, bool v6 = false) {
  sockaddr_storage st{};
  socklen_t len = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&st);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&st);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  auto* addr = reinterpret_cast<sockaddr*>(&st);
  const int lst = socket(st.ss_family, SOCK_STREAM, 0);
  if (lst < 0 || bind(lst, addr, len) != 0 || listen(lst, 1) != 0 ||
      getsockname(lst, addr, &len) != 0) {
    if (lst >= 0) close(lst);
    return false;
  }
  const int c = socket(st.ss_family, SOCK_STREAM, 0);
  bool ok = connect(c, addr, len) == 0 &&
            send(c, payload.data(), payload.size(), 0) == ssize_t(payload.size());
  const int srv = accept(lst, nullptr, nullptr);
  ok = ok && srv >= 0;
  close(c);
  if (srv >= 0) close(srv);
  close(lst);
  return ok;
}

// Sends a small UDP datagram from 127.0.0.77:from_port (0 = any) to 127.0.0.1:9.
bool SendUdp(uint16_t from_port, uint16_t to_port = 9) {
  const int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in src{}, dst{};
  src.sin_family = dst.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(0x7f00004d);
  src.sin_port = htons(from_port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dst.sin_port = htons(to_port);
  const char msg[40] = {0x12, 0x34, char(0x81), char(0x80)};
  const bool ok = s >= 0 && bind(s, reinterpret_cast<sockaddr*>(&src), sizeof(src)) == 0 &&
                  sendto(s, msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) ==
                      ssize_t(sizeof(msg));
  if (s >= 0) close(s);
  return ok;
}

TEST(PcapLiveSourceTest, ServiceNameFilterKeepsClientHellosAndDnsWhole) {
  LiveOptions o;
  o.interface = "lo";
  o.bpf_filter = kServerNameFilter;
  o.snaplen = 2048;
  o.buffer_bytes = 1 << 20;
  std::string error;
  auto src = PcapLiveSource::Open(o, &error);
  if (!src) GTEST_SKIP() << "cannot capture on lo (needs root or CAP_NET_RAW): " << error;
  // Three connections: ClientHellos over IPv4 and IPv6 (kept) and an HTTP request (not); four
  // UDP datagrams, one from port 53 and one to it (kept: a DNS answer and a query). The handshake
  // packets and ACKs carry no TLS record (not kept).
  ASSERT_TRUE(SendOverTcp(tw::testing::ClientHello("live-video.example")));
  const bool v6 = SendOverTcp(tw::testing::ClientHello("v6.example"), /*v6=*/true);
  const std::string http = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
  ASSERT_TRUE(SendOverTcp(std::vector<uint8_t>(http.begin(), http.end())));
  ASSERT_TRUE(SendUdp(53));  // needs root, as the capture did
  ASSERT_TRUE(SendUdp(0, 53));
  ASSERT_TRUE(SendUdp(0));
  ASSERT_TRUE(SendUdp(0));
  std::vector<std::string> names;
  int dns = 0, other = 0;
  Packet pkt;
  for (int idle = 0; idle < 5;) {
    if (src->Next(&pkt) != SourceStatus::kPacket) {
      ++idle;
      continue;
    }
    DecodedPacket d;
    ASSERT_EQ(Decode(pkt.link_type, pkt.data, pkt.caplen, &d), DecodeStatus::kOk);
    std::string_view sni;
    if (d.ip_proto == capture::kIpProtoTcp &&
        ParseTlsSni(pkt.data + d.payload_offset, pkt.caplen - d.payload_offset, &sni)) {
      names.emplace_back(sni);
    } else if (d.ip_proto == capture::kIpProtoUdp && (d.src_port == 53 || d.dst_port == 53)) {
      ++dns;
    } else {
      ++other;
    }
  }
  std::vector<std::string> want = {"live-video.example"};
  if (v6) want.push_back("v6.example");  // a host without IPv6 on lo only has the IPv4 one
  EXPECT_EQ(names, want);
  EXPECT_EQ(dns, 2);
  EXPECT_EQ(other, 0);
}

TEST(PcapLiveSourceTest, UnknownInterfaceIsAnError) {
  LiveOptions o;
  o.interface = "tw-no-such0";
  std::string error;
  EXPECT_EQ(PcapLiveSource::Open(o, &error), nullptr);
  EXPECT_NE(error.find("tw-no-such0"), std::string::npos) << error;
}

TEST(PcapLiveSourceTest, InterfaceNetworksOfLoopback) {
  EXPECT_NE(InterfaceNetworks("lo").find("127.0.0.0/8"), std::string::npos);
}

}  // namespace
}  // namespace tw::capture
