#include "detector/outputs/report_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>

#include "capture/ip_proto.h"
#include "detector/core/block_detector.h"
#include "detector/core/verdict_events.h"
#include "detector/pipeline/replay.h"
#include "test/support/block_event.h"
#include "test/support/synthetic_capture.h"
#include "test/support/temp_dir.h"

namespace tw::detector {
namespace {

constexpr double kT0 = 1'700'000'000;

// What the report shows of a replay, apart from its markup: three downloads of 1 Mbit/s for
// 60 s; port 2002 is squeezed to 200 kbit/s at 30 s by a shaper whose queue adds 300 ms to its
// round trip (as in report_test).
class ReportModelTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    const std::string path = Path("three.pcap");
    testing::WriteThreeDownloads(path, kT0);
    ReplayOptions o;
    o.files = {path};
    o.local = "10.0.0.0/24";
    o.observers.bins = &rec_;
    o.observers.events = &rec_;
    ASSERT_EQ(RunReplay(o, &result_), ReplayStatus::kOk) << result_.error;
    ASSERT_EQ(result_.events.size(), 1u);
    data_.overview.sources = {"three.pcap"};
    data_.overview.first_ns = result_.first_ns;
    data_.overview.last_ns = result_.last_ns;
    data_.overview.packets = result_.packets;
    data_.overview.flows = result_.binner.flows_created;
    data_.series = &rec_;
    data_.events = result_.events;
  }

  SeriesRecorder rec_;
  ReplayResult result_;
  ReportData data_;
};

TEST_F(ReportModelTest, CountsTheEpisodes) {
  const ReportModel m = BuildReportModel(data_);
  EXPECT_DOUBLE_EQ(m.cap_t0, double(result_.first_ns) * 1e-9);
  EXPECT_DOUBLE_EQ(m.cap_t1, double(result_.last_ns) * 1e-9);
  EXPECT_TRUE(m.gaps.empty());
  EXPECT_EQ(m.throttles, 1);
  EXPECT_EQ(m.targeted, 1);
  EXPECT_EQ(m.outages, 0);
  ASSERT_EQ(m.episodes.size(), 1u);
  const ReportEpisode& ep = m.episodes[0];
  EXPECT_EQ(ep.start, &result_.events[0]);
  EXPECT_EQ(ep.end, nullptr);         // open when the capture ended
  EXPECT_DOUBLE_EQ(ep.t1, m.cap_t1);  // so it lasts to the capture's end
  EXPECT_EQ(ep.who, "tcp 10.0.0.2:2002 <-> 192.0.2.1:443");
}

TEST_F(ReportModelTest, OverviewItemsInOrder) {
  const ReportModel m = BuildReportModel(data_);
  std::vector<std::string> labels;
  for (const OverviewItem& item : m.overview) labels.push_back(item.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"Source", "Time span", "Packets", "Bytes", "Flows",
                                              "Local networks", "Capture drops", "Not analysed",
                                              "Bin width"}));
  EXPECT_EQ(m.overview[0].html, "three.pcap");
  EXPECT_EQ(m.overview[2].html, std::to_string(result_.packets));
  EXPECT_EQ(m.overview[5].html, "none found");  // data_.overview.local left empty
}

TEST_F(ReportModelTest, LinkChartHasAPointPerBinAndTheThrottlesBand) {
  const ReportModel m = BuildReportModel(data_);
  const Chart& c = m.link_chart;
  const RecordedSeries& link = rec_.link();
  ASSERT_EQ(c.lines.size(), 2u);
  EXPECT_EQ(c.lines[0].cls, "down");
  EXPECT_EQ(c.lines[1].cls, "up");
  const size_t bins = size_t(link.end_bin() - link.first_bin());
  EXPECT_GT(bins, 55u);
  EXPECT_EQ(c.lines[0].pts.size(), bins);  // under the chart's point cap: one per bin
  ASSERT_EQ(c.bands.size(), 1u);
  EXPECT_EQ(c.bands[0].cls, "throttle");
  EXPECT_DOUBLE_EQ(c.bands[0].t0, result_.events[0].ts);
  EXPECT_TRUE(c.marks.empty());
}

