#include "detector/series_recorder.h"

#include <gtest/gtest.h>

#include <vector>

namespace tw::detector {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

capture::FlowInfo Flow(uint64_t id, uint16_t remote_port, uint8_t remote_last = 1) {
  capture::FlowInfo f;
  f.id = id;
  f.key.proto = 6;
  const uint8_t local[4] = {10, 0, 0, 2}, remote[4] = {192, 0, 2, remote_last};
  f.key.a = capture::Address::FromV4(local);
  f.key.b = capture::Address::FromV4(remote);
  f.key.port_a = uint16_t(40000 + id);
  f.key.port_b = remote_port;
  f.local_is_a = true;
  f.local_initiated = true;
  return f;
}

// Feeds `n_flows` downloads for bins [from, to); rate(flow index, bin) gives wire bytes down.
template <typename F>
void Feed(SeriesRecorder* rec, const std::vector<capture::FlowInfo>& flows, int from, int to,
          F rate) {
  std::vector<capture::FlowBin> bins(flows.size());
  for (int b = from; b < to; ++b) {
    capture::LinkBin link;
    for (size_t i = 0; i < flows.size(); ++i) {
      bins[i] = capture::FlowBin{};
      bins[i].info = flows[i];
      const double down = rate(int(i), b);
      bins[i].dir[capture::kDown].wire_bytes = uint64_t(down);
      bins[i].dir[capture::kDown].payload_bytes = uint64_t(down * 0.95);
      bins[i].dir[capture::kUp].wire_bytes = 100;
      link.dir[capture::kDown].wire_bytes += uint64_t(down);
      link.dir[capture::kUp].wire_bytes += 100;
    }
    rec->OnBin(kT0 + b * kSec, kSec, bins, link);
  }
}

Event ThrottleStart(uint64_t id, const capture::FlowInfo& f, double before_bps) {
  Event e;
  e.id = id;
  e.kind = EventKind::kThrottle;
  e.state = EventState::kStart;
  e.scope = EventScope::kFlow;
  e.direction = capture::kDown;
  e.has_flow = true;
  e.flow = f;
  e.rate_before_bps = before_bps;
  return e;
}

const RecordedSeries* Find(const SeriesRecorder& rec, uint64_t flow_id) {
  for (const RecordedSeries& s : rec.series()) {
    if (s.role != RecordedSeries::Role::kService && s.flow.id == flow_id) return &s;
  }
  return nullptr;
}

TEST(SeriesRecorderTest, LinkSeriesHasEveryBin) {
  SeriesRecorder rec;
  const std::vector<capture::FlowInfo> flows = {Flow(1, 443)};
  Feed(&rec, flows, 0, 10, [](int, int b) { return 1000.0 * (b + 1); });
  ASSERT_EQ(rec.link().points.size(), 10u);
  EXPECT_EQ(rec.link().first_bin, 0);
  EXPECT_EQ(rec.origin_ns(), kT0);
  EXPECT_EQ(rec.width_ns(), kSec);
  EXPECT_FLOAT_EQ(rec.link().points[4].wire[capture::kDown], 5000);
  EXPECT_FLOAT_EQ(rec.link().points[4].wire[capture::kUp], 100);
  EXPECT_TRUE(rec.series().empty());  // nothing flagged, nothing recorded per flow
}

TEST(SeriesRecorderTest, FlaggedFlowKeepsItsHistoryAndGrows) {
  SeriesRecorder rec;
  // Flow 2 is squeezed at bin 80; flows 1 and 3 are fast references; flow 4 is a trickle.
  const std::vector<capture::FlowInfo> flows = {Flow(1, 443), Flow(2, 443, 2), Flow(3, 8443),
                                                Flow(4, 53)};
  auto rate = [](int f, int b) {
    if (f == 3) return 50.0;
    return f == 1 && b >= 80 ? 30000.0 : 125000.0;
  };
  Feed(&rec, flows, 0, 90, rate);
  rec.OnEvent(ThrottleStart(7, flows[1], 1e6));
  Feed(&rec, flows, 90, 120, rate);

  const RecordedSeries* s = Find(rec, 2);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->role, RecordedSeries::Role::kFlagged);
  EXPECT_EQ(s->event_id, 7u);
  // The ring's history (kRingBins bins up to the event) plus every bin after it.
  EXPECT_EQ(s->first_bin, 90 - SeriesRecorder::kRingBins);
  EXPECT_EQ(s->first_bin + int64_t(s->points.size()), 120);
  EXPECT_FLOAT_EQ(s->points.front().wire[capture::kDown], 125000);
  EXPECT_FLOAT_EQ(s->points.back().wire[capture::kDown], 30000);

