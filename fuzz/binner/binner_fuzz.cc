// The Binner and the detectors behind it, fed with arbitrary decoded packets: a handful of
// local and remote hosts, any ports, flags, sequence numbers, timestamps, lengths, and packet
// times that step forward, stall, go backwards or jump years. Every event must have sane
// numbers (test/support/event_checks.h): no NaN, infinity, negative rate or time.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "capture/binner.h"
#include "capture/ip_proto.h"
#include "capture/server_names.h"
#include "detector/core/engine.h"
#include "detector/outputs/event_json.h"
#include "fuzz/fuzz_input.h"
#include "test/support/event_checks.h"

namespace {

using namespace tw::capture;

class CheckingSink final : public tw::detector::EventSink {
 public:
  double min_ts = 0, max_ts = 0;
  void OnEvent(const tw::detector::Event& e) override {
    const std::string p = tw::testing::EventProblems(e, min_ts, max_ts);
    if (!p.empty()) {
      std::fprintf(stderr, "%s\n%s\n", p.c_str(), tw::detector::EventToJson(e).c_str());
      tw::fuzz::Fail("event numbers");
    }
  }
};

Address Host(bool local, uint8_t i, bool v6) {
  uint8_t b[16] = {};
  if (v6) {
    b[0] = local ? 0xfd : 0x20;
    b[1] = local ? 0x00 : 0x01;
    b[15] = uint8_t(i + 1);
    return Address::FromV6(b);
  }
  b[0] = local ? 10 : 192;
  b[1] = local ? 0 : 0;
  b[2] = local ? 0 : 2;
  b[3] = uint8_t(i + 1);
  return Address::FromV4(b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tw::fuzz::FuzzInput in(data, size);
  static const int64_t kBins[] = {100'000'000, 1'000'000'000, 60'000'000'000};
  BinnerParams bp;
  bp.bin_ns = kBins[in.U8() % 3];
  bp.max_flows = 16;
  bp.max_empty_bins = 50;
  bp.idle_timeout_ns = 5'000'000'000;
  LocalNetworks local({*Cidr::Parse("10.0.0.0/8"), *Cidr::Parse("fd00::/8")});
  CheckingSink sink;
  ServerNames names(16);
  tw::detector::Engine engine({}, &sink, &names);
  Binner binner(bp, local, &engine);

  int64_t t = 1'700'000'000'000'000'000;
  sink.min_ts = double(t) * 1e-9;
  sink.max_ts = sink.min_ts;
  int64_t max_t = t;
  // Each packet is 24 bytes: op, hosts, time step, flags, seq, ack, TSval, TSecr, ports, len.
  while (in.left() > 0) {
    const uint8_t op = in.U8();     // bit 0 up, 1-2 proto, 3 v6, 4 TS option, 5 long payload
    const uint8_t hosts = in.U8();  // low nibble local host, high nibble remote host
    const uint8_t step = in.U8();
    DecodedPacket p;
    const bool up = op & 1;
    const bool v6 = op & 8;
    p.ip_version = v6 ? 6 : 4;
    static const uint8_t kProtos[] = {6, 6, 17, 1};
    p.ip_proto = kProtos[(op >> 1) & 3];
    const Address l = Host(true, hosts & 0x3, v6), r = Host(false, (hosts >> 4) & 0x7, v6);
    p.src = up ? l : r;
    p.dst = up ? r : l;
    p.tcp_flags = p.ip_proto == tw::capture::kIpProtoTcp ? in.U8() : 0;
    p.tcp_seq = in.U32();
    p.tcp_ack = in.U32();
    p.tcp_has_ts = p.ip_proto == tw::capture::kIpProtoTcp && (op & 0x10);
    p.tcp_ts_val = in.U32();
    p.tcp_ts_ecr = in.U32();
    p.tcp_window = in.U16();
    p.tcp_wscale = p.tcp_flags & kTcpSyn ? uint8_t(std::min(in.U8() & 0x0f, 14)) : 0xff;
    const uint16_t lp = uint16_t(40000 + (hosts & 0x0c)), rp = 443;
    p.src_port = up ? lp : rp;
    p.dst_port = up ? rp : lp;
    p.payload_len = (op & 0x20) ? in.U32() : in.U16() % 1449;
    const uint32_t wire = (op & 0x40) ? in.U32() : p.payload_len + 54;
    switch (step >> 6) {
      case 0:
        t += int64_t(step & 0x3f) * 5'000'000;
        break;  // up to 315 ms on
      case 1:
        t -= int64_t(step & 0x3f) * 50'000'000;
        break;  // backwards
      case 2:
        t += int64_t(step & 0x3f) * 31'536'000'000'000'000 / 8;
        break;  // years on
      default:
        break;  // same time
    }
    t = std::clamp<int64_t>(t, 0, int64_t(1) << 62);
    max_t = std::max(max_t, t);
    sink.min_ts = std::min(sink.min_ts, double(t) * 1e-9);
    sink.max_ts = double(max_t) * 1e-9;
    const BinnedPacket b = binner.OnPacket(t, wire, p);
    TW_FUZZ_CHECK(binner.active_flows() <= bp.max_flows);
    TW_FUZZ_CHECK(b.retrans_bytes <= p.payload_len);
  }
  binner.Finish();
  TW_FUZZ_CHECK(binner.active_flows() == 0);
  return 0;
}
