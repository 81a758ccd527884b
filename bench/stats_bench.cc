// Benchmarks of the stats/ engines: DropDetector::Observe per bin and SegmentPelt per sample.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "stats/online_detector.h"
#include "stats/segmentation.h"

namespace tw::stats {
namespace {

// Log-normal noise (sigma 0.3) around a level that drops to a quarter every 1000 bins for 200.
std::vector<double> RateSeries(size_t n) {
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0, 0.3);
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = (i % 1000 < 800 ? 1e6 : 2.5e5) * std::exp(noise(rng));
  return x;
}

// Bins fed to every series before the batch benchmark times anything (warm-up is 5 bins).
constexpr size_t kWarmBins = 20;

void BM_DropDetectorObserve(benchmark::State& state) {
  const std::vector<double> x = RateSeries(1 << 16);
  DropDetector d;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.Observe(x[i]));
    i = (i + 1) & (x.size() - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DropDetectorObserve);

// One bin close over many series in steady state: every detector observes its next value.
// One DropDetector object per series (array of structures): a structure-of-arrays bank of
// Eigen arrays with a vectorized pass was measured slower (see the project history); items
// are series updates, so the reported time per item is the cost per series per bin.
void BM_DropDetectorBatch(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<double> x = RateSeries(1 << 12);
  std::vector<DropDetector> dets(n);
  size_t bin = 0;
  for (; bin < kWarmBins; ++bin) {  // past the warm-up: a bin close in steady state is timed
    for (size_t s = 0; s < n; ++s) dets[s].Observe(x[(bin + s) & (x.size() - 1)]);
  }
  for (auto _ : state) {
    for (size_t s = 0; s < n; ++s) {
      benchmark::DoNotOptimize(dets[s].Observe(x[(bin + s) & (x.size() - 1)]));
    }
    ++bin;
  }
  state.counters["bytes_per_series"] = double(sizeof(DropDetector));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_DropDetectorBatch)->Unit(benchmark::kMillisecond)->Arg(1'000'000);

// Gaussian noise around a mean that alternates 0 / 3 over `changes` equally spaced changes.
std::vector<double> StepSeries(size_t n, size_t changes) {
  std::mt19937 rng(2);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> x(n);
  const size_t len = n / (changes + 1);
  for (size_t i = 0; i < n; ++i) x[i] = ((i / len) % 2 == 0 ? 0.0 : 3.0) + noise(rng);
  return x;
}

// Args: n, number of changes.
void BM_SegmentPelt(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const auto changes = static_cast<size_t>(state.range(1));
  const std::vector<double> x = StepSeries(n, changes);
  size_t found = 0;
  for (auto _ : state) {
    const std::vector<size_t> cps = SegmentPelt(x);
    found = cps.size();
    benchmark::DoNotOptimize(found);
  }
  state.counters["changes_found"] = static_cast<double>(found);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_SegmentPelt)
    ->Unit(benchmark::kMillisecond)
    ->Args({10'000, 5})
    ->Args({10'000, 100})
    ->Args({100'000, 5})
    ->Args({100'000, 1'000});
BENCHMARK(BM_SegmentPelt)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->Args({1'000'000, 5})
    ->Args({1'000'000, 10'000});

}  // namespace
}  // namespace tw::stats
