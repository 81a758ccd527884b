#include "detector/core/throttle_detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "capture/ip_proto.h"
#include "detector/outputs/event_json.h"
#include "test/support/schema_lines.h"

namespace tw::detector {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr double kWirePerPayload = 1514.0 / 1448.0;

// Flow f (id f + 1) of a TCP download from the server whose address ends in `server`,
// carrying `payload` bytes of full-size segments in the bin.
capture::FlowBin Download(int f, int server, double payload) {
  capture::FlowBin x;
  x.info.id = uint64_t(f + 1);
  x.info.key.proto = capture::kIpProtoTcp;
  x.info.local_is_a = true;
  x.info.key.port_b = uint16_t(5201 + f);
  x.info.key.b.bytes[15] = uint8_t(server);
  x.dir[capture::kDown].payload_bytes = uint64_t(payload);
  x.dir[capture::kDown].data_packets = uint32_t(payload / 1448);
  x.dir[capture::kDown].wire_bytes = uint64_t(payload * kWirePerPayload);
  return x;
}

// What the network does to a flow that runs below its starting level.
enum class Squeeze { kShaper, kPolicer, kNone };

// Drives a ThrottleDetector with synthetic download flows whose per-bin payload is
// level(flow, bin) times log-normal noise. A flow running below its level at bin 0 is
// squeezed as `squeeze` says: a shaper's queue inflates its RTT from 20 to 300 ms, a policer
// drops 3% of it (retransmitted), kNone leaves both alone (the application sends less).
struct Harness {
  EventCollector events;
  uint64_t next_id = 1;
  ThrottleDetector det{ThrottleParams{}, &events, &next_id};
  std::mt19937 rng{42};
  double noise = 0.15;
  Squeeze squeeze = Squeeze::kShaper;
  std::function<int(int)> remote_of = [](int f) { return 10 + f; };  // one server per flow
  bool reverse = false;  // hand each bin's flows over last to first
  std::function<bool(int)> udp_of = [](int) { return false; };  // which flows are UDP
  // Share of bin b that flow f's sender was busy (capture::BusyBin): 1 = sent all of it.
  std::function<double(int, int)> busy_of = [](int, int) { return 1.0; };

  void Run(int flows, int bins, const std::function<double(int, int)>& level,
           const std::function<bool(int, int)>& zero_window = nullptr) {
    std::normal_distribution<double> n(0, noise);
    for (int b = 0; b < bins; ++b) {
      std::vector<capture::FlowBin> fb(static_cast<size_t>(flows));
      for (int f = 0; f < flows; ++f) {
        const double v = level(f, b) > 0 ? level(f, b) * std::exp(n(rng)) : 0;
        auto& x = fb[size_t(f)] = Download(f, remote_of(f), v);
        if (udp_of(f)) x.info.key.proto = capture::kIpProtoUdp;
        if (v > 0 && !udp_of(f)) {
          x.busy[capture::kDown].us = uint32_t(busy_of(f, b) * 1e6);
          x.busy[capture::kDown].bytes = uint32_t(v);
        }
        x.dir[capture::kUp].wire_bytes = uint64_t(v / 20);  // ACKs, no payload
        x.dir[capture::kDown].zero_window = zero_window && zero_window(f, b);
        const bool low = level(f, b) > 0 && level(f, b) < level(f, 0);
        const float rtt = low && squeeze == Squeeze::kShaper ? 0.3f : 0.02f;
        x.rtt.samples = v > 0 ? 3 : 0;  // a flow that sends nothing gets no RTT sample
        x.rtt.sum_s = 3 * rtt;
        x.rtt.min_s = x.rtt.max_s = rtt;
        if (low && squeeze == Squeeze::kPolicer) {
          x.dir[capture::kDown].retrans_bytes = uint64_t(0.03 * v);
        }
      }
      if (reverse) std::reverse(fb.begin(), fb.end());
      det.OnBin(kT0 + b * kSec, kSec, fb, false);
    }
  }
  double Rel(double ts) const { return ts - double(kT0) * 1e-9; }
};

// A sharded replay hands a bin's flows over in another order than one Binner. Here two flows
// are squeezed in the same bin, and flows of one server start in the same bin and are then
// squeezed together (their host series starts with them): the events (ids, order, rates) must
// be the same in either order.
TEST(ThrottleDetectorTest, EventsDoNotDependOnTheOrderOfFlowsInABin) {
  const auto run = [](bool reverse) {
    Harness h;
    h.reverse = reverse;
    h.remote_of = [](int f) { return f < 4 ? 10 + f : 20; };  // flows 4, 5 and 6: one server
    h.Run(7, 120, [](int f, int b) {
      if (f >= 4) return b >= 60 && b < 100 ? 40000.0 : 125000.0;
      return (f == 1 || f == 2) && b >= 40 && b < 90 ? 31250.0 : 125000.0;
    });
    std::vector<std::string> out;
    for (const Event& e : h.events.events()) out.push_back(EventToJson(e, {}));
    for (const std::string& line : out) testing::KeepLines(line);
    return out;
  };
  const std::vector<std::string> forward = run(false);
  EXPECT_GE(forward.size(), 6u);
  EXPECT_EQ(run(true), forward);
}

TEST(ThrottleDetectorTest, TargetedThrottleOfOneFlowStartAndEnd) {
  Harness h;
  h.Run(3, 140, [](int f, int b) { return f == 1 && b >= 40 && b < 90 ? 31250.0 : 125000.0; });
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 2u);
  const Event& s = ev[0];
  EXPECT_EQ(s.kind, EventKind::kThrottle);
  EXPECT_EQ(s.state, EventState::kStart);
  EXPECT_EQ(s.flow.remote_port(), 5202);
  EXPECT_EQ(s.direction, capture::kDown);
  EXPECT_NEAR(h.Rel(s.ts), 40.0, 1.0);
  EXPECT_GT(s.detected_at, s.ts);
  // At detection the squeezed rate rests on a few bins (tested over many seeds below).
  EXPECT_NEAR(s.rate_after_bps, 31250 * 8 * kWirePerPayload, 0.25 * 31250 * 8 * kWirePerPayload);
  EXPECT_NEAR(s.rate_before_bps, 125000 * 8 * kWirePerPayload, 0.15 * 125000 * 8 * kWirePerPayload);
  EXPECT_TRUE(s.targeted);
  EXPECT_GT(s.confidence, 0.8);
  const Event& e = ev[1];
  EXPECT_EQ(e.state, EventState::kEnd);
  EXPECT_EQ(e.id, s.id);
  EXPECT_NEAR(h.Rel(e.ts), 90.0, 1.0);
  EXPECT_EQ(e.reason, "recovered");
  // The end event carries the rate over the whole throttled span: many bins, so precise.
  EXPECT_NEAR(e.rate_before_bps, 31250 * 8 * kWirePerPayload, 0.05 * 31250 * 8 * kWirePerPayload);
}

