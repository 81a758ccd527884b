#include "capture/rtt_tracker.h"

namespace tw::capture {

namespace {
// Serial-number comparison (RFC 1982) for sequence numbers and timestamps.
bool AtOrAfter(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }
constexpr int64_t kMaxRttNs = 60'000'000'000;  // older pending samples are stale
}  // namespace

void RttTracker::OnLocal(int64_t ts_ns, bool has_ts, uint32_t ts_val, uint32_t end_seq,
                         uint32_t payload, bool retransmission) {
  if (pending_ && ts_ns - sent_ns_ > kMaxRttNs) pending_ = false;
  if (has_ts && !ts_seen_) {
    ts_seen_ = true;
    pending_ = false;  // forget a data -> ACK sample
  }
  if (ts_seen_) {
    // Only the first packet with a new TSval starts a sample: later ones of the same clock
    // tick would measure less than a round trip.
    if (has_ts && !pending_ && ts_val != last_ts_) {
      pending_ = true;
      sent_ns_ = ts_ns;
      key_ = ts_val;
    }
    if (has_ts) last_ts_ = ts_val;
    return;
  }
  if (payload == 0) return;
  if (retransmission) {
    pending_ = false;  // Karn: an ACK may now answer either copy
    return;
  }
  if (!pending_) {
    pending_ = true;
    sent_ns_ = ts_ns;
    key_ = end_seq;
  }
}

int64_t RttTracker::OnRemote(int64_t ts_ns, bool has_ts, uint32_t ts_ecr, uint32_t ack,
                             bool ack_flag) {
  if (!pending_) return 0;
  if (ts_ns - sent_ns_ > kMaxRttNs) {
    // The local side fell silent and the remote answers much later (or the clock jumped):
    // not a round trip. Without this, one crafted echo after an hour reads as a 1-hour RTT.
    pending_ = false;
    return 0;
  }
  if (ts_seen_) {
    if (!has_ts || ts_ecr == 0 || !AtOrAfter(ts_ecr, key_)) return 0;
    pending_ = false;
    if (ts_ecr != key_) return 0;  // a later TSval was echoed: ours was never answered itself
  } else {
    if (!ack_flag || !AtOrAfter(ack, key_)) return 0;
    pending_ = false;
  }
  const int64_t rtt = ts_ns - sent_ns_;
  return rtt > 0 ? rtt : 0;
}

}  // namespace tw::capture
