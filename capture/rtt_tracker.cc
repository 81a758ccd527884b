#include "capture/rtt_tracker.h"

namespace tw::capture {

namespace {
// Serial-number comparison (RFC 1982) for sequence numbers and timestamps.
bool AtOrAfter(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }
constexpr int64_t kMaxRttNs = 60'000'000'000;  // older pending samples are stale
}  // namespace

void RttTracker::OnLocal(int64_t ts_ns, bool has_ts, uint32_t ts_val, uint32_t end_seq,
                         uint32_t payload, bool retransmission) {
  if (has_ts) ts_seen_ = true;
  if (pending_ && ts_ns - sent_ns_ > kMaxRttNs) pending_ = false;
  if (ts_seen_) {
    // A new TSval starts a sample; a repeated one (same clock tick) keeps the first time.
    if (has_ts && (!pending_ || !by_ts_) && ts_val != key_) {
      pending_ = true;
      sent_ns_ = ts_ns;
      key_ = ts_val;
      by_ts_ = true;
    }
    return;
  }
  if (payload == 0) return;
  if (retransmission) {
    if (!by_ts_) pending_ = false;  // Karn: an ACK may now answer either copy
    return;
  }
  if (!pending_) {
    pending_ = true;
    sent_ns_ = ts_ns;
    key_ = end_seq;
    by_ts_ = false;
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
  const bool answered = by_ts_ ? (has_ts && ts_ecr != 0 && AtOrAfter(ts_ecr, key_))
                               : (ack_flag && AtOrAfter(ack, key_));
  if (!answered) return 0;
  const int64_t rtt = ts_ns - sent_ns_;
  pending_ = false;
  return rtt > 0 ? rtt : 0;
}

}  // namespace tw::capture