// A sender whose retransmissions time out under the shaper backs off and sends nothing for
// seconds; when the limit lifts it resumes at its old rate. The throttle ends at the resume,
// not a relearning of the rate later (at three on/off periods of 10 s, that delay hid the next
// throttle inside this one).
TEST(ThrottleDetectorTest, ThrottleEndsWhenAFlowStalledUnderItResumes) {
  Harness h;
  h.Run(3, 140, [](int f, int b) {
    if (f != 1 || b < 40 || b >= 90) return 125000.0;
    return b < 85 ? 31250.0 : 0.0;  // stalled for the throttle's last 5 s
  });
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].state, EventState::kStart);
  EXPECT_NEAR(h.Rel(ev[0].ts), 40.0, 1.0);
  EXPECT_EQ(ev[1].state, EventState::kEnd);
  EXPECT_EQ(ev[1].reason, "recovered");
  EXPECT_NEAR(h.Rel(ev[1].ts), 90.0, 1.0);
  EXPECT_LE(h.Rel(ev[1].detected_at), 95.0);
}

TEST(ThrottleDetectorTest, OnsetAndRateAccuracyOverSeeds) {
  const double want = 31250 * 8 * kWirePerPayload;
  std::vector<double> rate_err, onset_err;
  for (unsigned seed = 1; seed <= 40; ++seed) {
    Harness h;
    h.rng.seed(seed);
    h.Run(3, 80, [](int f, int b) { return f == 0 && b >= 40 ? 31250.0 : 125000.0; });
    ASSERT_EQ(h.events.events().size(), 1u) << "seed " << seed;
    const Event& s = h.events.events()[0];
    rate_err.push_back(std::fabs(s.rate_after_bps - want) / want);
    onset_err.push_back(std::fabs(h.Rel(s.ts) - 40.0));
  }
  std::sort(rate_err.begin(), rate_err.end());
  std::sort(onset_err.begin(), onset_err.end());
  EXPECT_LT(rate_err[20], 0.10);  // median
  EXPECT_LT(rate_err[37], 0.25);  // 95th percentile
  EXPECT_LT(onset_err[20], 0.5);
  EXPECT_LE(onset_err[39], 1.0);  // every onset within one bin
}

TEST(ThrottleDetectorTest, ShaperAndPolicerAreTold) {
  for (Squeeze sq : {Squeeze::kShaper, Squeeze::kPolicer}) {
    Harness h;
    h.squeeze = sq;
    h.Run(3, 80, [](int f, int b) { return f == 1 && b >= 40 ? 31250.0 : 125000.0; });
    ASSERT_EQ(h.events.events().size(), 1u);
    EXPECT_EQ(h.events.events()[0].mechanism,
              sq == Squeeze::kShaper ? Mechanism::kShaping : Mechanism::kPolicing);
  }
}

TEST(ThrottleDetectorTest, ApplicationSendingLessIsADemandChange) {
  Harness h;
  h.squeeze = Squeeze::kNone;  // a paced stream lowers its own bitrate: no queue, no loss
  h.Run(3, 80, [](int f, int b) { return f == 1 && b >= 40 ? 31250.0 : 125000.0; });
  EXPECT_TRUE(h.events.events().empty());
  EXPECT_EQ(h.det.dismissed().at(DropClass::kDemandChange), 1u);
}

