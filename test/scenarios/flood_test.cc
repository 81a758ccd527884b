// A flood of unique flows (a SYN scan from spoofed sources: 10 million distinct 5-tuples)
// through decode -> Binner -> Engine, with the default --max-flows, while a long download is
// throttled half-way. The flow table must stay under its cap, count its evictions, and the
// throttle must still be found (the long flow, which carries the evidence, is not evicted).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "capture/binner.h"
#include "capture/decode.h"
#include "capture/server_names.h"
#include "detector/core/engine.h"
#include "detector/outputs/event_json.h"
#include "test/support/event_checks.h"

namespace tw::detector {
namespace {

using capture::kLinkEthernet;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

// Ethernet + IPv4 + TCP with a timestamp option: 66 bytes, as a headers-only capture holds.
struct Frame {
  uint8_t b[66] = {};
  uint32_t wire_len = 66;
};

Frame Tcp(const uint8_t src[4], const uint8_t dst[4], uint16_t sport, uint16_t dport, uint32_t seq,
          uint32_t ack, uint8_t flags, uint32_t payload, uint32_t ts_val, uint32_t ts_ecr) {
  Frame f;
  uint8_t* b = f.b;
  b[12] = 0x08;
  uint8_t* ip = b + 14;
  ip[0] = 0x45;
  const uint32_t total = 20 + 32 + payload;
  ip[2] = uint8_t(total >> 8), ip[3] = uint8_t(total);
  ip[8] = 64, ip[9] = 6;
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  uint8_t* t = ip + 20;
  t[0] = uint8_t(sport >> 8), t[1] = uint8_t(sport), t[2] = uint8_t(dport >> 8),
  t[3] = uint8_t(dport);
  for (int i = 0; i < 4; ++i) t[4 + i] = uint8_t(seq >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) t[8 + i] = uint8_t(ack >> (24 - 8 * i));
  t[12] = 8 << 4;
  t[13] = flags;
  t[14] = 0xff, t[15] = 0xff;
  const uint8_t opts[4] = {1, 1, 8, 10};
  std::memcpy(t + 20, opts, 4);
  for (int i = 0; i < 4; ++i) t[24 + i] = uint8_t(ts_val >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) t[28 + i] = uint8_t(ts_ecr >> (24 - 8 * i));
  f.wire_len = 14 + total;
  return f;
}

struct Timed {
  int64_t t;
  Frame f;
};

// A bulk download from remote:443 to local:port at `rate` bytes/s over a path of `rtt_s`, one
// ACK per two segments; each segment's TSecr echoes the newest office ACK that left at least
// rtt_s before it, as a real sender does.
void Download(std::vector<Timed>* out, const uint8_t local[4], const uint8_t remote[4],
              uint16_t port, double t0, double t1, double rate, double rtt_s, uint32_t* seq) {
  const auto ms = [](double t) { return uint32_t(int64_t(t * 1000) & 0xffffffff); };
  const double gap = 1448.0 / rate;
  std::vector<double> acks;
  size_t echoed = 0;
  int n = 0;
  for (double t = t0; t < t1; t += gap, ++n) {
    while (echoed < acks.size() && acks[echoed] <= t - rtt_s) ++echoed;
    const uint32_t ecr = echoed > 0 ? ms(acks[echoed - 1]) : 0;
    out->push_back(
        {kT0 + int64_t(t * 1e9), Tcp(remote, local, 443, port, *seq, 1, 0x10, 1448, ms(t), ecr)});
    *seq += 1448;
    if (n % 2 == 1) {
      acks.push_back(t + 0.0005);
      out->push_back({kT0 + int64_t((t + 0.0005) * 1e9),
                      Tcp(local, remote, port, 443, 1, *seq, 0x10, 0, ms(t + 0.0005), ms(t))});
    }
  }
}

// Resident-set high-water mark of this process, in bytes (0 when unknown).
uint64_t PeakRssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

class CheckingCollector final : public EventSink {
 public:
  void OnEvent(const Event& e) override {
    const std::string p = testing::EventProblems(e);
    EXPECT_TRUE(p.empty()) << p << "\n" << EventToJson(e);
    events.push_back(e);
  }
  std::vector<Event> events;
};

TEST(FloodTest, TenMillionSpoofedFlowsStayUnderTheCapAndTheThrottleIsStillFound) {
  constexpr uint64_t kFloodFlows = 10'000'000;
  constexpr double kSpan = 120;  // seconds of packet time
  const uint8_t office[4] = {10, 0, 0, 2}, office2[4] = {10, 0, 0, 3};
  const uint8_t video[4] = {192, 0, 2, 1}, other[4] = {198, 51, 100, 9};

  // The evidence: a download squeezed from 1 MB/s to 200 kB/s at t = 60 s, its RTT inflating
  // from 20 to 200 ms (a shaper's queue), beside a reference download that keeps its rate.
  std::vector<Timed> legit;
  uint32_t seq1 = 1000, seq2 = 5000;
  Download(&legit, office, video, 40000, 0, 60, 1e6, 0.02, &seq1);
  Download(&legit, office, video, 40000, 60, kSpan, 2e5, 0.2, &seq1);
  Download(&legit, office2, other, 40001, 0, kSpan, 1e6, 0.02, &seq2);
  std::stable_sort(legit.begin(), legit.end(),
                   [](const Timed& a, const Timed& b) { return a.t < b.t; });

  capture::BinnerParams bp;  // the defaults, as `throttlewatch replay` uses them
  const size_t cap = bp.max_flows;
  CheckingCollector sink;
  capture::ServerNames names;
  Engine engine({}, &sink, &names);
  capture::Binner binner(bp, capture::LocalNetworks({*capture::Cidr::Parse("10.0.0.0/24")}),
                         &engine);
  const uint64_t rss_before = PeakRssBytes();

  capture::DecodedPacket d;
  size_t next = 0;
  uint64_t decoded = 0;
  size_t max_active = 0, max_tracked = 0;
  for (uint64_t i = 0; i < kFloodFlows; ++i) {
    const int64_t t = kT0 + int64_t(double(i) * kSpan * 1e9 / double(kFloodFlows));
    for (; next < legit.size() && legit[next].t <= t; ++next) {
      const Frame& f = legit[next].f;
      ASSERT_EQ(capture::Decode(kLinkEthernet, f.b, sizeof(f.b), &d), capture::DecodeStatus::kOk);
      binner.OnPacket(legit[next].t, f.wire_len, d);
    }
    // A SYN from a spoofed source: 11.0.0.0/8 scrambled, so every 5-tuple is new.
    const uint32_t s = uint32_t((i * 2654435761u) & 0xffffff);
    const uint8_t src[4] = {11, uint8_t(s >> 16), uint8_t(s >> 8), uint8_t(s)};
    const uint8_t dst[4] = {10, 0, 0, uint8_t(1 + i % 254)};
    const Frame f = Tcp(src, dst, uint16_t(1024 + (i >> 24)), 80, uint32_t(i), 0, 0x02, 0, 0, 0);
    if (capture::Decode(kLinkEthernet, f.b, sizeof(f.b), &d) == capture::DecodeStatus::kOk) {
      ++decoded;
      const capture::BinnedPacket b = binner.OnPacket(t, f.wire_len, d);
      names.Observe(f.b, sizeof(f.b), d, b);
    }
    if ((i & 0xffff) == 0) {
      max_active = std::max(max_active, binner.active_flows());
      max_tracked = std::max(max_tracked, engine.throttle().tracked_flows());
    }
  }
  binner.Finish();
  const uint64_t rss_growth = PeakRssBytes() - rss_before;

  EXPECT_EQ(decoded, kFloodFlows);
  EXPECT_LE(max_active, cap);
  EXPECT_LE(max_tracked, cap);
  const capture::BinnerStats& st = binner.stats();
  EXPECT_EQ(st.flows_created, kFloodFlows + 2);
  EXPECT_GE(st.flows_evicted, kFloodFlows + 2 - cap);
  const double per_flow = double(capture::Binner::BytesPerFlow());
  std::printf(
      "flood: %llu flows, %llu evicted, cap %zu; %.0f B per flow in the table "
      "(%.1f MB reserved), %zu B per tracked data flow; peak RSS grew %.1f MB\n",
      static_cast<unsigned long long>(st.flows_created),
      static_cast<unsigned long long>(st.flows_evicted), cap, per_flow,
      per_flow * double(cap) / 1e6, ThrottleDetector::BytesPerTrackedFlow(),
      double(rss_growth) / 1e6);
  if (kAsan) {
    std::printf(
        "flood: RSS bound not checked under AddressSanitizer (its quarantine and "
        "shadow memory dominate); the table-size bounds above still hold\n");
  } else {
    // The table is reserved up front; tracked data flows are few here. 32 MB covers the
    // legitimate traffic, the event log and the allocator.
    EXPECT_LT(double(rss_growth), per_flow * double(cap) + 32e6);
  }

  // The throttle on the long flow is found despite the flood, and only it.
  const Event* start = nullptr;
  for (const Event& e : sink.events) {
    if (e.kind == EventKind::kThrottle && e.state == EventState::kStart && e.has_flow &&
        e.flow.local_port() == 40000) {
      start = &e;
    }
    EXPECT_FALSE(e.has_flow && e.flow.local_port() == 40001) << EventToJson(e);
  }
  ASSERT_NE(start, nullptr) << "throttle not detected through the flood";
  EXPECT_NEAR(start->ts - double(kT0) * 1e-9, 60, 2);
  EXPECT_TRUE(start->targeted);
  EXPECT_EQ(start->mechanism, Mechanism::kShaping);
  EXPECT_NEAR(start->rate_after_bps, 2e5 * 8 * 1514 / 1448, 0.25 * 2e5 * 8);
}

}  // namespace
}  // namespace tw::detector
