#ifndef THROTTLEWATCH_CAPTURE_RTT_TRACKER_H_
#define THROTTLEWATCH_CAPTURE_RTT_TRACKER_H_

#include <cstdint>

namespace tw::capture {

// Passive round-trip times of one TCP connection as seen from the capture point, towards the
// remote side: the time from a packet leaving the local side to the remote's answer to it
// passing the capture point again. This is the part of the path where an ISP's shaper queues,
// whichever way the data flows.
//
// One sample in flight at a time (O(1) state, 24 bytes), from one of two sources:
//  - TCP timestamps (RFC 7323, as pping does it): the first local packet carrying a new TSval,
//    then the first remote packet whose TSecr echoes exactly that value; an echo of a later
//    value means the remote never answered ours directly, and voids the sample. Works at either
//    vantage. Samples include any time the remote sender waited before answering (an
//    application pacing its sends), so consumers should take the minimum over an interval.
//  - Without timestamps, data -> ACK for data the local side sends: a local segment ending at
//    sequence E, then the first remote ACK >= E. A retransmission in between voids the sample
//    (Karn's rule).
class RttTracker {
 public:
  // A packet sent by the local side. `end_seq` is seq + payload length; `retransmission`
  // says whether it repeated sequence space.
  void OnLocal(int64_t ts_ns, bool has_ts, uint32_t ts_val, uint32_t end_seq, uint32_t payload,
               bool retransmission);
  // A packet from the remote side. Returns an RTT sample in nanoseconds (0 < sample <= 60 s),
  // or 0 when it answers nothing pending, or time went backwards or jumped ahead.
  int64_t OnRemote(int64_t ts_ns, bool has_ts, uint32_t ts_ecr, uint32_t ack, bool ack_flag);

 private:
  int64_t sent_ns_ = 0;   // when the awaited packet left
  uint32_t key_ = 0;      // TSval, or end sequence awaited by an ACK
  uint32_t last_ts_ = 0;  // newest TSval seen from the local side
  bool pending_ = false;
  bool ts_seen_ = false;  // the connection uses timestamps: ignore data -> ACK
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_RTT_TRACKER_H_