TEST(ThrottleDetectorTest, EveryFlowDroppingIsOneLinkEvent) {
  Harness h;
  h.Run(3, 80, [](int, int b) { return b >= 40 ? 25000.0 : 125000.0; });
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].scope, EventScope::kLink);
  EXPECT_FALSE(ev[0].targeted);
  EXPECT_FALSE(ev[0].has_flow);
  EXPECT_EQ(ev[0].mechanism, Mechanism::kShaping);
  EXPECT_NEAR(h.Rel(ev[0].ts), 40.0, 1.0);
  EXPECT_NEAR(ev[0].rate_after_bps, 3 * 25000 * 8 * kWirePerPayload,
              0.25 * 3 * 25000 * 8 * kWirePerPayload);
}

TEST(ThrottleDetectorTest, LoneFlowIsReportedWithTargetedUnknown) {
  Harness h;
  h.Run(1, 80, [](int, int b) { return b >= 40 ? 25000.0 : 125000.0; });
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].scope, EventScope::kFlow);
  EXPECT_FALSE(ev[0].targeted_known);
  EXPECT_NE(EventToJson(ev[0], capture::AddressFormatter()).find("\"targeted\":null"),
            std::string::npos);
}

TEST(ThrottleDetectorTest, NewFlowsTakingTheirShareIsCongestionNotThrottling) {
  Harness h;
  // Two flows fill the link; at bin 40 six more arrive and everyone gets a fair share: the
  // old flows drop (with queueing), but the link total does not.
  h.Run(8, 100, [](int f, int b) {
    if (f >= 2) return b >= 40 ? 31250.0 : 0.0;
    return b >= 40 ? 31250.0 : 125000.0;
  });
  EXPECT_TRUE(h.events.events().empty());
}

// Events by scope and state, for the service tests.
struct ScopeCounts {
  int flow_starts = 0, service_starts = 0, service_ends = 0, other = 0;
  const Event* service_start = nullptr;
  const Event* service_end = nullptr;
};
ScopeCounts CountScopes(const std::vector<Event>& events) {
  ScopeCounts c;
  for (const Event& e : events) {
    if (e.scope == EventScope::kFlow && e.state == EventState::kStart) {
      ++c.flow_starts;
    } else if (e.scope == EventScope::kRemoteHost && e.state == EventState::kStart) {
      ++c.service_starts;
      c.service_start = &e;
    } else if (e.scope == EventScope::kRemoteHost) {
      ++c.service_ends;
      c.service_end = &e;
    } else if (e.scope != EventScope::kFlow) {
      ++c.other;
    }
  }
  return c;
}

TEST(ThrottleDetectorTest, OneServersFlowsDroppingAloneAreNeitherTheLinkNorTheServer) {
  // Every flow on the link drops, but they all come from one server: one application, not the
  // link. And with nothing else in the same direction, a squeeze of that server and a path that
  // lost capacity (a WiFi device walking away) look the same, queue included: no event.
  Harness h;
  h.remote_of = [](int) { return 10; };
  h.Run(3, 80, [](int, int b) { return b >= 40 ? 25000.0 : 125000.0; });
  EXPECT_TRUE(h.events.events().empty());
  // With a download from another server that kept its rate, the squeeze is the server's.
  Harness with_ref;
  with_ref.remote_of = [](int f) { return f < 3 ? 10 : 11; };
  with_ref.Run(4, 80, [](int f, int b) { return f < 3 && b >= 40 ? 25000.0 : 125000.0; });
  const ScopeCounts c = CountScopes(with_ref.events.events());
  EXPECT_EQ(c.other, 0);
  ASSERT_EQ(c.service_starts, 1);
  EXPECT_TRUE(c.service_start->targeted);
  EXPECT_EQ(c.service_start->mechanism, Mechanism::kShaping);
}

TEST(ThrottleDetectorTest, SeveralFlowsOfOneServerMakeOneServiceEvent) {
  Harness h;
  // Flows 0 and 1 go to one server, flows 2 and 3 to another; the first server is squeezed
  // to 50 kB/s in all. One service event with the server's total, no flow events.
  h.remote_of = [](int f) { return f < 2 ? 1 : 2; };
  h.Run(4, 120, [](int f, int b) { return f < 2 && b >= 40 && b < 90 ? 25000.0 : 125000.0; });
  const ScopeCounts c = CountScopes(h.events.events());
  EXPECT_EQ(c.flow_starts, 0);
  EXPECT_EQ(c.other, 0);
  ASSERT_EQ(c.service_starts, 1);
  ASSERT_EQ(c.service_ends, 1);
  const Event& s = *c.service_start;
  EXPECT_TRUE(s.has_remote);
  EXPECT_EQ(s.remote.bytes[15], 1);
  EXPECT_FALSE(s.has_flow);
  EXPECT_EQ(s.flows, 2);
  EXPECT_TRUE(s.targeted);
  EXPECT_EQ(s.mechanism, Mechanism::kShaping);
  EXPECT_NEAR(h.Rel(s.ts), 40.0, 1.0);
  const double squeezed = 2 * 25000 * 8 * kWirePerPayload;
  EXPECT_NEAR(s.rate_after_bps, squeezed, 0.25 * squeezed);
  EXPECT_NEAR(s.rate_before_bps, 2 * 125000 * 8 * kWirePerPayload, 0.25 * 2 * 125000 * 8);
  EXPECT_EQ(c.service_end->id, s.id);
  EXPECT_NEAR(h.Rel(c.service_end->ts), 90.0, 1.0);
  EXPECT_EQ(h.det.open_throttles(), 0u);
}