  // The fast concurrent flows are references; the trickle is not.
  ASSERT_NE(Find(rec, 1), nullptr);
  EXPECT_EQ(Find(rec, 1)->role, RecordedSeries::Role::kReference);
  ASSERT_NE(Find(rec, 3), nullptr);
  EXPECT_EQ(Find(rec, 4), nullptr);

  // The service of the flagged flow (192.0.2.2:443) is recorded as the sum of its flows.
  const RecordedSeries* svc = nullptr;
  for (const RecordedSeries& r : rec.series()) {
    if (r.role == RecordedSeries::Role::kService) svc = &r;
  }
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->service, ServiceOf(flows[1]));
  EXPECT_FLOAT_EQ(svc->points.back().wire[capture::kDown], 30000);
}

TEST(SeriesRecorderTest, ServiceEventFlagsTheFlowsOfItsHost) {
  SeriesRecorder rec;
  // Flows 1 and 2 go to 192.0.2.1 (flow 1 starved since bin 75), flow 3 is a trickle to it
  // (a control connection), flow 4 goes to another host.
  const std::vector<capture::FlowInfo> flows = {Flow(1, 5201), Flow(2, 5202), Flow(3, 5201),
                                                Flow(4, 443, 2)};
  auto rate = [](int f, int b) {
    if (f == 2) return 50.0;
    if (f == 0 && b >= 75) return 0.0;
    return f < 2 && b >= 75 ? 30000.0 : 125000.0;
  };
  Feed(&rec, flows, 0, 80, rate);
  Event e;
  e.id = 9;
  e.kind = EventKind::kThrottle;
  e.state = EventState::kStart;
  e.scope = EventScope::kService;
  e.direction = capture::kDown;
  e.has_remote = true;
  e.remote = flows[0].remote();
  e.flows = 2;
  e.rate_before_bps = 2e6;
  rec.OnEvent(e);
  Feed(&rec, flows, 80, 90, rate);
  for (uint64_t id : {1, 2}) {
    const RecordedSeries* s = Find(rec, id);
    ASSERT_NE(s, nullptr) << id;
    EXPECT_EQ(s->role, RecordedSeries::Role::kFlagged) << id;
    EXPECT_EQ(s->event_id, 9u) << id;
  }
  EXPECT_EQ(Find(rec, 3), nullptr);
  ASSERT_NE(Find(rec, 4), nullptr);
  EXPECT_EQ(Find(rec, 4)->role, RecordedSeries::Role::kReference);
}

TEST(SeriesRecorderTest, ServicesSumTheirFlows) {
  SeriesRecorder rec;
  // Two flows to the same server port are one service; a third server is another.
  const std::vector<capture::FlowInfo> flows = {Flow(1, 443), Flow(2, 443), Flow(3, 80, 9)};
  Feed(&rec, flows, 0, 20, [](int f, int) { return f == 2 ? 1000.0 : 5000.0; });
  capture::FlowTotals t;
  for (const auto& f : flows) {
    t.dir[capture::kDown].wire_bytes = f.id == 3 ? 20000 : 100000;
    rec.OnFlowEnd(f, t);
  }
  const auto services = rec.TopServices();
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[0].key, ServiceOf(flows[0]));
  EXPECT_EQ(services[0].flows, 2u);
  EXPECT_EQ(services[0].wire[capture::kDown], 200000u);
  EXPECT_EQ(services[1].flows, 1u);
  const auto top = rec.TopFlows();
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top.back().info.id, 3u);  // largest first
}

TEST(SeriesRecorderTest, CoarsensToStayWithinItsBudgetAndKeepsTotals) {
  SeriesRecorderParams p;
  p.max_points = 100;
  SeriesRecorder rec(p);
  const std::vector<capture::FlowInfo> flows = {Flow(1, 443)};
  Feed(&rec, flows, 0, 1000, [](int, int) { return 1000.0; });
  EXPECT_LE(rec.link().points.size(), 100u);
  EXPECT_GT(rec.width_ns(), kSec);
  EXPECT_EQ(rec.width_ns() % kSec, 0);
  double total = 0;
  for (const SeriesPoint& pt : rec.link().points) total += pt.wire[capture::kDown];
  EXPECT_DOUBLE_EQ(total, 1000.0 * 1000);
}