TEST_F(ReportModelTest, EventChartFollowsTheFlowBesideItsConcurrentFlows) {
  const ReportModel m = BuildReportModel(data_);
  const ReportEpisode& ep = m.episodes[0];
  ASSERT_EQ(ep.chart_state, ReportEpisode::ChartState::kDrawn);
  ASSERT_NE(ep.flagged, nullptr);
  EXPECT_EQ(ep.flagged->flow.id, result_.events[0].flow.id);
  // The references: the two other downloads, each carrying as much as the squeezed flow did.
  std::set<uint16_t> ref_ports;
  for (const RecordedSeries* r : ep.references) {
    EXPECT_NE(r, ep.flagged);
    EXPECT_NE(r->role, RecordedSeries::Role::kServerEnd);
    ref_ports.insert(r->flow.local_port());
  }
  EXPECT_EQ(ref_ports, (std::set<uint16_t>{2001, 2003}));
  const Chart& c = ep.chart;
  EXPECT_EQ(c.id, "chart-" + std::to_string(result_.events[0].id));
  EXPECT_LT(c.t0, result_.events[0].ts);
  EXPECT_GT(c.t1, result_.events[0].ts);
  // Lines: the references, the flow, its RTT (no retransmissions in this capture).
  std::vector<std::string> classes;
  for (const Line& l : c.lines) classes.push_back(l.cls);
  EXPECT_EQ(classes, (std::vector<std::string>{"ref", "ref2", "flow", "rtt"}));
  EXPECT_TRUE(c.lines[3].right);
  for (const Line& l : c.lines) EXPECT_FALSE(l.pts.empty()) << l.cls;
  ASSERT_EQ(c.bands.size(), 1u);  // the throttled span, no gaps
  EXPECT_EQ(c.marks.size(), 1u);  // its start; no end
}

TEST_F(ReportModelTest, TopTables) {
  const ReportModel m = BuildReportModel(data_);
  ASSERT_EQ(m.top_flows.size(), 3u);
  for (size_t i = 1; i < m.top_flows.size(); ++i) {
    EXPECT_GE(m.top_flows[i - 1].total, m.top_flows[i].total);
  }
  for (const TopRow& r : m.top_flows) {
    EXPECT_EQ(r.total, r.down + r.up);
    EXPECT_NE(r.label.find(" <-> 192.0.2.1:443"), std::string::npos) << r.label;
  }
  EXPECT_EQ(m.top_flows.back().label, "tcp 10.0.0.2:2002 <-> 192.0.2.1:443");  // the squeezed
  ASSERT_EQ(m.top_services.size(), 1u);
  EXPECT_EQ(m.top_services[0].label, "tcp 192.0.2.1:443");
  EXPECT_EQ(m.top_services[0].flows, 3u);
}

TEST_F(ReportModelTest, TheEventCarriesTheDetectorsEvidence) {
  // The shaper's queue: the detector judged the RTT before (20 ms) and since the change (320 ms).
  const Event& e = result_.events[0];
  ASSERT_EQ(e.mechanism, Mechanism::kShaping);
  EXPECT_NEAR(e.evidence.rtt_before_s, 0.02, 0.005);
  EXPECT_NEAR(e.evidence.rtt_after_s, 0.32, 0.03);
  EXPECT_GE(e.evidence.loss_share, 0);
  EXPECT_LT(e.evidence.loss_share, 0.005);  // no losses in this capture
  EXPECT_EQ(e.evidence.flows_limited, 0);
  const ReportModel m = BuildReportModel(data_);
  EXPECT_EQ(m.episodes[0].mechanism_numbers, MechanismNumbers(e));
  EXPECT_TRUE(
      std::regex_match(m.episodes[0].mechanism_numbers, std::regex("RTT 2[0-9] → 3[0-9]{2} ms")))
      << m.episodes[0].mechanism_numbers;
}