// The lab's throttle_server: the shaper starved one of the server's two flows for three
// seconds at the onset. Its own series looks idle, the other flow's looks like a flow
// throttle; the server's total shows the squeeze as it is.
TEST(ThrottleDetectorTest, ServiceEventWhenTheShaperStallsOneOfItsFlows) {
  Harness h;
  h.remote_of = [](int f) { return f < 2 ? 1 : 2; };
  // Before: 95 kB/s each, 190 kB/s in all, like the other server's flow. Squeezed: 60 kB/s in
  // all, flow 0 starved for 3 s, then 40 + 20 kB/s.
  h.Run(3, 100, [](int f, int b) {
    if (f == 2) return 190000.0;
    if (b < 40 || b >= 80) return 95000.0;
    if (f == 0) return b < 43 ? 0.0 : 40000.0;
    return b < 43 ? 60000.0 : 20000.0;
  });
  const ScopeCounts c = CountScopes(h.events.events());
  EXPECT_EQ(c.flow_starts, 0);
  EXPECT_EQ(c.other, 0);
  ASSERT_EQ(c.service_starts, 1);
  EXPECT_NEAR(h.Rel(c.service_start->ts), 40.0, 1.0);
  const double squeezed = 60000 * 8 * kWirePerPayload;
  EXPECT_NEAR(c.service_start->rate_after_bps, squeezed, 0.25 * squeezed);
}

// One of a server's two flows is throttled: a flow event, the server's total (down by 40 %)
// raises nothing of its own.
TEST(ThrottleDetectorTest, OneThrottledFlowOfAServerIsAFlowEvent) {
  Harness h;
  h.remote_of = [](int f) { return f < 2 ? 1 : 2; };
  h.Run(3, 100, [](int f, int b) { return f == 1 && b >= 40 && b < 80 ? 25000.0 : 125000.0; });
  const ScopeCounts c = CountScopes(h.events.events());
  EXPECT_EQ(c.flow_starts, 1);
  EXPECT_EQ(c.service_starts, 0);
  EXPECT_EQ(c.other, 0);
}

// Three of a server's four flows end (FIN) one after the other, while a queue builds up and
// they lose packets (evidence, were it a squeeze): the server's total falls by a third, then by
// half, which is neither a squeeze of the server nor of the flow that goes on.
TEST(ThrottleDetectorTest, FlowsOfAServerEndingAreNotAServiceThrottle) {
  Harness h;  // its detector and event log; the bins are made here
  h.rng.seed(7);
  std::normal_distribution<double> n(0, 0.1);
  const int ends[] = {30, 45, 60, 1000, 1000};  // flows 0-3 to one server, flow 4 to another
  for (int b = 0; b < 100; ++b) {
    std::vector<capture::FlowBin> fb;
    for (int f = 0; f < 5; ++f) {
      if (b == ends[f] + 2) {  // a closed flow leaves the table after its linger
        h.det.OnFlowEnd(Download(f, f < 4 ? 1 : 2, 0).info, capture::FlowEnd::kClosed,
                        kT0 + ends[f] * kSec);
      }
      if (b >= ends[f] + 2) continue;
      const double v = b < ends[f] ? 125000.0 * std::exp(n(h.rng)) : 0;
      capture::FlowBin x = Download(f, f < 4 ? 1 : 2, v);
      x.dir[capture::kDown].retrans_bytes = uint64_t(0.03 * v);
      x.closed = b >= ends[f];
      x.rtt.samples = 3;
      x.rtt.min_s = b >= 28 ? 0.2f : 0.02f;
      fb.push_back(x);
    }
    h.det.OnBin(kT0 + b * kSec, kSec, fb, false);
  }
  EXPECT_TRUE(h.events.events().empty());
  EXPECT_EQ(h.det.tracked_flows(), 2u);
}

// The end of a capture of web traffic: the downloads finish together (FIN seen), leaving a
// trickle of their last segments, and one of them retransmitted on the way out. The link total
// falls to 1 %, but flows that are closing are ending, not squeezed: nothing to report.
TEST(ThrottleDetectorTest, FlowsClosingTogetherAreNotALinkThrottle) {
  Harness h;  // its detector and event log; the bins are made here
  h.rng.seed(3);
  std::normal_distribution<double> n(0, 0.1);
  for (int b = 0; b < 45; ++b) {  // the input ends at bin 44, the flows still in the table
    std::vector<capture::FlowBin> fb;
    for (int f = 0; f < 3; ++f) {
      capture::FlowBin x = Download(f, 10 + f, (b < 40 ? 125000.0 : 1250.0) * std::exp(n(h.rng)));
      const double v = double(x.dir[capture::kDown].payload_bytes);
      if (f == 0 && b >= 38) x.dir[capture::kDown].retrans_bytes = uint64_t(0.03 * v);
      x.closed = b >= 40;
      x.rtt.samples = 3;
      x.rtt.min_s = 0.02f;
      fb.push_back(x);
    }
    h.det.OnBin(kT0 + b * kSec, kSec, fb, false);
  }
  EXPECT_TRUE(h.events.events().empty()) << h.events.events().size() << " events";
  EXPECT_GE(h.det.dismissed().count(DropClass::kDemandChange), 1u);
}

