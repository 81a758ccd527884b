#include "detector/outputs/series_recorder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "capture/ip_proto.h"
#include "detector/outputs/report.h"

namespace tw::detector {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

capture::FlowInfo Flow(uint64_t id, uint16_t remote_port, uint8_t remote_last = 1) {
  capture::FlowInfo f;
  f.id = id;
  f.key.proto = capture::kIpProtoTcp;
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
    if (s.role != RecordedSeries::Role::kServerEnd && s.flow.id == flow_id) return &s;
  }
  return nullptr;
}

TEST(SeriesRecorderTest, LinkSeriesHasEveryBin) {
  SeriesRecorder rec;
  const std::vector<capture::FlowInfo> flows = {Flow(1, 443)};
  Feed(&rec, flows, 0, 10, [](int, int b) { return 1000.0 * (b + 1); });
  ASSERT_EQ(rec.link().points.size(), 10u);
  EXPECT_EQ(rec.link().first_bin(), 0);
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
  EXPECT_EQ(s->first_bin(), 90 - SeriesRecorder::kRingBins);
  EXPECT_EQ(s->first_bin() + int64_t(s->points.size()), 120);
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
    if (r.role == RecordedSeries::Role::kServerEnd) svc = &r;
  }
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->server_end, ServerEndOf(flows[1]));
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
  e.scope = EventScope::kRemoteHost;
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

// A block names a remote host too, but no flow of it is squeezed: the flows to its address that
// carry data are those that worked. None is flagged (no chart, no flow rows in --series).
TEST(SeriesRecorderTest, ABlockFlagsNoFlow) {
  SeriesRecorder rec;
  const std::vector<capture::FlowInfo> flows = {Flow(1, 443), Flow(2, 443, 2)};
  Feed(&rec, flows, 0, 20, [](int, int) { return 125000.0; });
  Event e;
  e.id = 4;
  e.kind = EventKind::kBlock;
  e.state = EventState::kStart;
  e.scope = EventScope::kRemoteHost;
  e.direction = capture::kUp;
  e.has_remote = true;
  e.remote = flows[0].remote();
  e.flows = 3;
  e.block.method = BlockMethod::kSniBlackhole;
  rec.OnEvent(e);
  Feed(&rec, flows, 20, 30, [](int, int) { return 125000.0; });
  EXPECT_EQ(Find(rec, 1), nullptr);
  EXPECT_EQ(Find(rec, 2), nullptr);
  for (const RecordedSeries& s : rec.series()) EXPECT_NE(s.event_id, 4u);
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
  const auto services = rec.TopServerEnds();
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[0].key, ServerEndOf(flows[0]));
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
  EXPECT_EQ(rec.link().first_bin(), 50);
  EXPECT_EQ(rec.link().points.size(), 50u);
  EXPECT_FLOAT_EQ(rec.link().points.front().wire[capture::kDown], 2000);
  // Flow 1's series lay wholly before the cutoff: gone, and its flagged slot is free again.
  EXPECT_EQ(Find(rec, 1), nullptr);
  rec.OnEvent(ThrottleStart(2, flows[1], 16000));
  EXPECT_EQ(rec.flows_not_charted(), 0u);
  const RecordedSeries* s = Find(rec, 2);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->first_bin(), 100 - SeriesRecorder::kRingBins);  // backfilled from its ring
  // Series indices were remapped: the flagged flow still grows after the trim.
  Feed(&rec, {flows[1]}, 100, 110, [](int, int) { return 500.0; });
  s = Find(rec, 2);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->first_bin() + int64_t(s->points.size()), 110);
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
  EXPECT_EQ(rec.TopServerEnds().size(), 1u);
  rec.ResetTotals();
  EXPECT_TRUE(rec.TopFlows().empty());
  EXPECT_TRUE(rec.TopServerEnds().empty());
  // Flow 2 is still in the table: its service survives the reset and counts it when it ends.
  rec.OnFlowEnd(flows[1], t);
  ASSERT_EQ(rec.TopServerEnds().size(), 1u);
  EXPECT_EQ(rec.TopServerEnds()[0].key, ServerEndOf(flows[1]));
  EXPECT_EQ(rec.TopServerEnds()[0].wire[capture::kDown], 5000u);
}