Event WithEvidence(Mechanism m, double rtt_before_s, double rtt_after_s, double loss_share) {
  Event e;
  e.mechanism = m;
  e.evidence.rtt_before_s = rtt_before_s;
  e.evidence.rtt_after_s = rtt_after_s;
  e.evidence.loss_share = loss_share;
  return e;
}

TEST(ReportMechanismTest, TheNumbersTheVerdictTurnedOn) {
  EXPECT_EQ(MechanismNumbers(WithEvidence(Mechanism::kShaping, 0.02, 0.15, 0)), "RTT 20 → 150 ms");
  EXPECT_EQ(MechanismNumbers(WithEvidence(Mechanism::kShaping, 0.02, 0.15, 0.03)),
            "RTT 20 → 150 ms, 3.0 % retransmitted");
  EXPECT_EQ(MechanismNumbers(WithEvidence(Mechanism::kPolicing, 0.02, 0.021, 0.012)),
            "1.2 % of the payload retransmitted");
  EXPECT_EQ(MechanismNumbers(WithEvidence(Mechanism::kUnknown, 0.02, 0.024, 0.001)),
            "RTT 20 → 24 ms, 0.1 % retransmitted");
  EXPECT_EQ(MechanismNumbers(WithEvidence(Mechanism::kUnknown, -1, -1, 0)), "0.0 % retransmitted");
  EXPECT_EQ(MechanismNumbers(WithEvidence(Mechanism::kShaping, 0.0004, 0.0025, 0)),
            "RTT 0.4 → 2.5 ms");
  Event link = WithEvidence(Mechanism::kShaping, -1, -1, -1);
  link.evidence.flows_limited = 4;
  link.evidence.flows_shaping = 3;
  EXPECT_EQ(MechanismNumbers(link), "RTT rose in 3 of 4 limited flows");
  // Read back from an event file: no evidence, no numbers.
  Event read_back;
  read_back.mechanism = Mechanism::kShaping;
  EXPECT_EQ(MechanismNumbers(read_back), "");
}

TEST(ReportMechanismTest, APolicingVerdictsEventCarriesItsNumbers) {
  FlowVerdict v;
  v.info.id = 7;
  v.kind = VerdictKind::kPoliced;
  v.rtt_median_s = 0.05;
  v.queue_delay_s = 0.004;
  v.retrans_rate = 0.012;
  std::vector<FlowVerdict> verdicts{v};
  EventCollector sink;
  EmitVerdictEvents({}, &verdicts, &sink);
  ASSERT_EQ(sink.events().size(), 1u);
  const Event& e = sink.events()[0];
  EXPECT_EQ(e.mechanism, Mechanism::kPolicing);
  EXPECT_DOUBLE_EQ(e.evidence.rtt_before_s, 0.046);  // the floor the queue was measured from
  EXPECT_DOUBLE_EQ(e.evidence.rtt_after_s, 0.05);
  EXPECT_DOUBLE_EQ(e.evidence.loss_share, 0.012);
  EXPECT_EQ(MechanismNumbers(e), "1.2 % of the payload retransmitted");
}

class ReportLinkEventTest : public testing::TempDirTest {};

TEST_F(ReportLinkEventTest, CountsTheFlowsThatQueued) {
  // Three downloads from three servers squeezed together at 30 s by one shaper: a link event,
  // judged on the flows.
  const std::string path = Path("link.pcap");
  {
    testing::SyntheticCapture cap(path);
    for (int i = 0; i < 3; ++i) {
      uint32_t seq = 1;
      const uint16_t port = uint16_t(2001 + i);
      const uint8_t server = uint8_t(1 + i);
      cap.Download(kT0 + 0.01 * i, kT0 + 30, port, 125000, &seq, 0.02, server);
      cap.Download(kT0 + 30, kT0 + 60, port, 25000, &seq, /*rtt_s=*/0.32, server);
    }
  }
  ReplayOptions o;
  o.files = {path};
  o.local = "10.0.0.0/24";
  ReplayResult r;
  ASSERT_EQ(RunReplay(o, &r), ReplayStatus::kOk) << r.error;
  ASSERT_EQ(r.events.size(), 1u);
  const Event& e = r.events[0];
  EXPECT_EQ(e.scope, EventScope::kLink);
  EXPECT_EQ(e.mechanism, Mechanism::kShaping);
  EXPECT_EQ(e.evidence.flows_limited, 3);
  EXPECT_EQ(e.evidence.flows_shaping, 3);
  EXPECT_EQ(MechanismNumbers(e), "RTT rose in 3 of 3 limited flows");
}

