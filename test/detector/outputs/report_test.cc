#include "detector/outputs/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>

#include "capture/ip_proto.h"
#include "detector/pipeline/replay.h"
#include "test/support/block_event.h"
#include "test/support/synthetic_capture.h"
#include "test/support/temp_dir.h"

namespace tw::detector {
namespace {

namespace fs = std::filesystem;
constexpr double kT0 = 1'700'000'000;

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

class ReportTest : public tw::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    // Three downloads of 1 Mbit/s for 60 s; port 2002 is squeezed to 200 kbit/s at 30 s by a
    // shaper whose queue adds 300 ms to its round trip.
    const std::string path = (dir_ / "three.pcap").string();
    testing::WriteThreeDownloads(path, kT0);
    ReplayOptions o;
    o.files = {path};
    o.local = "10.0.0.0/24";
    o.observers.bins = &rec_;
    o.observers.events = &rec_;
    ASSERT_EQ(RunReplay(o, &result_), ReplayStatus::kOk) << result_.error;
    ASSERT_EQ(result_.events.size(), 1u);
    data_.version = "test";
    data_.overview.sources = {"three.pcap"};
    data_.overview.first_ns = result_.first_ns;
    data_.overview.last_ns = result_.last_ns;
    data_.overview.packets = result_.packets;
    data_.overview.bytes = result_.bytes;
    data_.overview.flows = result_.binner.flows_created;
    data_.overview.local = result_.local_cidrs;
    data_.series = &rec_;
    data_.events = result_.events;
  }

  std::string Render() {
    std::ostringstream out;
    EXPECT_TRUE(WriteReport(data_, out));
    return out.str();
  }

  SeriesRecorder rec_;
  ReplayResult result_;
  ReportData data_;
};

TEST_F(ReportTest, IsSelfContained) {
  const std::string html = Render();
  ASSERT_GT(html.size(), 1000u);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  // No URL (the word "http" itself is in the text: the http_blockpage method); nothing could
  // be fetched.
  EXPECT_EQ(Count(html, "http:"), 0u);
  EXPECT_EQ(Count(html, "https:"), 0u);
  EXPECT_EQ(Count(html, "//www."), 0u);
  EXPECT_EQ(Count(html, "http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'"), 1u);
  for (const char* bad : {"url(", "@import", " src=", "<script", "<link", "<iframe"}) {
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  }
  EXPECT_NE(html.find("@media print"), std::string::npos);
  EXPECT_NE(html.find("name=\"viewport\""), std::string::npos);
}

TEST_F(ReportTest, TableRowsLinkToTheirCharts) {
  const std::string html = Render();
  const uint64_t id = result_.events[0].id;
  const std::string sid = std::to_string(id);
  EXPECT_NE(html.find("<tr class=\"throttle\" id=\"row-" + sid + "\">"), std::string::npos);
  EXPECT_NE(html.find("href=\"#ev-" + sid + "\""), std::string::npos);
  EXPECT_NE(html.find("<article id=\"ev-" + sid + "\">"), std::string::npos);
  EXPECT_NE(html.find("id=\"chart-" + sid + "\""), std::string::npos);
  EXPECT_NE(html.find("tcp 10.0.0.2:2002 &lt;-&gt; 192.0.2.1:443"), std::string::npos);
  // Rates in human units, before -> after; UTC with its offset.
  EXPECT_TRUE(std::regex_search(html, std::regex(R"(1\.[0-9]{2} Mbit/s → 2[0-9]{2} kbit/s)")))
      << "rate before -> after";
  EXPECT_NE(html.find("2023-11-14 22:13:50.0"), std::string::npos);
  EXPECT_NE(html.find("+00:00"), std::string::npos);
  EXPECT_NE(html.find(">yes<"), std::string::npos);  // targeted
}

