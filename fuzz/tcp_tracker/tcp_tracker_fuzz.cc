// The TCP trackers (sequence space and passive RTT) fed with a stream of decoded TCP fields:
// sequence numbers and timestamps that wrap, jump, repeat and go backwards, as a crafted
// connection may send them. Each record is 18 bytes (see below).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "capture/rtt_tracker.h"
#include "capture/tcp_tracker.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tw::capture;
  tw::fuzz::FuzzInput in(data, size);
  TcpSequenceTracker seq[2];
  RttTracker rtt;
  int64_t t = 1'700'000'000'000'000'000;
  int64_t first_t = t;
  while (in.left() > 0) {
    const uint8_t op = in.U8();    // bit 0: direction, bit 1: SYN, bit 2: ACK, bit 3: TS
    const uint8_t step = in.U8();  // time step, see below
    const uint32_t s = in.U32();   // sequence number
    const uint32_t len = (op & 0x10) ? in.U32() : in.U16();  // payload (absurd when bit 4)
    const uint32_t ts_or_ack = in.U32();
    const uint32_t ecr = in.U32();
    // Time: mostly forward by up to 255 ms, sometimes backwards or years ahead.
    switch (step >> 6) {
      case 0:
        t += int64_t(step & 0x3f) * 1'000'000;
        break;
      case 1:
        t -= int64_t(step & 0x3f) * 1'000'000;
        break;
      case 2:
        t += int64_t(step & 0x3f) * 86'400'000'000'000 * 365;
        break;
      default:
        break;  // zero-length time
    }
    // Capture timestamps are bounded (pcap: 32-bit seconds; pcapng: checked by the reader).
    t = std::clamp<int64_t>(t, 0, int64_t(1) << 62);
    const int d = op & 1;
    if (op & 2) {
      seq[d].OnSyn(s);
      continue;
    }
    const uint32_t re = seq[d].OnSegment(s, len);
    TW_FUZZ_CHECK(re <= len);
    TW_FUZZ_CHECK(len > 0 || re == 0);
    if (d == 0) {
      rtt.OnLocal(t, (op & 8) != 0, ts_or_ack, s + len, len, re > 0);
    } else {
      const int64_t sample = rtt.OnRemote(t, (op & 8) != 0, ecr, ts_or_ack, (op & 4) != 0);
      TW_FUZZ_CHECK(sample >= 0);
      // A sample never spans more than the tracker's staleness limit plus what time did.
      TW_FUZZ_CHECK(sample <= t - first_t || sample <= 60'000'000'000);
    }
  }
  return 0;
}
