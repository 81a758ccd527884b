// What a bin close costs the throttle detector: ThrottleDetector::OnBin over n flows with data
// in both directions (four flows per remote host, so host series are summed and observed too),
// in steady state, with no drop. The flows of a bin come in an order unrelated to the order
// they were created in (a Binner hands them over in order of its hash table), so their series
// are scattered in memory as in a replay. Items are flows, so the time per item is the cost
// per flow and bin.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "capture/ip_proto.h"
#include "detector/core/throttle_detector.h"

namespace tw::detector {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr int kWarmBins = 20;  // past the detectors' warm-up before anything is timed

class NullSink final : public EventSink {
 public:
  void OnEvent(const Event&) override {}
};

capture::FlowInfo Flow(uint64_t id) {
  capture::FlowInfo f;
  f.id = id;
  f.key.proto = capture::kIpProtoTcp;
  const uint32_t host = uint32_t(id / 4);
  const uint8_t local[4] = {10, 0, 0, 2};
  const uint8_t remote[4] = {198, uint8_t(host >> 16), uint8_t(host >> 8), uint8_t(host)};
  f.key.a = capture::Address::FromV4(local);
  f.key.b = capture::Address::FromV4(remote);
  f.key.port_a = uint16_t(1024 + id % 60000);
  f.key.port_b = 443;
  f.local_is_a = true;
  f.local_initiated = true;
  f.first_ns = kT0;
  return f;
}

void BM_ThrottleDetectorBin(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<capture::FlowBin> bins(n);
  for (size_t i = 0; i < n; ++i) bins[i].info = Flow(i + 1);
  std::shuffle(bins.begin(), bins.end(), std::mt19937(1));
  std::mt19937 rng(2);
  std::normal_distribution<double> noise(0, 0.3);
  const auto fill = [&](int64_t bin) {
    for (capture::FlowBin& b : bins) {
      for (capture::DirectionBin& d : b.dir) {
        d.payload_bytes = uint64_t(1e5 * std::exp(noise(rng)));
        d.wire_bytes = d.payload_bytes + d.payload_bytes / 20;
        d.data_packets = uint32_t(d.payload_bytes / 1400 + 1);
        d.packets = 2 * d.data_packets;
      }
      b.last_ns = kT0 + (bin + 1) * kSec - 1;
      b.rtt = {1, 0.02f, 0.02f, 0.02f};
    }
  };
  NullSink sink;
  uint64_t next_event_id = 1;
  ThrottleDetector detector(ThrottleParams{}, &sink, &next_event_id);
  int64_t bin = 0;
  for (; bin < kWarmBins; ++bin) {
    fill(bin);
    detector.OnBin(kT0 + bin * kSec, kSec, bins, false);
  }
  for (auto _ : state) {
    state.PauseTiming();
    fill(bin);
    state.ResumeTiming();
    detector.OnBin(kT0 + bin * kSec, kSec, bins, false);
    ++bin;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_ThrottleDetectorBin)->Unit(benchmark::kMicrosecond)->Arg(2'000)->Arg(200'000);

}  // namespace
}  // namespace tw::detector
