#include "detector/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <sstream>

#include "detector/replay.h"
#include "test/support/synthetic_capture.h"

namespace tw::detector {
namespace {

namespace fs = std::filesystem;
constexpr double kT0 = 1'700'000'000;

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tw_report_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    // Three downloads of 1 Mbit/s for 60 s; port 2002 is squeezed to 200 kbit/s at 30 s by a
    // shaper whose queue adds 300 ms to its round trip.
    const std::string path = (dir_ / "three.pcap").string();
    {
      testing::SyntheticCapture cap(path);
      uint32_t seq[3] = {1, 1, 1};
      cap.Download(kT0, kT0 + 60, 2001, 125000, &seq[0]);
      cap.Download(kT0 + 0.01, kT0 + 30, 2002, 125000, &seq[1]);
      cap.Download(kT0 + 30, kT0 + 60, 2002, 25000, &seq[1], /*rtt_s=*/0.32);
      cap.Download(kT0 + 0.02, kT0 + 60, 2003, 125000, &seq[2]);
    }
    ReplayOptions o;
    o.files = {path};
    o.local = "10.0.0.0/24";
    o.recorder = &rec_;
    ASSERT_EQ(RunReplay(o, &result_), 0) << result_.error;
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
  void TearDown() override { fs::remove_all(dir_); }

  std::string Render() {
    std::ostringstream out;
    EXPECT_TRUE(WriteReport(data_, out));
    return out.str();
  }

  fs::path dir_;
  SeriesRecorder rec_;
  ReplayResult result_;
  ReportData data_;
};

TEST_F(ReportTest, IsSelfContained) {
  const std::string html = Render();
  ASSERT_GT(html.size(), 1000u);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  // The only "http" is the CSP's http-equiv; nothing could be fetched.
  EXPECT_EQ(Count(html, "http"), Count(html, "http-equiv"));
  EXPECT_EQ(Count(html, "http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'"),
            1u);
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
  EXPECT_TRUE(std::regex_search(html, std::regex(R"re(<path class="flow" d="M[0-9.]+ [0-9.]+L)re")));
  EXPECT_TRUE(std::regex_search(html, std::regex(R"re(<path class="ref" d="M[0-9.]+ [0-9.]+L)re")));
  EXPECT_NE(html.find("<rect class=\"throttle\""), std::string::npos);
  EXPECT_NE(html.find("concurrent: tcp 10.0.0.2:2001"), std::string::npos);
}

TEST_F(ReportTest, EveryAddressGoesThroughTheFormatter) {
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
  EXPECT_EQ(line, "series,scope,direction,start_epoch_s,time_utc,width_s,rate_bps,retrans_bps,"
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
    bins[size_t(i)].info.key.proto = 6;
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
