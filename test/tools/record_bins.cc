// Records the per-flow bins of a capture as CSV, the input of the classifier's regression tests
// (test/scenarios/recorded_bins_test.cc): real TCP dynamics from the lab, frozen, so the
// classifier can be tested without replaying captures.
//
//   record_bins CAPTURE LOCAL_CIDRS > bins.csv
//
// One row per flow direction that carried data in a bin (flows and bins with no data are
// implied by their absence).
#include <cstdio>
#include <string>

#include "capture/binner.h"
#include "capture/pcap_file_source.h"

namespace {

using namespace tw::capture;

class CsvSink : public BinSink {
 public:
  void OnBin(int64_t start_ns, int64_t, std::span<const FlowBin> flows, const LinkBin&) override {
    if (t0_ == 0) t0_ = start_ns;
    const long long bin = (start_ns - t0_) / 1'000'000'000;
    for (const FlowBin& f : flows) {
      for (Direction d : {kUp, kDown}) {
        const DirectionBin& b = f.dir[d];
        if (b.payload_bytes == 0 && !b.zero_window) continue;
        std::printf("%lld,%llu,%u,%s,%u,%s,%llu,%llu,%llu,%.6f,%u,%d\n", bin,
                    static_cast<unsigned long long>(f.info.id), f.info.proto(),
                    f.info.remote().ToString().c_str(), f.info.remote_port(),
                    d == kUp ? "up" : "down", static_cast<unsigned long long>(b.payload_bytes),
                    static_cast<unsigned long long>(b.wire_bytes),
                    static_cast<unsigned long long>(b.retrans_bytes), double(f.rtt.min_s),
                    f.rtt.samples, b.zero_window ? 1 : 0);
      }
    }
  }
  void OnFlowEnd(const FlowInfo&, const FlowTotals&) override {}

 private:
  int64_t t0_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: record_bins CAPTURE LOCAL_CIDRS > bins.csv\n");
    return 2;
  }
  std::string err;
  LocalNetworks local;
  if (!LocalNetworks::Parse(argv[2], &local, &err)) {
    std::fprintf(stderr, "record_bins: %s\n", err.c_str());
    return 2;
  }
  auto src = PcapFileSource::Open({argv[1]}, "", &err);
  if (!src) {
    std::fprintf(stderr, "record_bins: %s\n", err.c_str());
    return 1;
  }
  std::printf(
      "bin,flow,proto,remote,remote_port,dir,payload,wire,retrans,rtt_min_s,rtt_samples,"
      "zero_window\n");
  CsvSink sink;
  Binner binner({}, local, &sink);
  Packet p;
  DecodedPacket d;
  while (src->Next(&p) == SourceStatus::kPacket) {
    if (Decode(p.link_type, p.data, p.caplen, &d) == DecodeStatus::kOk) {
      binner.OnPacket(p.ts_ns, p.wire_len, d);
    }
  }
  binner.Finish();
  return 0;
}