// A recorder fed `flows` steady downloads for `bins` one-second bins; events name the first
// `flagged` flows, one every 3 bins.
struct Synthetic {
  SeriesRecorder rec;
  std::vector<Event> events;
  int64_t t0_ns = int64_t(kT0) * 1'000'000'000;
  int64_t t1_ns = 0;
};
// The report model of `s`: its series and events over its time.
ReportModel Model(const Synthetic& s) {
  ReportData data;
  data.series = &s.rec;
  data.events = s.events;
  data.overview.first_ns = s.t0_ns;
  data.overview.last_ns = s.t1_ns;
  return BuildReportModel(data);
}
void Feed(int flows, int bins, int flagged, Synthetic* s) {
  std::vector<capture::FlowBin> fb(static_cast<size_t>(flows));
  for (int i = 0; i < flows; ++i) {
    fb[size_t(i)].info.id = uint64_t(i + 1);
    fb[size_t(i)].info.key.proto = capture::kIpProtoTcp;
    fb[size_t(i)].info.key.port_a = uint16_t(1000 + i);
    fb[size_t(i)].info.local_is_a = true;
  }
  for (int b = 0; b < bins; ++b) {
    capture::LinkBin link;
    for (capture::FlowBin& f : fb) {
      f.dir[capture::kDown].wire_bytes = 1500;
      f.dir[capture::kDown].payload_bytes = 1440;
      link.dir[capture::kDown].wire_bytes += 1500;
    }
    s->rec.OnBin(s->t0_ns + int64_t(b) * 1'000'000'000, 1'000'000'000, fb, link);
    if (b % 3 == 2 && int(s->events.size()) < flagged) {
      Event e;
      e.id = s->events.size() + 1;
      e.ts = double(s->t0_ns) * 1e-9 + b - 1;
      e.has_flow = true;
      e.scope = EventScope::kFlow;
      e.flow = fb[s->events.size()].info;
      e.rate_before_bps = 12000;
      e.rate_after_bps = 2000;
      s->rec.OnEvent(e);
      s->events.push_back(e);
    }
  }
  s->t1_ns = s->t0_ns + int64_t(bins) * 1'000'000'000;
}

TEST(ReportModelChartsTest, AtMostMaxEventChartsAndNoneWithoutASeries) {
  Synthetic s;
  constexpr int kFlagged = int(kMaxEventCharts) + 5;
  Feed(kFlagged + 2, 3 * kFlagged + 10, kFlagged, &s);
  // A throttle of a flow the recorder never saw (its series was not recorded), and an outage.
  Event unknown;
  unknown.id = 1000;
  unknown.ts = double(s.t0_ns) * 1e-9 + 0.7;
  unknown.has_flow = true;
  unknown.flow.id = 999'999;
  Event outage;
  outage.id = 1001;
  outage.kind = EventKind::kOutage;
  outage.ts = double(s.t0_ns) * 1e-9 + 0.5;
  s.events.push_back(unknown);
  s.events.push_back(outage);
  const ReportModel m = Model(s);
  EXPECT_EQ(m.throttles, kFlagged + 1);
  EXPECT_EQ(m.outages, 1);
  ASSERT_EQ(m.episodes.size(), size_t(kFlagged) + 2);
  // In time order: the outage, the unknown flow's throttle, then the flagged flows (from 1 s).
  EXPECT_EQ(m.episodes[0].start->id, 1001u);
  EXPECT_EQ(m.episodes[0].chart_state, ReportEpisode::ChartState::kDrawn);
  EXPECT_EQ(m.episodes[0].chart.aria, "Throughput of the whole link around the outage");
  EXPECT_EQ(m.episodes[0].chart.lines.size(), 2u);
  EXPECT_EQ(m.episodes[1].start->id, 1000u);
  EXPECT_EQ(m.episodes[1].flagged, nullptr);
  EXPECT_EQ(m.episodes[1].chart_state, ReportEpisode::ChartState::kNotRecorded);
  size_t drawn = 0, over = 0;
  for (const ReportEpisode& ep : m.episodes) {
    drawn += ep.chart_state == ReportEpisode::ChartState::kDrawn;
    over += ep.chart_state == ReportEpisode::ChartState::kOverCap;
  }
  EXPECT_EQ(drawn, kMaxEventCharts);
  EXPECT_EQ(over, size_t(kFlagged) + 2 - kMaxEventCharts - 1);
  EXPECT_EQ(m.episodes.back().chart_state, ReportEpisode::ChartState::kOverCap);
  EXPECT_TRUE(m.episodes.back().chart.lines.empty());  // not computed
}