TEST(ThrottleDetectorTest, StationaryNoisyFlowsRaiseNothing) {
  Harness h;
  h.noise = 0.5;  // heavy, bursty throughput
  h.Run(4, 2000, [](int f, int) { return 40000.0 * (f + 1); });
  EXPECT_TRUE(h.events.events().empty());
}

TEST(ThrottleDetectorTest, OnOffApplicationIsNotAThrottle) {
  Harness h;
  // Adaptive streaming: fetch 4 s, pause 6 s. The rate "drops" to zero, but that is demand.
  h.Run(2, 300, [](int f, int b) { return f == 0 && b > 30 && b % 10 >= 4 ? 0.0 : 125000.0; });
  EXPECT_TRUE(h.events.events().empty());
}

TEST(ThrottleDetectorTest, UdpFlowIsJudgedOnlyBesideFlowsThatKeptTheirRates) {
  // A UDP stream falls to a steady quarter of its rate: with a TCP download beside it that kept
  // its rate, a targeted throttle; alone, a limiter and a path that lost capacity look the same.
  const auto level = [](int f, int b) { return f == 0 && b >= 40 ? 31250.0 : 125000.0; };
  Harness with_ref;
  with_ref.noise = 0.03;
  with_ref.squeeze = Squeeze::kNone;  // no RTT or loss to see on UDP
  with_ref.udp_of = [](int f) { return f == 0; };
  with_ref.Run(2, 80, level);
  ASSERT_EQ(with_ref.events.events().size(), 1u);
  EXPECT_EQ(with_ref.events.events()[0].scope, EventScope::kFlow);
  EXPECT_TRUE(with_ref.events.events()[0].targeted_known);
  EXPECT_TRUE(with_ref.events.events()[0].targeted);

  Harness alone;
  alone.noise = 0.03;
  alone.squeeze = Squeeze::kNone;
  alone.udp_of = [](int) { return true; };
  alone.Run(1, 80, level);
  EXPECT_TRUE(alone.events.events().empty());
}

TEST(ThrottleDetectorTest, ThrottledPlayerIsFoundByItsInBurstRate) {
  // A player fetches 2 s and pauses 3 s; from bin 40 a shaper holds it to a fifth, so it
  // fetches without pause. Judged over the bins it was backlogged in, the rate before is that
  // of its bursts, not their average with the pauses.
  Harness h;
  h.Run(2, 90, [](int f, int b) {
    if (f == 1) return 125000.0;  // a reference download that keeps its rate
    if (b >= 40) return 25000.0;
    return b % 5 >= 2 && b > 0 ? 0.0 : 125000.0;
  });
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].scope, EventScope::kFlow);
  EXPECT_EQ(ev[0].flow.id, 1u);
  EXPECT_NEAR(ev[0].rate_before_bps, 125000 * 8 * kWirePerPayload, 0.25 * 125000 * 8);
  EXPECT_NEAR(h.Rel(ev[0].ts), 40.0, 2.0);
}

TEST(ThrottleDetectorTest, ThrottledPlayerIsFoundByItsRateWhileBusy) {
  // A player fetches each segment at 2.3 MB/s and waits; its fetches straddle bins, which
  // alternate 525 kB (busy 0.23 s) and 100 kB (0.044 s). From bin 40 a shaper holds it to
  // 180 kB/s, and it fetches without pause. Bin by bin, the average barely moves (the bins'
  // geometric mean is 230 kB); the rate while busy falls by twelve.
  Harness h;
  h.noise = 0.05;
  const auto bursty = [](int f, int b) { return f == 0 && b < 40; };
  h.busy_of = [&](int f, int b) { return !bursty(f, b) ? 1.0 : b % 2 == 0 ? 0.23 : 0.044; };
  h.Run(2, 90, [&](int f, int b) {
    if (f == 1) return 125000.0;  // a reference download that keeps its rate
    if (!bursty(f, b)) return 180000.0;
    return b % 2 == 0 ? 525000.0 : 100000.0;
  });
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].scope, EventScope::kFlow);
  EXPECT_EQ(ev[0].flow.id, 1u);
  EXPECT_NEAR(ev[0].rate_before_bps, 2.28e6 * 8 * kWirePerPayload, 0.1 * 2.28e6 * 8);
  EXPECT_NEAR(ev[0].rate_after_bps, 180000 * 8 * kWirePerPayload, 0.1 * 180000 * 8);
  EXPECT_NEAR(h.Rel(ev[0].ts), 40.0, 1.0);
}