// Hands the recorder what the Binner hands over for a capture whose packets fall in `data`
// bins: each bin from the first on, the silent ones included, except that after `max_empty`
// silent bins in a row the rest of a silence is skipped (a capture gap: the Binner ends every
// flow and starts again at the next packet's bin). Each data bin carries 1000 bytes down on the
// flows of `flow_of(bin)` (those stay in the table, carrying nothing, through the silence after
// them until the gap, and end there).
// `after(bin)` runs after each bin (events go there).
template <typename F>
int64_t FeedLikeTheBinner(SeriesRecorder* rec, const std::vector<int64_t>& data, int64_t max_empty,
                          F flow_of, const std::function<void(int64_t)>& after = nullptr) {
  int64_t bins_with_packets = 0;
  std::vector<capture::FlowInfo> open;
  auto close_bin = [&](int64_t b, bool has_data) {
    std::vector<capture::FlowBin> bins;
    capture::LinkBin link;
    if (has_data) {
      for (const capture::FlowInfo& f : flow_of(b)) {
        if (std::find_if(open.begin(), open.end(),
                         [&f](const capture::FlowInfo& o) { return o.id == f.id; }) == open.end()) {
          open.push_back(f);
        }
      }
    }
    for (const capture::FlowInfo& f : open) {
      capture::FlowBin& fb = bins.emplace_back();
      fb.info = f;
      if (has_data) {
        fb.dir[capture::kDown].wire_bytes = 1000;
        fb.dir[capture::kDown].payload_bytes = 950;
        fb.dir[capture::kDown].packets = 1;
        link.dir[capture::kDown].wire_bytes += 1000;
        link.dir[capture::kDown].packets += 1;
      }
    }
    bins_with_packets += has_data ? 1 : 0;
    rec->OnBin(kT0 + b * kSec, kSec, bins, link);
    if (after) after(b);
  };
  for (size_t i = 0; i < data.size(); ++i) {
    close_bin(data[i], true);
    const int64_t next = i + 1 < data.size() ? data[i + 1] : data[i] + 1;
    int64_t b = data[i] + 1;
    for (; b < next && b - data[i] <= max_empty; ++b) close_bin(b, false);
    if (b < next) {  // the gap: every flow ends
      for (const capture::FlowInfo& f : open) rec->OnFlowEnd(f, capture::FlowTotals{});
      open.clear();
    }
  }
  return bins_with_packets;
}

TEST(SeriesRecorderTest, TimeJumpsCostPointsPerPacketNotPerBinOfTheSpan) {
  // A few packets, years apart: 5 s of a download, a clock step 30 years ahead, 3 s of another
  // flow of the same service, 6 years more, 2 s of a third. The Binner reports an hour of
  // silence after each stretch before it skips. The old dense series allocated a point for
  // every 1 s bin of the span (~10^9 of them, 24 bytes each) and threw std::bad_alloc.
  constexpr int64_t kYear = 365LL * 86400;
  constexpr int64_t kJump1 = 30 * kYear, kJump2 = kJump1 + 6 * kYear;
  const capture::FlowInfo f1 = Flow(1, 443), f2 = Flow(2, 443), f3 = Flow(3, 443);
  const std::vector<int64_t> data = {0,      1,          2,          3,      4,
                                     kJump1, kJump1 + 1, kJump1 + 2, kJump2, kJump2 + 1};
  auto flow_of = [&](int64_t b) {
    return std::vector<capture::FlowInfo>{b < kJump1 ? f1 : b < kJump2 ? f2 : f3};
  };
  SeriesRecorder rec;
  // The event flags flow 1 at bin 4, so its service is recorded across both jumps.
  const int64_t with_packets = FeedLikeTheBinner(&rec, data, 3600, flow_of, [&](int64_t b) {
    if (b == 4) rec.OnEvent(ThrottleStart(1, f1, 8000));
  });
  ASSERT_EQ(with_packets, 10);

  // The link: each bin with packets and one zero after each stretch the Binner reported
  // silence after (the drop to zero; the capture ends after the last).
  const RecordedSeries& link = rec.link();
  EXPECT_EQ(link.points.size(), size_t(with_packets + 2));
  ASSERT_EQ(link.runs.size(), 3u);
  EXPECT_EQ(link.first_bin(), 0);
  EXPECT_EQ(link.last_bin(), kJump2 + 1);
  EXPECT_FLOAT_EQ(link.points[5].wire[capture::kDown], 0);  // bin 5: the drop after the first
  // The silence the Binner reported is covered (zero); the rest of each jump is a gap.
  EXPECT_EQ(link.runs[0].covered_end, 4 + 1 + 3600);
  EXPECT_EQ(link.runs[1].first_bin, kJump1);
  EXPECT_EQ(link.runs[1].covered_end, kJump1 + 3 + 3600);
  EXPECT_EQ(link.runs[2].first_bin, kJump2);

  // The service of the flagged flow spans 36 years and holds only the link's bins in its span.
  const RecordedSeries* svc = nullptr;
  for (const RecordedSeries& r : rec.series()) {
    if (r.role == RecordedSeries::Role::kServerEnd) svc = &r;
  }
  ASSERT_NE(svc, nullptr);
  EXPECT_GE(svc->last_bin() - svc->first_bin(), kJump2);
  EXPECT_LE(svc->points.size(), link.points.size());
  double bytes = 0;
  svc->ForEach([&](int64_t bin, const SeriesPoint& p) {
    EXPECT_LT(link.IndexOf(bin), link.points.size()) << bin;  // a bin the link holds
    bytes += p.wire[capture::kDown];
  });
  EXPECT_DOUBLE_EQ(bytes, 1000.0 * double(with_packets));
  ASSERT_EQ(svc->runs.size(), 3u);
  EXPECT_EQ(svc->runs[0].covered_end, link.runs[0].covered_end);  // the link's silence

  // The CSV: two rows (down, up) per recorded point, nothing for the span in between.
  std::ostringstream csv;
  ASSERT_TRUE(WriteSeriesCsv(rec, PlainAddresses(), csv));
  size_t points = link.points.size(), rows = 0;
  for (const RecordedSeries& r : rec.series()) points += r.points.size();
  for (char c : csv.str()) rows += c == '\n';
  EXPECT_EQ(rows, 1 + 2 * points);
  EXPECT_LE(points, 2 * size_t(with_packets) * (1 + rec.series().size()));
}

