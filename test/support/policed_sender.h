#ifndef THROTTLEWATCH_TEST_SUPPORT_POLICED_SENDER_H_
#define THROTTLEWATCH_TEST_SUPPORT_POLICED_SENDER_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <vector>

namespace tw::testing {

// A sender pushing segments through a token-bucket policer of known rate and bucket, in on/off
// periods (a chunked video download), resending each dropped segment one RTT later. Every
// transmission is listed in send order with its fate; deterministic.
struct PolicedTransmission {
  double t = 0;
  uint32_t seq = 0;
  uint32_t payload = 0;
  uint32_t wire = 0;
  bool dropped = false;
};

struct PolicedSenderSpec {
  double rate_Bps = 250'000;  // policer: 2 Mbit/s
  double bucket_bytes = 50'000;
  double offered_Bps = 400'000;  // what the sender pushes while on
  double on_s = 2, off_s = 1;
  int periods = 8;
  double rtt_s = 0.1;
  uint32_t mss = 1448, overhead = 66;  // wire = payload + Ethernet/IP/TCP headers
};

inline std::vector<PolicedTransmission> PolicedSender(const PolicedSenderSpec& s) {
  std::vector<PolicedTransmission> out;
  double tokens = s.bucket_bytes, last = 0;
  uint32_t next_seq = 1;
  struct Due {
    double t;
    uint32_t seq;
  };
  std::deque<Due> resend;
  const double gap = (s.mss + s.overhead) / s.offered_Bps;
  for (int k = 0; k < s.periods; ++k) {
    const double start = k * (s.on_s + s.off_s);
    for (double t = start; t < start + s.on_s; t += gap) {
      uint32_t seq = next_seq;
      if (!resend.empty() && resend.front().t <= t) {
        seq = resend.front().seq;
        resend.pop_front();
      } else {
        next_seq += s.mss;
      }
      tokens = std::min(s.bucket_bytes, tokens + s.rate_Bps * (t - last));
      last = t;
      PolicedTransmission x{t, seq, s.mss, s.mss + s.overhead, false};
      if (tokens >= x.wire) {
        tokens -= x.wire;
      } else {
        x.dropped = true;
        resend.push_back({t + s.rtt_s, seq});
      }
      out.push_back(x);
    }
  }
  return out;
}

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_POLICED_SENDER_H_