// Sites fetched as a browser does: every 4 s each of `sites` sites (servers 10, 11, ...) gets a
// page of two short connections that carry 300 kB each in 0.1 s of one bin, then close; the
// sites but `squeeze_site` get none in bins [quiet_from, quiet_to) (the user reads them). From
// bin 60 on, if `squeeze_site` is one of them, a shaper holds that site to 120 kB/s: its pages
// take 3 s, and its queue adds 280 ms to the round trip. The page site 0 gets in bin
// `slow_page_bin` (if any) takes 1 s (a page whose connections never left slow start). Returns
// the events.
std::vector<Event> Browse(int sites, int squeeze_site, int quiet_from = 0, int quiet_to = 0,
                          int slow_page_bin = -1) {
  EventCollector events;
  uint64_t next_id = 1;
  ThrottleDetector det(ThrottleParams{}, &events, &next_id);
  struct Open {
    capture::FlowInfo info;
    int site, last_bin;
  };
  std::vector<Open> open;
  int next_flow = 0;
  for (int b = 0; b < 150; ++b) {
    for (int site = 0; site < sites; ++site) {
      if (b % 4 != site % 4) continue;
      if (site != squeeze_site && b >= quiet_from && b < quiet_to) continue;
      const bool squeezed = site == squeeze_site && b >= 60;
      for (int k = 0; k < 2; ++k) {
        open.push_back({Download(next_flow++, 10 + site, 0).info, site, b + (squeezed ? 2 : 0)});
      }
    }
    std::vector<capture::FlowBin> bins;
    for (const Open& o : open) {
      const bool squeezed = o.site == squeeze_site && b >= 60;
      const bool slow = o.site == 0 && b == slow_page_bin;
      capture::FlowBin x = Download(int(o.info.id - 1), 10 + o.site, squeezed ? 60'000 : 300'000);
      x.busy[capture::kDown] = {.us = squeezed || slow ? 1'000'000u : 100'000u,
                                .bytes = uint32_t(x.dir[capture::kDown].payload_bytes)};
      x.rtt.samples = 3;
      x.rtt.min_s = x.rtt.max_s = squeezed ? 0.3f : 0.02f;
      x.rtt.sum_s = 3 * x.rtt.min_s;
      bins.push_back(x);
    }
    det.OnBin(kT0 + b * kSec, kSec, bins, false);
    std::erase_if(open, [&](const Open& o) {
      if (o.last_bin > b) return false;
      det.OnFlowEnd(o.info, capture::FlowEnd::kClosed, kT0 + (b + 1) * kSec);
      return true;
    });
  }
  return events.events();
}

TEST(ThrottleDetectorTest, ASiteFetchedInShortConnectionsIsOneServiceEvent) {
  // No connection lives long enough to have a before and an after: the site's busy series,
  // which outlives them, has both; the other sites' pages kept their rates.
  const std::vector<Event> ev = Browse(3, /*squeeze_site=*/1);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev[0].state, EventState::kStart);
  EXPECT_EQ(ev[0].scope, EventScope::kRemoteHost);
  EXPECT_EQ(ev[0].remote.bytes[15], 11);
  EXPECT_TRUE(ev[0].targeted_known);
  EXPECT_TRUE(ev[0].targeted);
  EXPECT_NEAR(double(ev[0].ts) - double(kT0) * 1e-9, 61.0, 1.0);  // the first squeezed page
  EXPECT_NEAR(ev[0].rate_after_bps, 120'000 * 8 * kWirePerPayload, 0.1 * 120'000 * 8);
  EXPECT_EQ(ev[0].mechanism, Mechanism::kShaping);
  for (const Event& e : ev) EXPECT_EQ(e.remote.bytes[15], 11);  // nothing on the other sites
}

TEST(ThrottleDetectorTest, ASitesDropIsJudgedAgainWhenNoOtherSiteHasSentSince) {
  // The other sites are read from bin 58 to 70: when the squeezed site's drop is first judged,
  // neither has sent since the change. Judged again, it has its references.
  const std::vector<Event> ev = Browse(3, /*squeeze_site=*/1, 58, 70);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev[0].scope, EventScope::kRemoteHost);
  EXPECT_EQ(ev[0].remote.bytes[15], 11);
  EXPECT_TRUE(ev[0].targeted);
}

TEST(ThrottleDetectorTest, OneSlowPageOfAnotherSiteIsNoDropOfIt) {
  // Site 0's first page after the change is slow: one bin of a site's series is one page, not
  // its rate. Its rate since the change is judged on min_bins bins, as a drop is (judged on the
  // one bin, half the references "dropped too" and the squeezed site went unreported).
  const std::vector<Event> ev = Browse(3, /*squeeze_site=*/1, 0, 0, /*slow_page_bin=*/64);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev[0].scope, EventScope::kRemoteHost);
  EXPECT_EQ(ev[0].remote.bytes[15], 11);
  EXPECT_TRUE(ev[0].targeted);
  for (const Event& e : ev) EXPECT_EQ(e.remote.bytes[15], 11);
}

TEST(ThrottleDetectorTest, ALoneSitesBusySeriesNeedsOtherSitesToJudgeIt) {
  // The same squeeze with no other traffic: a path that lost capacity looks the same.
  EXPECT_TRUE(Browse(1, 0).empty());
  EXPECT_TRUE(Browse(3, /*squeeze_site=*/-1).empty());  // and no squeeze: nothing
}

// What a QUIC player's server (10.0.0.20) sends from bin 40 on, in Player() below.
enum class PlayerAfter { kSegments, kShaped, kKeepAlives, kSmallExchanges };