// A connection from 10.0.0.2 to `remote`:443 opened at `t_s`, as the opening tracker decides it;
// a reset one got a RST after its ClientHello with a TTL 12 above the server's SYN-ACKs' (52).
capture::Opening Opening(const char* remote, double t_s, bool reset) {
  capture::Opening o;
  o.flow.key.a = *capture::Address::Parse("10.0.0.2");
  o.flow.key.b = *capture::Address::Parse(remote);
  o.flow.key.port_a = 50000;
  o.flow.key.port_b = 443;
  o.flow.key.proto = capture::kIpProtoTcp;
  o.flow.local_is_a = true;
  o.start_ns = int64_t(t_s * 1e9);
  o.decided_ns = o.start_ns + 100'000'000;
  o.server_ttl = 52;
  o.handshake_rtt_s = 0.05f;
  o.outcome =
      reset ? capture::OpeningOutcome::kResetAfterRequest : capture::OpeningOutcome::kCompleted;
  if (reset) {
    o.hello = true;
    o.reset_ttl = 64;
    o.reset_ttl_delta = 12;
    o.reset_after_s = 0.06f;
  }
  return o;
}

// The block detector's block of news.example (resets injected after the ClientHello, while
// weather.example on the same address works), lifted at `lifted_s`, as the report shows it.
std::vector<Event> NewsBlock(double t0, double lifted_s) {
  EventCollector sink;
  uint64_t next_id = 100;
  BlockDetector det(BlockParams{}, &sink, &next_id);
  auto feed = [&det](const capture::Opening& o, const char* name) {
    det.OnOpening(o, name, o.decided_ns);
  };
  feed(Opening("192.0.2.3", t0, false), "news.example");
  for (int i = 0; i < 3; ++i) {
    feed(Opening("192.0.2.3", t0 + 10 + i, true), "news.example");
    feed(Opening("192.0.2.3", t0 + 10.5 + i, false), "weather.example");
  }
  feed(Opening("192.0.2.3", t0 + lifted_s, false), "news.example");
  return sink.events();
}

// A QUIC block of an address without a name, still on when the capture ended.
Event QuicBlock(uint64_t id, double ts) {
  Event e = testing::BlockEvent(id, EventState::kStart, ts, "", "2001:db8::5");
  e.confidence = 0.5;
  e.block.method = BlockMethod::kQuicBlackhole;
  e.block.transport = BlockTransport::kQuic;
  e.block.same_address_ok = e.block.worked_before = false;
  return e;
}