TEST(SeriesRecorderTest, SilenceIsCoveredNotStored) {
  // Data in bins 0-4 and 21-25 with 16 silent bins between: one zero after the first stretch,
  // and the silence is one run's coverage, not a gap.
  SeriesRecorder rec;
  const capture::FlowInfo f = Flow(1, 443);
  FeedLikeTheBinner(&rec, {0, 1, 2, 3, 4, 21, 22, 23, 24, 25}, 3600,
                    [&f](int64_t) { return std::vector<capture::FlowInfo>{f}; });
  const RecordedSeries& link = rec.link();
  EXPECT_EQ(link.points.size(), 11u);
  ASSERT_EQ(link.runs.size(), 2u);
  EXPECT_EQ(link.runs[0].covered_end, 21);  // silent up to the next data: no gap
  EXPECT_EQ(link.runs[1].first_bin, 21);
  EXPECT_EQ(link.runs[1].first_point, 6u);
  EXPECT_EQ(link.end_bin(), 26);
  EXPECT_EQ(link.IndexOf(5), 5u);
  EXPECT_EQ(link.IndexOf(6), link.points.size());  // silent: no point
}

TEST(SeriesRecorderTest, CoarseningBoundsSparseSeriesToo) {
  // 100 lone packets 1000 bins apart (10 silent bins after each, then a gap) against a budget
  // of 64 points and runs: the bins widen until the runs merge.
  SeriesRecorderParams p;
  p.max_points = 64;
  SeriesRecorder rec(p);
  const capture::FlowInfo f = Flow(1, 443);
  std::vector<int64_t> data;
  for (int i = 0; i < 100; ++i) data.push_back(int64_t(i) * 1000);
  FeedLikeTheBinner(&rec, data, 10, [&f](int64_t) { return std::vector<capture::FlowInfo>{f}; });
  const RecordedSeries& link = rec.link();
  EXPECT_LE(link.points.size() + link.runs.size(), 64u);
  EXPECT_GT(rec.width_ns(), kSec);
  double total = 0;
  for (const SeriesPoint& pt : link.points) total += pt.wire[capture::kDown];
  EXPECT_DOUBLE_EQ(total, 1000.0 * 100);
  for (size_t r = 0; r + 1 < link.runs.size(); ++r) {  // still in order, coverage within
    EXPECT_LE(link.runs[r].covered_end, link.runs[r + 1].first_bin);
    EXPECT_GT(link.runs[r + 1].first_point, link.runs[r].first_point);
  }
}

TEST(SeriesRecorderTest, ForgetBeforeKeepsASilenceThatReachesIntoTheWindow) {
  // Data in bins 0-9, then 90 silent bins (a link gone quiet, as a live capture reports it).
  SeriesRecorder rec;
  const capture::FlowInfo f = Flow(1, 443);
  FeedLikeTheBinner(&rec, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100}, 3600,
                    [&f](int64_t) { return std::vector<capture::FlowInfo>{f}; });
  rec.ForgetBefore(kT0 + 50 * kSec);
  const RecordedSeries& link = rec.link();
  ASSERT_EQ(link.runs.size(), 2u);
  EXPECT_EQ(link.first_bin(), 50);  // the silence from the cutoff on, as one zero
  EXPECT_EQ(link.runs[0].covered_end, 100);
  EXPECT_FLOAT_EQ(link.points[0].wire[capture::kDown], 0);
  EXPECT_EQ(link.runs[1].first_bin, 100);
}

}  // namespace
}  // namespace tw::detector
