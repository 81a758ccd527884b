#include "capture/live_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "capture/decode.h"

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
