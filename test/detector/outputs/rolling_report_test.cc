#include "detector/outputs/rolling_report.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capture/ip_proto.h"

namespace tw::detector {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

capture::FlowInfo Flow(uint64_t id) {
  capture::FlowInfo f;
  f.id = id;
  f.key.proto = capture::kIpProtoTcp;
  const uint8_t local[4] = {10, 0, 0, 2}, remote[4] = {192, 0, 2, 1};
  f.key.a = capture::Address::FromV4(local);
  f.key.b = capture::Address::FromV4(remote);
  f.key.port_a = uint16_t(40000 + id);
  f.key.port_b = 443;
  f.local_is_a = true;
  f.local_initiated = true;
  return f;
}

// One flow downloading `packets` 1000-byte packets per 1 s bin, for bins [from, to).
void Feed(RollingReport* r, const capture::FlowInfo& f, int from, int to, uint64_t packets) {
  for (int b = from; b < to; ++b) {
    capture::FlowBin fb;
    fb.info = f;
    fb.dir[capture::kDown].wire_bytes = packets * 1000;
    fb.dir[capture::kDown].payload_bytes = packets * 950;
    fb.dir[capture::kDown].packets = uint32_t(packets);
    capture::LinkBin link;
    link.dir[capture::kDown].wire_bytes = packets * 1000;
    link.dir[capture::kDown].packets = uint32_t(packets);
    r->OnBin(kT0 + b * kSec, kSec, {&fb, 1}, link);
  }
}

Event Throttle(uint64_t id, EventState state, int at_s, const capture::FlowInfo& f) {
  Event e;
  e.id = id;
  e.kind = EventKind::kThrottle;
  e.state = state;
  e.ts = double(kT0 / kSec + at_s);
  e.scope = EventScope::kFlow;
  e.has_flow = true;
  e.flow = f;
  e.rate_before_bps = 8e6;
  e.rate_after_bps = 1e6;
  return e;
}

bool Has(const std::string& html, const std::string& what) {
  return html.find(what) != std::string::npos;
}

TEST(RollingReportTest, ShowsOnlyTheLastWindow) {
  ReportData page;
  page.overview.sources = {"live capture on eth0"};
  RollingReport r(/*window_s=*/100, page);
  const capture::FlowInfo f = Flow(1);
  LiveCounters c;
  r.SetCounters(c);
  Feed(&r, f, 0, 50, 10);
  r.OnEvent(Throttle(1, EventState::kStart, 20, f));  // ends before the window
  r.OnEvent(Throttle(1, EventState::kEnd, 40, f));
  c.capture_dropped = 7;  // drops before the window do not count
  r.SetCounters(c);
  Feed(&r, f, 50, 150, 10);
  r.OnEvent(Throttle(2, EventState::kStart, 120, f));  // open: stays
  c.capture_dropped = 10;
  c.decode[size_t(capture::DecodeStatus::kTruncated)] = 4;
  r.SetCounters(c);
  Feed(&r, f, 150, 200, 20);

  const std::string html = r.Render(kT0 + 200 * kSec, /*active_flows=*/1);
  ASSERT_FALSE(html.empty());
  // The window is [100 s, 200 s): 50 bins of 10 and 50 of 20 packets.
  EXPECT_TRUE(Has(html, "<dt>Packets</dt><dd>1500</dd>")) << html.substr(0, 4000);
  EXPECT_TRUE(Has(html, "<dt>Capture drops</dt><dd>3</dd>"));
  EXPECT_TRUE(Has(html, "truncated 4"));
  EXPECT_TRUE(Has(html, "id=\"row-2\""));
  EXPECT_FALSE(Has(html, "id=\"row-1\""));
  EXPECT_TRUE(Has(html, "live capture on eth0"));
  EXPECT_FALSE(Has(html, "Event chain head"));  // none given yet
  EXPECT_EQ(r.events_kept(), 1u);
  EXPECT_EQ(r.recorder().link().points.size(), 100u);
  EXPECT_EQ(r.recorder().link().first_bin(), 100);
}

// Blocks stay in the window while they are on, like any event, and leave it once they ended
// before it; they follow no flow in the recorder.
TEST(RollingReportTest, KeepsTheBlocksOfTheWindow) {
  ReportData page;
  RollingReport r(/*window_s=*/100, page);
  const capture::FlowInfo f = Flow(1);
  Feed(&r, f, 0, 50, 10);
  auto block = [](uint64_t id, EventState state, int at_s) {
    Event e;
    e.id = id;
    e.kind = EventKind::kBlock;
    e.state = state;
    e.ts = double(kT0 / kSec + at_s);
    e.scope = EventScope::kRemoteHost;
    e.direction = capture::kUp;
    e.server_name = id == 1 ? "gone.example" : "news.example";
    e.has_remote = true;
    e.remote = Flow(1).remote();  // the address of the flow that works
    e.block.method = BlockMethod::kSniBlackhole;
    e.block.remote_port = 443;
    e.block.attempts = e.block.failures = 3;
    return e;
  };
  r.OnEvent(block(1, EventState::kStart, 10));
  r.OnEvent(block(1, EventState::kEnd, 30));
  r.OnEvent(block(2, EventState::kStart, 40));
  Feed(&r, f, 50, 150, 10);
  const std::string html = r.Render(kT0 + 150 * kSec, 1);
  EXPECT_TRUE(Has(html,
                  "<tr class=\"block\" id=\"block-2\"><td>2</td><td class=\"who\">"
                  "news.example<br><small>192.0.2.1:443, TCP</small>"));
  EXPECT_TRUE(Has(html, "still blocked at the end of the capture"));
  EXPECT_FALSE(Has(html, "gone.example"));
  EXPECT_EQ(r.events_kept(), 1u);
  for (const RecordedSeries& s : r.recorder().series()) EXPECT_EQ(s.event_id, 0u);
}

TEST(RollingReportTest, ShowsTheEventChainHeadItIsGiven) {
  RollingReport r(/*window_s=*/100, ReportData{});
  Feed(&r, Flow(1), 0, 10, 10);
  const std::string head(64, 'e');
  r.SetChainHead(head);
  EXPECT_TRUE(
      Has(r.Render(kT0 + 10 * kSec, 0), "<dt>Event chain head</dt><dd><code>" + head + "</code>"));
}

TEST(RollingReportTest, TopListsStartAgainEveryWindow) {
  RollingReport r(/*window_s=*/100, ReportData{});
  capture::FlowTotals t;
  t.dir[capture::kDown].wire_bytes = 123456789;
  Feed(&r, Flow(1), 0, 10, 10);
  r.OnFlowEnd(Flow(1), t);
  std::string html = r.Render(kT0 + 10 * kSec, 0);
  EXPECT_TRUE(Has(html, "tcp 10.0.0.2:40001"));  // counted while in the window
  Feed(&r, Flow(2), 10, 150, 10);
  html = r.Render(kT0 + 150 * kSec, 1);
  // Flow 1 ended 140 s ago, before the window: the lists were started again at the render.
  EXPECT_FALSE(Has(html, "tcp 10.0.0.2:40001"));
  EXPECT_TRUE(Has(html, "Flows that ended since"));
}

}  // namespace
}  // namespace tw::detector
