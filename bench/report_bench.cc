// What the daemon's rolling report costs the capture thread: rendering a day of 1 s bins (the
// default --report-window) with 50 concurrent flows and 40 throttle episodes, as done every
// --report-every. Items are rendered pages; the page size is reported as a counter.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "capture/ip_proto.h"
#include "detector/outputs/rolling_report.h"

namespace tw::detector {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr int kBins = 86'400;
constexpr int kFlows = 50;

capture::FlowInfo Flow(uint64_t id) {
  capture::FlowInfo f;
  f.id = id;
  f.key.proto = capture::kIpProtoTcp;
  const uint8_t local[4] = {10, 0, 0, 2}, remote[4] = {192, 0, 2, uint8_t(id % 200)};
  f.key.a = capture::Address::FromV4(local);
  f.key.b = capture::Address::FromV4(remote);
  f.key.port_a = uint16_t(40000 + id);
  f.key.port_b = 443;
  f.local_is_a = true;
  f.local_initiated = true;
  return f;
}

void BM_RollingReportDay(benchmark::State& state) {
  RollingReport report(86400, ReportData{});
  std::vector<capture::FlowBin> bins(kFlows);
  for (int i = 0; i < kFlows; ++i) bins[size_t(i)].info = Flow(uint64_t(i + 1));
  uint64_t id = 0;
  for (int b = 0; b < kBins; ++b) {
    capture::LinkBin link;
    for (int i = 0; i < kFlows; ++i) {
      capture::FlowBin& fb = bins[size_t(i)];
      const bool squeezed = i == 0 && (b / 1000) % 2 == 1;
      fb.dir[capture::kDown].wire_bytes = squeezed ? 30'000 : 125'000 + 1000 * (b % 7);
      fb.dir[capture::kDown].payload_bytes = fb.dir[capture::kDown].wire_bytes * 95 / 100;
      fb.dir[capture::kDown].packets = uint32_t(fb.dir[capture::kDown].wire_bytes / 1500);
      fb.dir[capture::kUp].wire_bytes = 4'000;
      link.dir[capture::kDown].wire_bytes += fb.dir[capture::kDown].wire_bytes;
      link.dir[capture::kDown].packets += fb.dir[capture::kDown].packets;
      link.dir[capture::kUp].wire_bytes += 4'000;
    }
    report.OnBin(kT0 + b * kSec, kSec, bins, link);
    if (b % 1000 == 0 && b > 0) {  // a squeeze of flow 1 starts or ends
      Event e;
      e.kind = EventKind::kThrottle;
      e.state = (b / 1000) % 2 == 1 ? EventState::kStart : EventState::kEnd;
      if (e.state == EventState::kStart) ++id;
      e.id = id;
      e.ts = double(kT0 / kSec + b);
      e.scope = EventScope::kFlow;
      e.has_flow = true;
      e.flow = bins[0].info;
      e.rate_before_bps = 1e6;
      e.rate_after_bps = 240e3;
      report.OnEvent(e);
    }
  }
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string html = report.Render(kT0 + int64_t(kBins) * kSec, kFlows);
    bytes = html.size();
    benchmark::DoNotOptimize(html.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["page_bytes"] = double(bytes);
}
BENCHMARK(BM_RollingReportDay)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tw::detector