// A player fetching a 1 MB segment every 4 s over a new QUIC connection (UDP), in 0.5 s of one
// bin (each connection leaves the table when idle for 10 s), beside a TCP download from another
// server (10.0.0.10) that keeps 125 kB/s. From bin 40 the player's server sends as `after` says:
// the same segments; through a shaper at 250 kB/s, which makes each fetch last its 4 s; or only
// keep-alives, a hundred 30-byte packets a second; or one small exchange a second, seven
// full-size packets within 10 ms (an application polling). Returns the events.
std::vector<Event> Player(PlayerAfter after) {
  EventCollector events;
  uint64_t next_id = 1;
  ThrottleDetector det(ThrottleParams{}, &events, &next_id);
  const capture::FlowInfo reference = Download(0, 10, 0).info;
  for (int b = 0; b < 120; ++b) {
    capture::FlowBin ref = Download(0, 10, 125'000);
    ref.busy[capture::kDown] = {.us = 1'000'000u, .bytes = 125'000u};
    capture::FlowBin quic = Download(1 + b / 4, 20, 0);
    quic.info.key.proto = capture::kIpProtoUdp;
    quic.info.key.port_b = 443;
    quic.info.key.port_a = uint16_t(50000 + b / 4);
    capture::DirectionBin& down = quic.dir[capture::kDown];
    const PlayerAfter now = b < 40 ? PlayerAfter::kSegments : after;
    if (now == PlayerAfter::kSegments && b % 4 == 0) {
      down = Download(0, 20, 1'000'000).dir[capture::kDown];
      quic.busy[capture::kDown] = {.us = 500'000u, .bytes = 1'000'000u};
    } else if (now == PlayerAfter::kShaped) {
      down = Download(0, 20, 250'000).dir[capture::kDown];
      quic.busy[capture::kDown] = {.us = 1'000'000u, .bytes = 250'000u};
    } else if (now == PlayerAfter::kKeepAlives) {
      down = {
          .wire_bytes = 100 * 72, .payload_bytes = 100 * 30, .packets = 100, .data_packets = 100};
      quic.busy[capture::kDown] = {.us = 1'000'000u, .bytes = 3000u};
    } else if (now == PlayerAfter::kSmallExchanges) {
      down = {.wire_bytes = 7 * 1242, .payload_bytes = 7 * 1200, .packets = 7, .data_packets = 7};
      quic.busy[capture::kDown] = {.us = 10'000u, .bytes = 7 * 1200};
    }
    std::vector<capture::FlowBin> bins{ref};
    if (down.payload_bytes > 0) bins.push_back(quic);
    det.OnBin(kT0 + b * kSec, kSec, bins, false);
    if (b % 4 == 3 && b >= 12) {  // a connection idle for 10 s leaves the table
      capture::FlowInfo idle = quic.info;
      idle.id -= 2;
      idle.key.port_a = uint16_t(idle.key.port_a - 2);
      det.OnFlowEnd(idle, capture::FlowEnd::kIdle, kT0 + (b + 1) * kSec);
    }
  }
  det.OnFlowEnd(reference, capture::FlowEnd::kIdle, kT0 + 120 * kSec);
  return events.events();
}

TEST(ThrottleDetectorTest, APlayerOnAConnectionPerSegmentIsJudgedByItsServersRateWhileBusy) {
  // No QUIC connection lives long enough to have a before and an after; the server's busy
  // series has both: 2 MB/s inside each fetch, then a steady 250 kB/s.
  const std::vector<Event> ev = Player(PlayerAfter::kShaped);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev[0].state, EventState::kStart);
  EXPECT_EQ(ev[0].scope, EventScope::kRemoteHost);
  EXPECT_EQ(ev[0].remote.bytes[15], 20);
  EXPECT_TRUE(ev[0].targeted);
  EXPECT_NEAR(double(ev[0].ts) - double(kT0) * 1e-9, 40.0, 1.5);
  EXPECT_NEAR(ev[0].rate_after_bps, 250'000 * 8 * kWirePerPayload, 0.1 * 250'000 * 8);
  EXPECT_TRUE(Player(PlayerAfter::kSegments).empty());
}

TEST(ThrottleDetectorTest, AUdpFlowWhosePacketsShrankSendsLessIsNotThrottled) {
  // Keep-alives are as steady a plateau as a limiter's output, far below the rate the server
  // sent segments at; but their packets are 30 bytes, not 1448: the player stopped fetching.
  EXPECT_TRUE(Player(PlayerAfter::kKeepAlives).empty());
}

TEST(ThrottleDetectorTest, SmallExchangesAfterFetchesAreNoThrottle) {
  // Full-size packets and the same bytes every bin, a plateau far below the rate the server
  // sent segments at; but each bin's packets come within 10 ms and then nothing: too few to
  // measure a rate while busy, and busy for 1 % of the bin. Its average is the application's
  // demand, not a limiter's rate (as after a block is lifted and the held-back attempts have
  // gone through: the lab's block_quic_blackhole).
  EXPECT_TRUE(Player(PlayerAfter::kSmallExchanges).empty());
}

TEST(ThrottleDetectorTest, ABinWithFewPacketsAndLittleBusyTimeMeasuredNothing) {
  capture::DirectionBin b;
  b.payload_bytes = 8400;
  b.data_packets = 7;
  EXPECT_TRUE(ThrottleDetector::Unmeasured(b, {.us = 10'000, .bytes = 8400}, kSec));
  // Held to a low rate: few packets, spread over the whole bin.
  EXPECT_FALSE(ThrottleDetector::Unmeasured(b, {.us = 900'000, .bytes = 8400}, kSec));
  b.data_packets = 8;  // enough packets to measure the rate while busy
  EXPECT_FALSE(ThrottleDetector::Unmeasured(b, {.us = 10'000, .bytes = 8400}, kSec));
}

TEST(ThrottleDetectorTest, BusyFactorIsTheRateWhileBusyOverTheAverage) {
  capture::DirectionBin b;
  b.payload_bytes = 100'000;
  b.data_packets = 70;
  EXPECT_EQ(ThrottleDetector::BusyFactor(b, {.us = 0, .bytes = 0}, kSec), 1.0);  // unknown
  // 99 kB in 44 ms: 2.25 MB/s, 22.5 times the bin's average.
  EXPECT_NEAR(ThrottleDetector::BusyFactor(b, {.us = 44'000, .bytes = 99'000}, kSec), 22.5, 1e-9);
  // Busy longer than the bin (a gap that began in the bin before): never below the average.
  EXPECT_EQ(ThrottleDetector::BusyFactor(b, {.us = 1'300'000, .bytes = 100'000}, kSec), 1.0);
  b.data_packets = 5;  // too few gaps to tell a rate
  EXPECT_EQ(ThrottleDetector::BusyFactor(b, {.us = 4'000, .bytes = 5'000}, kSec), 1.0);
}

TEST(ThrottleDetectorTest, APauseAtTheOnsetIsJudgedAgain) {
  // A limiter begins at bin 40, and the source pauses right after (a fetch ended, the next
  // one starts later); then it sends, squeezed, for good. Judged idle at first, the drop is
  // judged again once the source has sent.
  Harness h;
  h.Run(2, 90, [](int f, int b) {
    if (f == 1) return 125000.0;
    if (b == 42 || b == 43) return 0.0;
    return b >= 40 ? 25000.0 : 125000.0;
  });
  const auto& ev = h.events.events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].flow.id, 1u);
  EXPECT_NEAR(h.Rel(ev[0].ts), 40.0, 2.0);
}

TEST(ThrottleDetectorTest, IsPlateauTellsALimitersOutputFromBursts) {
  // A UDP stream behind a 500 kbit/s limiter: the same bytes every bin, give or take a packet.
  const std::vector<double> limited = {62500, 61000, 63900, 62500, 61100, 62400, 63800, 62500};
  EXPECT_TRUE(ThrottleDetector::IsPlateau(limited));
  // A player fetching chunks on and off: a lower average, no plateau.
  const std::vector<double> bursts = {250000, 0, 0, 180000, 0, 5000, 240000, 0, 0, 3000};
  EXPECT_FALSE(ThrottleDetector::IsPlateau(bursts));
  EXPECT_FALSE(ThrottleDetector::IsPlateau(std::vector<double>{62500, 62500}));  // too short
  EXPECT_FALSE(ThrottleDetector::IsPlateau(std::vector<double>{0, 0, 0, 0}));
}

TEST(ThrottleDetectorTest, ReceiverClosingItsWindowIsNotAThrottle) {
  Harness h;
  h.Run(
      3, 100, [](int f, int b) { return f == 1 && b >= 40 ? 20000.0 : 125000.0; },
      [](int f, int b) { return f == 1 && b >= 40 && b % 2 == 0; });
  EXPECT_TRUE(h.events.events().empty());
}

TEST(ThrottleDetectorTest, FlowEndingWhileThrottledClosesTheEvent) {
  Harness h;
  h.Run(3, 60, [](int f, int b) { return f == 2 && b >= 30 ? 20000.0 : 125000.0; });
  ASSERT_EQ(h.events.events().size(), 1u);
  capture::FlowInfo info;
  info.id = 3;
  h.det.OnFlowEnd(info, capture::FlowEnd::kClosed, kT0 + 61 * kSec);
  ASSERT_EQ(h.events.events().size(), 2u);
  EXPECT_EQ(h.events.events()[1].reason, "flow_end");
  EXPECT_EQ(h.det.open_throttles(), 0u);
  EXPECT_EQ(h.det.tracked_flows(), 2u);
}

TEST(ThrottleDetectorTest, EndOfCaptureLeavesTheThrottleOpen) {
  Harness h;
  h.Run(3, 60, [](int f, int b) { return f == 2 && b >= 30 ? 20000.0 : 125000.0; });
  capture::FlowInfo info;
  info.id = 3;
  h.det.OnFlowEnd(info, capture::FlowEnd::kEndOfInput, kT0 + 61 * kSec);
  EXPECT_EQ(h.events.events().size(), 1u);  // the capture stopped, not the throttle
}

TEST(ThrottleDetectorTest, SlowFlowsAreNotJudged) {
  Harness h;
  h.Run(2, 100, [](int f, int b) { return f == 0 && b >= 40 ? 500.0 : 4000.0; });  // 32 kbit/s
  EXPECT_TRUE(h.events.events().empty());
}

}  // namespace
}  // namespace tw::detector