TEST_F(ReportTest, ChartsHaveData) {
  const std::string html = Render();
  // Link chart: down and up paths with one point per bin.
  const std::regex down(R"re(<path class="down" d="M[0-9.]+ [0-9.]+(L[0-9.]+ [0-9.]+){50,})re");
  EXPECT_TRUE(std::regex_search(html, down));
  // Event chart: the flow itself and its concurrent flows, and the throttled span shaded.
  EXPECT_TRUE(
      std::regex_search(html, std::regex(R"re(<path class="flow" d="M[0-9.]+ [0-9.]+L)re")));
  EXPECT_TRUE(std::regex_search(html, std::regex(R"re(<path class="ref" d="M[0-9.]+ [0-9.]+L)re")));
  EXPECT_NE(html.find("<rect class=\"throttle\""), std::string::npos);
  EXPECT_NE(html.find("concurrent: tcp 10.0.0.2:2001"), std::string::npos);
}

TEST_F(ReportTest, ShowsTheDetectorsMechanismWithItsNumbers) {
  // The detector judged the squeeze a shaper's on the flow's RTT (20 ms before, 320 ms since).
  ASSERT_EQ(result_.events[0].mechanism, Mechanism::kShaping);
  const std::string html = Render();
  EXPECT_TRUE(std::regex_search(
      html, std::regex("<td>shaping<br><small>RTT 2[0-9] → 3[0-9]{2} ms</small></td>")))
      << "table cell";
  EXPECT_TRUE(
      std::regex_search(html, std::regex(R"(Mechanism: shaping \(RTT 2[0-9] → 3[0-9]{2} ms\)\.)")))
      << "event details";
}

TEST_F(ReportTest, MechanismNumbersOnlyWhereTheEventCarriesThem) {
  std::vector<Event> events = result_.events;
  data_.events = events;
  events[0].mechanism = Mechanism::kPolicing;
  events[0].evidence = MechanismEvidence{};
  events[0].evidence.rtt_before_s = 0.020;
  events[0].evidence.rtt_after_s = 0.021;
  events[0].evidence.loss_share = 0.012;
  std::string html = Render();
  EXPECT_NE(html.find("<td>policing<br><small>1.2 % of the payload retransmitted</small></td>"),
            std::string::npos);
  EXPECT_NE(html.find(" Mechanism: policing (1.2 % of the payload retransmitted)."),
            std::string::npos);
  // An event read back from a file carries no evidence: the mechanism's name alone.
  events[0].evidence = MechanismEvidence{};
  html = Render();
  EXPECT_NE(html.find("<td>policing</td>"), std::string::npos);
  EXPECT_NE(html.find(" Mechanism: policing. "), std::string::npos);
  EXPECT_EQ(html.find("retransmitted"), std::string::npos);
}

// A block of `name` on `remote`:443 starting at `ts`, as the block detector writes it: reset by an
// injector, 3 failures of 3 connections, two other services working (one on its address).
Event BlockStart(uint64_t id, double ts, const std::string& name, const char* remote) {
  Event e = testing::BlockEvent(id, EventState::kStart, ts, name, remote);
  e.block.resets_ttl_mismatch = 3;
  e.block.reset_ttl_delta = -12;
  return e;
}

TEST_F(ReportTest, SaysNoBlockWasSeenAndWhatWouldHaveShownOne) {
  const std::string html = Render();
  EXPECT_NE(html.find("<section id=\"blocking\"><h2>Blocking</h2><p>No blocked service was seen "
                      "in this capture: a service is blocked when three or more of its "
                      "connections in a row fail one way while other services' connections "
                      "complete: reset by a packet the server did not send (tcp_rst)"),
            std::string::npos);
  EXPECT_EQ(html.find("id=\"block-table\""), std::string::npos);
  EXPECT_NE(html.find("1 throttle (1 targeted), 0 outages and 0 blocked services found."),
            std::string::npos);
}

// Blocks get rows of their own under Blocking, with their evidence in words, and are drawn
// nowhere as throttles: no row in the event table, no band, no chart. The service's name is the
// link owner's text: escaped, whatever it holds.
TEST_F(ReportTest, BlocksHaveRowsOfTheirOwnAndAreNoThrottles) {
  const std::string hostile = "<script>alert(1)</script>\"'&<b onmouseover=x>.example";
  std::vector<Event> events = result_.events;
  const double t0 = kT0 + 5;
  events.push_back(BlockStart(50, t0, hostile, "192.0.2.7"));
  Event end = events.back();
  end.state = EventState::kEnd;
  end.ts = t0 + 20;
  end.duration_s = 20;
  end.reason = "lifted";
  end.block.attempts = 5;
  end.block.failures = 4;
  events.push_back(end);
  Event open = BlockStart(51, t0 + 30, "", "2001:db8::5");
  open.block.method = BlockMethod::kIpBlackhole;
  events.push_back(open);
  data_.events = events;
  const std::string html = Render();
  EXPECT_NE(html.find("1 throttle (1 targeted), 0 outages and 2 blocked services found."),
            std::string::npos);
  // Not in the event table, the link chart or the event details.
  EXPECT_EQ(Count(html, "<tr class=\"throttle\""), 1u);
  for (const char* id : {"50", "51"}) {
    for (const std::string& no : {std::string("id=\"row-") + id, std::string("id=\"ev-") + id,
                                  std::string("id=\"chart-") + id, std::string(" #") + id}) {
      EXPECT_EQ(html.find(no), std::string::npos) << no;
    }
  }
  EXPECT_EQ(Count(html, "<rect class=\"throttle\""), 2u);  // the link chart's, the event's
  // Their own rows: the service, method, OONI category, times, counts, evidence.
  const std::string esc =
      "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;&lt;b onmouseover=x&gt;.example";
  EXPECT_NE(html.find("<tr class=\"block\" id=\"block-50\"><td>50</td><td class=\"who\">" + esc +
                      "<br><small>192.0.2.7:443, TCP</small></td><td>tcp_rst<br><small>"
                      "OONI: tcp_ip</small></td><td class=\"time\">2023-11-14 22:13:25.000"
                      "</td><td class=\"time\">2023-11-14 22:13:45.000</td><td>20.0 s</td>"
                      "<td class=\"num\">4 of 5</td><td class=\"num\">90 %</td></tr>"),
            std::string::npos)
      << html.substr(html.find("id=\"blocking\""), 3000);
  EXPECT_NE(html.find("<li>3 of 4 failures were resets with an IP TTL unlike that of the "
                      "server&#39;s SYN-ACKs (the last one&#39;s 12 lower).</li>"),
            std::string::npos);
  EXPECT_NE(html.find("<li>Other services kept working meanwhile: 2, one of them on the same "
                      "address.</li>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr class=\"block\" id=\"block-51\"><td>51</td><td class=\"who\">"
                      "[2001:db8::5]:443<br><small>TCP, no name seen</small></td>"
                      "<td>ip_blackhole<br><small>OONI: tcp_ip</small></td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"time\">still blocked at the end of the capture</td>"
                      "<td>at least "),
            std::string::npos);
  EXPECT_NE(html.find("3 of 3<br><small>by its start</small>"), std::string::npos);
  // Nothing of the name reaches the page unescaped.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b onmouseover"), std::string::npos);
  EXPECT_EQ(html.find("alert(1)</"), std::string::npos);
}

TEST_F(ReportTest, EveryAddressGoesThroughTheFormatter) {
  std::vector<Event> events = result_.events;
  events.push_back(BlockStart(50, kT0 + 5, "", "192.0.2.7"));
  data_.events = events;
  data_.format_address = [](const capture::Address& a) {
    return a.IsV4() ? std::string("198.51.100.") + std::to_string(a.bytes[15] ^ 0x5a) : "::1";
  };
  data_.anonymized = true;
  const std::string html = Render();
  EXPECT_EQ(html.find("10.0.0."), std::string::npos);
  EXPECT_EQ(html.find("192.0.2."), std::string::npos);
  EXPECT_NE(html.find("198.51.100."), std::string::npos);
  EXPECT_NE(html.find("anonymized"), std::string::npos);
  // The local network 10.0.0.0/24 is shown as a network: the formatter's host bits cleared.
  EXPECT_NE(html.find("198.51.100.0/24"), std::string::npos);
  EXPECT_EQ(html.find("198.51.100.90/24"), std::string::npos);
  std::ostringstream csv;
  ASSERT_TRUE(WriteSeriesCsv(rec_, data_.format_address, csv));
  EXPECT_EQ(csv.str().find("192.0.2."), std::string::npos);
  EXPECT_NE(csv.str().find("198.51.100."), std::string::npos);
}

TEST_F(ReportTest, SeriesCsvHasLinkFlowAndServiceRows) {
  std::ostringstream out;
  ASSERT_TRUE(WriteSeriesCsv(rec_, PlainAddresses(), out));
  std::istringstream in(out.str());
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line,
            "series,scope,direction,start_epoch_s,time_utc,width_s,rate_bps,retrans_bps,"
            "rtt_ms");
  size_t link = 0, flow = 0, ref = 0, service = 0, rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    EXPECT_EQ(Count(line, ","), 8u) << line;
    link += line.rfind("link,link,", 0) == 0;
    flow += line.find(",flow,") != std::string::npos;
    ref += line.find(",reference,") != std::string::npos;
    service += line.rfind("service tcp 192.0.2.1:443,service,", 0) == 0;
  }
  EXPECT_EQ(link, 2 * rec_.link().points.size());
  EXPECT_GT(flow, 60u);
  EXPECT_GT(ref, 60u);
  EXPECT_GT(service, 60u);
  // One download at ~1 Mbit/s on the wire: the link carries three before the squeeze.
  EXPECT_NE(out.str().find("link,link,down,1700000010.000,2023-11-14T22:13:30.000Z,1,3"),
            std::string::npos);
}

TEST(ReportSizeTest, StaysSmallWithManyEventsOverALongCapture) {
  // 100 flagged flows over 3 hours of 1 s bins: charts are downsampled and capped.
  SeriesRecorder rec;
  constexpr int kFlows = 100, kBins = 3 * 3600;
  std::vector<capture::FlowBin> bins(kFlows);
  std::vector<Event> events;
  for (int i = 0; i < kFlows; ++i) {
    bins[size_t(i)].info.id = uint64_t(i + 1);
    bins[size_t(i)].info.key.proto = capture::kIpProtoTcp;
    bins[size_t(i)].info.key.port_a = uint16_t(1000 + i);
    bins[size_t(i)].info.local_is_a = true;
  }
  const int64_t t0 = int64_t(kT0) * 1'000'000'000;
  for (int b = 0; b < kBins; ++b) {
    capture::LinkBin link;
    for (int i = 0; i < kFlows; ++i) {
      auto& d = bins[size_t(i)].dir[capture::kDown];
      d.wire_bytes = uint64_t(1000 + (b * 7 + i * 13) % 500);
      d.payload_bytes = d.wire_bytes - 60;
      link.dir[capture::kDown].wire_bytes += d.wire_bytes;
    }
    rec.OnBin(t0 + int64_t(b) * 1'000'000'000, 1'000'000'000, bins, link);
    if (b % 90 == 89 && events.size() < kFlows) {
      Event e;
      e.id = events.size() + 1;
      e.ts = double(t0) * 1e-9 + b - 5;
      e.has_flow = true;
      e.scope = EventScope::kFlow;
      e.flow = bins[events.size()].info;
      e.rate_before_bps = 10000;
      e.rate_after_bps = 2000;
      rec.OnEvent(e);
      events.push_back(e);
    }
  }
  ReportData data;
  data.series = &rec;
  data.events = events;
  data.overview.first_ns = t0;
  data.overview.last_ns = t0 + int64_t(kBins) * 1'000'000'000;
  std::ostringstream out;
  ASSERT_TRUE(WriteReport(data, out));
  EXPECT_LT(out.str().size(), 5u << 20);
  EXPECT_EQ(Count(out.str(), "<tr class=\"throttle\""), size_t(kFlows));
  EXPECT_EQ(Count(out.str(), "<svg class=\"chart\""), kMaxEventCharts + 1);
}

// The link chart's SVG, the x ranges of its gap bands and the polylines of its `cls` path.
struct LinkChart {
  std::vector<std::pair<double, double>> gaps;  // [x0, x1]
  std::vector<std::vector<double>> segments;    // x of each pen-down stretch
  std::vector<std::string> ticks;               // axis labels
};
LinkChart ParseLinkChart(const std::string& html, const std::string& cls) {
  LinkChart c;
  const size_t from = html.find("id=\"link-chart\"");
  const size_t to = html.find("</svg>", from);
  if (from == std::string::npos || to == std::string::npos) return c;
  const std::string svg = html.substr(from, to - from);
  const std::regex band(R"re(<rect class="gap" x="([0-9.]+)" y="[0-9.]+" width="([0-9.]+)")re");
  for (std::sregex_iterator it(svg.begin(), svg.end(), band), end; it != end; ++it) {
    const double x = std::stod((*it)[1]);
    c.gaps.emplace_back(x, x + std::stod((*it)[2]));
  }
  const std::regex tick(R"re(<text x="[0-9.]+" y="284">([^<]*)</text>)re");
  for (std::sregex_iterator it(svg.begin(), svg.end(), tick), end; it != end; ++it) {
    c.ticks.push_back((*it)[1]);
  }
  const std::smatch m;
  const std::regex path("<path class=\"" + cls + "\" d=\"([^\"]*)\"");
  std::smatch pm;
  if (!std::regex_search(svg, pm, path)) return c;
  const std::string d = pm[1];
  const std::regex cmd(R"re(([ML])([0-9.]+) [0-9.]+)re");
  for (std::sregex_iterator it(d.begin(), d.end(), cmd), end; it != end; ++it) {
    if ((*it)[1] == "M") c.segments.emplace_back();
    c.segments.back().push_back(std::stod((*it)[2]));
  }
  return c;
}

size_t DataRows(const std::string& csv) {
  return size_t(std::count(csv.begin(), csv.end(), '\n')) - 1;
}

// Replays `path` (local side 10.0.0.0/24) into `rec`.
void ReplayRecorded(const std::string& path, SeriesRecorder* rec, ReplayResult* r) {
  ReplayOptions o;
  o.files = {path};
  o.local = "10.0.0.0/24";
  o.observers.bins = rec;
  o.observers.events = rec;
  ASSERT_EQ(RunReplay(o, r), ReplayStatus::kOk) << r->error;
}

class ReportGapTest : public tw::testing::TempDirTest {};

TEST_F(ReportGapTest, TimeJumpsAreGapsAndCostRowsPerPacket) {
  // 20 s of a download on 2020-01-01, then the clock steps 3 years ahead (5 s of download), back
  // by an hour (3 s, older than the open bin) and on again (3 s). The old dense series held and
  // wrote a row for every 1 s bin of the 3 years (~95 million, 2.2 GB per series).
  const fs::path dir = dir_;
  const std::string path = (dir / "jump.pcap").string();
  constexpr double kStart = 1'577'836'800;  // 2020-01-01 00:00:00 UTC
  constexpr double kJump = kStart + 3 * 365 * 86400.0 + 100;
  {
    testing::SyntheticCapture cap(path, /*sorted=*/false);
    uint32_t seq = 1;
    cap.Download(kStart, kStart + 20, 2001, 125000, &seq);
    cap.Download(kJump, kJump + 5, 2001, 125000, &seq);
    cap.Download(kJump - 3600, kJump - 3597, 2001, 125000, &seq);  // the clock steps back
    cap.Download(kJump + 10, kJump + 13, 2001, 125000, &seq);
  }
  SeriesRecorder rec;
  ReplayResult r;
  ASSERT_NO_FATAL_FAILURE(ReplayRecorded(path, &rec, &r));
  ASSERT_GT(r.packets, 1000u);
  EXPECT_GT(r.last_ns - r.first_ns, int64_t(3 * 365 * 86400.0 * 1e9));

  // Rows follow the packets: at most two points (a bin with packets, the drop to zero after it)
  // per series for each of the 20 + 5 + 3 + 3 seconds with packets (+1 for a bin boundary each).
  std::ostringstream csv;
  ASSERT_TRUE(WriteSeriesCsv(rec, PlainAddresses(), csv));
  const size_t series = 1 + rec.series().size();
  EXPECT_LE(DataRows(csv.str()), 2 * series * 2 * (21 + 6 + 4 + 4)) << csv.str().substr(0, 2000);
  EXPECT_LE(rec.link().points.size(), 2u * (21 + 6 + 4 + 4));
  EXPECT_EQ(csv.str().find(",2021-"), std::string::npos);  // nothing in the gap
  EXPECT_EQ(csv.str().find(",2022-06"), std::string::npos);

  ReportData data;
  data.series = &rec;
  data.events = r.events;
  data.overview.first_ns = r.first_ns;
  data.overview.last_ns = r.last_ns;
  std::ostringstream out;
  ASSERT_TRUE(WriteReport(data, out));
  const std::string html = out.str();
  EXPECT_LT(html.size(), 200u << 10);
  // The overview says so, with the gap's times.
  EXPECT_TRUE(std::regex_search(
      html, std::regex("<dt>Capture gaps</dt><dd>1 .*2020-01-01 01:00:2[01] \\+00:00 to "
                       "2022-12-31 00:01:40 \\+00:00")))
      << html.substr(html.find("<dt>Time span"), 600);
  // The chart: a gap band, no line across it, and the axis labelled with years and months.
  const LinkChart c = ParseLinkChart(html, "down");
  ASSERT_EQ(c.gaps.size(), 1u);
  const auto [gx0, gx1] = c.gaps[0];
  EXPECT_GT(gx1 - gx0, 800);  // nearly all of the 884-pixel plot
  ASSERT_FALSE(c.segments.empty());
  for (const std::vector<double>& seg : c.segments) {
    for (size_t i = 1; i < seg.size(); ++i) {
      EXPECT_FALSE(seg[i - 1] < gx0 + 1 && seg[i] > gx1 - 1)
          << "a line across the gap: " << seg[i - 1] << " -> " << seg[i];
    }
  }
  EXPECT_GE(c.segments.size(), 2u);  // before and after
  ASSERT_GE(c.ticks.size(), 3u);
  for (const std::string& t : c.ticks) {
    EXPECT_TRUE(std::regex_match(t, std::regex("20(20|21|22)-(01|07)"))) << t;
  }
  EXPECT_EQ(c.ticks.front(), "2020-01");  // the first bin starts on 2020-01-01 00:00:00
}

TEST_F(ReportGapTest, SilenceIsDrawnAsZeroNotAsAGap) {
  // 10 s of download, 30 s without a packet, 10 s more: the silence is zero on the chart (one
  // line down to zero and back) and one zero row in the CSV, not a gap.
  const fs::path dir = dir_;
  const std::string path = (dir / "silence.pcap").string();
  {
    testing::SyntheticCapture cap(path);
    uint32_t seq = 1;
    cap.Download(kT0, kT0 + 10, 2001, 125000, &seq);
    cap.Download(kT0 + 40, kT0 + 50, 2001, 125000, &seq);
  }
  SeriesRecorder rec;
  ReplayResult r;
  ASSERT_NO_FATAL_FAILURE(ReplayRecorded(path, &rec, &r));
  EXPECT_EQ(rec.link().runs.size(), 2u);
  EXPECT_EQ(rec.link().points.size(), 10u + 1 + 10);
  std::ostringstream csv;
  ASSERT_TRUE(WriteSeriesCsv(rec, PlainAddresses(), csv));
  EXPECT_EQ(DataRows(csv.str()), 2u * 21);
  EXPECT_NE(csv.str().find("link,link,down,1700000010.000,2023-11-14T22:13:30.000Z,1,0,0,"),
            std::string::npos);
  ReportData data;
  data.series = &rec;
  data.overview.first_ns = r.first_ns;
  data.overview.last_ns = r.last_ns;
  std::ostringstream out;
  ASSERT_TRUE(WriteReport(data, out));
  EXPECT_EQ(out.str().find("Capture gaps"), std::string::npos);
  const LinkChart c = ParseLinkChart(out.str(), "down");
  EXPECT_TRUE(c.gaps.empty());
  ASSERT_EQ(c.segments.size(), 1u);      // one unbroken line
  EXPECT_EQ(c.segments[0].size(), 50u);  // a point per second, the silent ones at zero
}

TEST(HumanUnitsTest, RatesAndBytes) {
  EXPECT_EQ(HumanRate(850), "850 bit/s");
  EXPECT_EQ(HumanRate(251'000), "251 kbit/s");
  EXPECT_EQ(HumanRate(1'048'000), "1.05 Mbit/s");
  EXPECT_EQ(HumanRate(24'000'000), "24.0 Mbit/s");
  EXPECT_EQ(HumanRate(2'400'000'000), "2.40 Gbit/s");
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(17'300'000), "17.3 MB");
}

}  // namespace
}  // namespace tw::detector