TEST(SeriesRecorderTest, KeepsEachBinsSmallestRtt) {
  SeriesRecorder rec;
  const std::vector<capture::FlowInfo> flows = {Flow(1, 443)};
  Feed(&rec, flows, 0, 2, [](int, int) { return 1000.0; });
  capture::FlowBin fb;
  fb.info = flows[0];
  fb.dir[capture::kDown].wire_bytes = 1000;
  fb.dir[capture::kDown].payload_bytes = 950;
  fb.rtt.samples = 2;  // the Binner's passive samples of this bin: 80 and 120 ms
  fb.rtt.min_s = 0.080f;
  fb.rtt.max_s = 0.120f;
  fb.rtt.sum_s = 0.200f;
  capture::LinkBin link;
  rec.OnBin(kT0 + 2 * kSec, kSec, {&fb, 1}, link);
  rec.OnEvent(ThrottleStart(1, flows[0], 8000));
  const RecordedSeries* s = Find(rec, 1);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->points.size(), 3u);
  EXPECT_LT(s->points[1].rtt_ms, 0);  // no sample
  EXPECT_NEAR(s->points[2].rtt_ms, 80.0, 0.01);
}

TEST(SeriesRecorderTest, FlaggedFlowsAreCapped) {
  SeriesRecorderParams p;
  p.max_flagged_flows = 1;
  SeriesRecorder rec(p);
  const std::vector<capture::FlowInfo> flows = {Flow(1, 443), Flow(2, 443)};
  Feed(&rec, flows, 0, 5, [](int, int) { return 1000.0; });
  rec.OnEvent(ThrottleStart(1, flows[0], 8000));
  rec.OnEvent(ThrottleStart(2, flows[1], 8000));
  EXPECT_EQ(rec.flows_not_charted(), 1u);
}

TEST(SeriesRecorderTest, ForgetBeforeKeepsOnlyTheWindowAndFreesFlaggedSlots) {
  SeriesRecorderParams p;
  p.max_flagged_flows = 1;
  SeriesRecorder rec(p);
  const std::vector<capture::FlowInfo> flows = {Flow(1, 443), Flow(2, 443)};
  Feed(&rec, {flows[0]}, 0, 10, [](int, int) { return 1000.0; });
  rec.OnEvent(ThrottleStart(1, flows[0], 8000));
  capture::FlowTotals t;
  rec.OnFlowEnd(flows[0], t);
  Feed(&rec, {flows[1]}, 10, 100, [](int, int) { return 2000.0; });
  ASSERT_NE(Find(rec, 1), nullptr);

  rec.ForgetBefore(kT0 + 50 * kSec);
  EXPECT_EQ(rec.link().first_bin, 50);
  EXPECT_EQ(rec.link().points.size(), 50u);
  EXPECT_FLOAT_EQ(rec.link().points.front().wire[capture::kDown], 2000);
  // Flow 1's series lay wholly before the cutoff: gone, and its flagged slot is free again.
  EXPECT_EQ(Find(rec, 1), nullptr);
  rec.OnEvent(ThrottleStart(2, flows[1], 16000));
  EXPECT_EQ(rec.flows_not_charted(), 0u);
  const RecordedSeries* s = Find(rec, 2);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->first_bin, 100 - SeriesRecorder::kRingBins);  // backfilled from its ring
  // Series indices were remapped: the flagged flow still grows after the trim.
  Feed(&rec, {flows[1]}, 100, 110, [](int, int) { return 500.0; });
  s = Find(rec, 2);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->first_bin + int64_t(s->points.size()), 110);
  EXPECT_FLOAT_EQ(s->points.back().wire[capture::kDown], 500);
  // A cutoff before the first bin changes nothing.
  const size_t n = rec.link().points.size();
  rec.ForgetBefore(kT0 - kSec);
  EXPECT_EQ(rec.link().points.size(), n);
}

TEST(SeriesRecorderTest, ResetTotalsStartsTopListsAgain) {
  SeriesRecorder rec;
  const std::vector<capture::FlowInfo> flows = {Flow(1, 443), Flow(2, 80, 9)};
  Feed(&rec, flows, 0, 5, [](int, int) { return 1000.0; });
  capture::FlowTotals t;
  t.dir[capture::kDown].wire_bytes = 5000;
  rec.OnFlowEnd(flows[0], t);
  EXPECT_EQ(rec.TopFlows().size(), 1u);
  EXPECT_EQ(rec.TopServices().size(), 1u);
  rec.ResetTotals();
  EXPECT_TRUE(rec.TopFlows().empty());
  EXPECT_TRUE(rec.TopServices().empty());
  // Flow 2 is still in the table: its service survives the reset and counts it when it ends.
  rec.OnFlowEnd(flows[1], t);
  ASSERT_EQ(rec.TopServices().size(), 1u);
  EXPECT_EQ(rec.TopServices()[0].key, ServiceOf(flows[1]));
  EXPECT_EQ(rec.TopServices()[0].wire[capture::kDown], 5000u);
}

}  // namespace
}  // namespace tw::detector
