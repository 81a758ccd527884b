// Crypto-PAn anonymization cost per address (one AES block per address bit), as paid for each
// address written into events, reports and metrics with --anonymize. Items are addresses.

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>

#include "capture/anonymizer.h"

namespace tw::capture {
namespace {

const std::array<uint8_t, 32> kKey = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                      23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

void BM_AnonymizeIpv4(benchmark::State& state) {
  const Anonymizer anon(kKey);
  Address a = *Address::Parse("192.0.2.1");
  for (auto _ : state) {
    a = anon.Anonymize(a);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AnonymizeIpv4);

void BM_AnonymizeIpv6(benchmark::State& state) {
  const Anonymizer anon(kKey);
  Address a = *Address::Parse("2001:db8::1");
  for (auto _ : state) {
    a = anon.Anonymize(a);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AnonymizeIpv6);

}  // namespace
}  // namespace tw::capture