// Blocks are listed with their evidence in words, apart from the throttles and outages: no
// episode, no band on the link chart, no chart, and the throttle counts are the throttles'.
TEST(ReportBlockTest, BlocksAreListedWithTheirEvidenceAndDrawnNowhere) {
  Synthetic s;
  Feed(4, 60, 2, &s);
  const double t0 = double(s.t0_ns) * 1e-9;
  for (const Event& e : NewsBlock(t0, 40)) s.events.push_back(e);
  s.events.push_back(QuicBlock(200, t0 + 30));
  // As the pipeline hands them on (the throttles were).
  for (size_t i = 2; i < s.events.size(); ++i) s.rec.OnEvent(s.events[i]);
  ASSERT_EQ(s.events.size(), 5u);  // 2 throttles, a block's start and end, another block
  const Event& news_end = s.events[3];
  ASSERT_EQ(news_end.kind, EventKind::kBlock);
  ASSERT_EQ(news_end.state, EventState::kEnd);
  const ReportModel m = Model(s);
  EXPECT_EQ(m.throttles, 2);
  EXPECT_EQ(m.outages, 0);
  ASSERT_EQ(m.episodes.size(), 2u);
  for (const ReportEpisode& ep : m.episodes) EXPECT_EQ(ep.start->kind, EventKind::kThrottle);
  EXPECT_EQ(m.link_chart.bands.size(), 2u);
  for (const Band& b : m.link_chart.bands) EXPECT_EQ(b.cls, "throttle") << b.label;

  ASSERT_EQ(m.blocks.size(), 2u);
  const ReportBlock& news = m.blocks[0];
  EXPECT_EQ(news.start, &s.events[2]);
  EXPECT_EQ(news.end, &news_end);
  EXPECT_EQ(news.counts, &news_end.block);  // the whole block's
  EXPECT_EQ(news.service, "news.example");
  EXPECT_EQ(news.endpoint, "192.0.2.3:443");
  EXPECT_EQ(news.evidence,
            (std::vector<std::string>{
                "The connections were reset by a packet the server did not send.",
                "3 of 3 failures were resets with an IP TTL unlike that of the server's SYN-ACKs "
                "(the last one's 12 higher).",
                "Other services kept working meanwhile: 1, on the same address.",
                "The service had worked earlier in the capture."}));
  const ReportBlock& quic = m.blocks[1];
  EXPECT_EQ(quic.end, nullptr);
  EXPECT_EQ(quic.counts, &s.events[4].block);
  EXPECT_EQ(quic.service, "[2001:db8::5]:443");
  EXPECT_EQ(quic.service, quic.endpoint);
  EXPECT_EQ(quic.evidence.back(), "From one uplink, a QUIC server that is down looks the same.");
  // The recorder followed no flow for the blocks.
  for (const RecordedSeries& r : s.rec.series()) {
    EXPECT_NE(r.event_id, news.start->id);
    EXPECT_NE(r.event_id, 200u);
  }
}

TEST(ReportBlockTest, EvidenceInWords) {
  BlockEvidence b;
  b.method = BlockMethod::kTcpRst;
  b.attempts = b.failures = 4;
  b.resets_too_fast = 2;
  b.reset_after_s = 0.0012;
  b.handshake_rtt_s = 0.04;
  b.witnesses = 3;
  b.same_address_ok = true;
  EXPECT_EQ(BlockEvidenceWords(b, PlainAddresses()),
            (std::vector<std::string>{
                "The connections were reset by a packet the server did not send.",
                "2 of 4 failures were resets sooner than a round trip to the server allows (the "
                "last one 1.2 ms after the request, the handshake's round trip 40 ms).",
                "Other services kept working meanwhile: 3, one of them on the same address.",
                "No connection to the service had completed earlier in the capture."}));
  b = BlockEvidence{};
  b.method = BlockMethod::kSniBlackhole;
  b.handshake_rtt_s = 0.035;
  b.witnesses = 2;
  b.worked_before = true;
  EXPECT_EQ(BlockEvidenceWords(b, PlainAddresses()),
            (std::vector<std::string>{
                "The TCP handshake completed (round trip 35 ms), then the TLS ClientHello, which "
                "names the site, was sent again and never answered: the path carried the "
                "connection but not the name.",
                "Other services kept working meanwhile: 2.",
                "The service had worked earlier in the capture."}));
  b.method = BlockMethod::kIpBlackhole;
  EXPECT_EQ(BlockEvidenceWords(b, PlainAddresses()).back(),
            "From one uplink, a server that is down for everyone looks the same.");
}

}  // namespace
}  // namespace tw::detector
