#ifndef THROTTLEWATCH_CAPTURE_TCP_TRACKER_H_
#define THROTTLEWATCH_CAPTURE_TCP_TRACKER_H_

#include <cstdint>

namespace tw::capture {

// Sequence-space bookkeeping for one direction of a TCP connection: how many payload bytes of
// a segment repeat sequence space already sent (retransmissions, as seen at the capture point).
// Serial-number arithmetic (RFC 1982) handles wrap-around; a jump of more than 1 GiB forward
// re-synchronises instead of being trusted. 8 bytes, no allocation.
class TcpSequenceTracker {
 public:
  // A SYN or SYN-ACK with initial sequence number `isn`.
  void OnSyn(uint32_t isn);
  // A segment with `len` payload bytes starting at `seq`. Returns the bytes of it that were
  // already covered (0..len).
  uint32_t OnSegment(uint32_t seq, uint32_t len);
  // One past the highest sequence number seen; meaningful when valid().
  uint32_t high() const { return high_; }
  bool valid() const { return valid_; }

 private:
  uint32_t high_ = 0;  // one past the highest sequence number seen
  bool valid_ = false;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_TCP_TRACKER_H_
