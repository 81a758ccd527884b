#include "capture/tcp_tracker.h"

namespace tw::capture {

namespace {
constexpr int32_t kMaxJump = 1 << 30;
int32_t SeqDiff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }
}  // namespace

void TcpSequenceTracker::OnSyn(uint32_t isn) {
  high_ = isn + 1;
  valid_ = true;
}

uint32_t TcpSequenceTracker::OnSegment(uint32_t seq, uint32_t len) {
  if (len == 0) return 0;
  const uint32_t end = seq + len;
  if (!valid_ || SeqDiff(end, high_) > kMaxJump || SeqDiff(high_, end) > kMaxJump) {
    // First segment seen (capture started mid-connection) or an implausible jump.
    high_ = end;
    valid_ = true;
    return 0;
  }
  if (SeqDiff(end, high_) <= 0) return len;  // entirely old
  const int32_t overlap = SeqDiff(high_, seq);
  high_ = end;
  return overlap > 0 ? uint32_t(overlap) : 0;
}

}  // namespace tw::capture
