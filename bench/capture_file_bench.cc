// CaptureFileReader throughput: parsing records of an in-memory pcap and pcapng (the file
// reader of replay without the disk). Items are packets; bytes are file bytes.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "capture/capture_file.h"

namespace tw::capture {
namespace {

// 1 M records of 128 captured bytes (a 1514-byte packet captured with snaplen 128).
std::vector<uint8_t> Pcap(size_t n) {
  std::vector<uint8_t> f = {0xd4, 0xc3, 0xb2, 0xa1, 2,   0, 4, 0, 0, 0, 0, 0,
                            0,    0,    0,    0,    128, 0, 0, 0, 1, 0, 0, 0};
  f.reserve(24 + n * 144);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t h[4] = {uint32_t(1'700'000'000 + i / 10'000), uint32_t(i % 10'000) * 100, 128,
                           1514};
    const auto* b = reinterpret_cast<const uint8_t*>(h);
    f.insert(f.end(), b, b + 16);
    f.resize(f.size() + 128, uint8_t(i));
  }
  return f;
}

std::vector<uint8_t> Pcapng(size_t n) {
  std::vector<uint8_t> f;
  auto put = [&](std::initializer_list<uint32_t> words) {
    for (uint32_t w : words) {
      const auto* b = reinterpret_cast<const uint8_t*>(&w);
      f.insert(f.end(), b, b + 4);
    }
  };
  put({0x0a0d0d0a, 28, 0x1a2b3c4d, 1, 0xffffffff, 0xffffffff, 28});
  put({1, 20, 1, 128, 20});
  for (size_t i = 0; i < n; ++i) {
    const uint64_t ts = 1'700'000'000'000'000ULL + i * 100;
    put({6, 32 + 128, 0, uint32_t(ts >> 32), uint32_t(ts), 128, 1514});
    f.resize(f.size() + 128, uint8_t(i));
    put({32 + 128});
  }
  return f;
}

void Read(benchmark::State& state, const std::vector<uint8_t>& file) {
  uint64_t packets = 0;
  for (auto _ : state) {
    CaptureFileReader r;
    std::string err;
    if (!r.Open(file.data(), file.size(), "bench", &err)) state.SkipWithError(err.c_str());
    Packet p;
    uint64_t sum = 0;
    while (r.Next(&p) == ReadStatus::kPacket) sum += p.caplen;
    benchmark::DoNotOptimize(sum);
    packets += r.stats().packets;
  }
  state.SetItemsProcessed(int64_t(packets));
  state.SetBytesProcessed(state.iterations() * int64_t(file.size()));
}

void BM_ReadPcap(benchmark::State& state) {
  static const std::vector<uint8_t> file = Pcap(1'000'000);
  Read(state, file);
}
BENCHMARK(BM_ReadPcap)->Unit(benchmark::kMillisecond);

void BM_ReadPcapng(benchmark::State& state) {
  static const std::vector<uint8_t> file = Pcapng(1'000'000);
  Read(state, file);
}
BENCHMARK(BM_ReadPcapng)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tw::capture

BENCHMARK_MAIN();
