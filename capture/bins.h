#ifndef THROTTLEWATCH_CAPTURE_BINS_H_
#define THROTTLEWATCH_CAPTURE_BINS_H_

#include <algorithm>
#include <cstdint>
#include <span>

#include "capture/address.h"
#include "capture/flow_key.h"
#include "capture/tunnel.h"

namespace tw::capture {

// Direction relative to the local networks: up = leaving the local side, down = arriving.
enum Direction : uint8_t { kUp = 0, kDown = 1 };

// What one direction of a flow (or of the whole link) carried during one bin.
struct DirectionBin {
  uint64_t wire_bytes = 0;     // packet lengths on the wire (link header included)
  uint64_t payload_bytes = 0;  // TCP/UDP payload claimed by the headers
  uint64_t retrans_bytes = 0;  // TCP payload bytes that repeat sequence space already seen
  uint32_t packets = 0;
  uint32_t data_packets = 0;  // packets with payload
  bool zero_window = false;   // the receiver of this direction advertised a zero window
  // TCP, flows only: the most bytes in flight (sent, not yet acknowledged, as seen here) and
  // the smallest receive window the receiver advertised, scaled (UINT32_MAX = unknown).
  uint32_t in_flight_max = 0;
  uint32_t rwnd_min = UINT32_MAX;
};
// What one direction of a TCP or UDP flow carried during a bin while its sender was
// transferring. A
// data packet whose gap since the sender's previous one was no pause (see kMinPauseNs) adds
// that gap to `us` and its payload to `bytes` (a gap that began in an earlier bin too: it is
// this packet's). bytes over us is the rate the path gave the flow while it had data to send,
// whatever the application's pauses (a player fetching a segment, then waiting).
struct BusyBin {
  uint32_t us = 0;
  uint32_t bytes = 0;
};
// A gap between two data packets of a sender is a pause (the application had nothing to
// send) when it is longer than this, than two smoothed RTTs (a sender with data and window
// sends at least once per round trip; a queue lengthens the round trip with it; UDP shows no
// RTT) and than four times the flow's typical gap (a flow held to a low rate sends slowly, not
// in pauses). A TCP gap that ends in a retransmission is never a pause: the sender was waiting
// for the network. 200 ms: above a delayed acknowledgement, the longest a receiver may hold
// back the ACK that lets the sender go on (Linux's 40-200 ms; QUIC's max_ack_delay defaults
// to 25 ms).
inline constexpr int64_t kMinPauseNs = 200'000'000;

// Adds `from` into `to` (e.g. a flow's bins into its totals, shards' shares into one bin):
// counts summed, zero_window or-ed, the larger in_flight_max, the smaller rwnd_min.
inline void Accumulate(DirectionBin* to, const DirectionBin& from) {
  to->wire_bytes += from.wire_bytes;
  to->payload_bytes += from.payload_bytes;
  to->retrans_bytes += from.retrans_bytes;
  to->packets += from.packets;
  to->data_packets += from.data_packets;
  to->zero_window = to->zero_window || from.zero_window;
  to->in_flight_max = std::max(to->in_flight_max, from.in_flight_max);
  to->rwnd_min = std::min(to->rwnd_min, from.rwnd_min);
}

// Passive RTT samples towards the remote side (see rtt_tracker.h) during one bin.
struct RttBin {
  uint32_t samples = 0;
  float sum_s = 0, min_s = 0, max_s = 0;
  double mean_s() const { return samples > 0 ? double(sum_s) / samples : 0; }
};

// The stable description of a flow, fixed when it is first seen.
struct FlowInfo {
  uint64_t id = 0;  // unique within a run, in order of first appearance
  FlowKey key;
  bool local_is_a = false;       // key.a is the local endpoint
  bool local_initiated = false;  // the local side sent the first packet (or the SYN)
  TunnelPath tunnels;            // the encapsulations of its first packet (see Decode())
  int64_t first_ns = 0;

  uint8_t proto() const { return key.proto; }
  const Address& local() const { return local_is_a ? key.a : key.b; }
  const Address& remote() const { return local_is_a ? key.b : key.a; }
  uint16_t local_port() const { return local_is_a ? key.port_a : key.port_b; }
  uint16_t remote_port() const { return local_is_a ? key.port_b : key.port_a; }
};

// What the local side of a flow asked of the remote and is still waiting for, as of the end of
// a bin (kept by the Binner; the outage detector judges it). An ask is a packet that the remote
// must answer when the path works: a SYN, TCP data or a FIN; a DNS or NTP query; an ICMP echo
// request; another UDP datagram sent after its peer had answered and had since been quiet for
// longer than a delayed acknowledgement may take (a reply's ACK-only datagram is not an ask).
// Pure ACKs, RSTs and anything to a remote that is not routable unicast (multicast, broadcast,
// link-local) never ask. Any packet from the remote answers: it clears the demand.
struct Demand {
  int64_t since_ns = 0;     // the oldest unanswered ask; 0 = nothing awaited
  int64_t last_ask_ns = 0;  // the newest one
  uint32_t asks = 0;        // packets that asked since then
  // One of them asked again after a wait: a TCP retransmission, a repeated SYN or FIN, a query,
  // echo request or datagram sent again at least kMinRetryWaitNs after the first ask.
  bool retried = false;
  // The flow's retransmission timeout (RFC 6298: SRTT + 4 RTTVAR from its RTT samples, at
  // least 1 s; 1 s until it has a sample): an answer later than this is overdue.
  float rto_s = 1;
};
// No sender retries sooner than this (Linux's minimum TCP RTO is 200 ms; QUIC's PTO, a DNS
// stub's and ping's intervals are longer): a second ask sooner is more of the same request.
inline constexpr int64_t kMinRetryWaitNs = 200'000'000;

// One flow during one bin, as handed to a BinSink.
struct FlowBin {
  FlowInfo info;
  DirectionBin dir[2];          // indexed by Direction
  BusyBin busy[2];              // TCP and UDP: indexed by Direction
  int64_t last_ns = 0;          // last packet of the flow so far (any bin)
  double handshake_rtt_s = -1;  // SYN -> ACK of the handshake at the capture point; -1 if none
  RttBin rtt;                   // RTT samples of this bin
  bool closed = false;          // FIN or RST seen
  Demand demand;                // kept across bins: what is awaited at the end of this one
};

// The whole link during one bin (all flows with a local side, plus non-flow IP traffic).
struct LinkBin {
  DirectionBin dir[2];
  // ICMP errors (destination unreachable, time exceeded): a router saying it cannot deliver.
  // They are counted in dir[] too, but they are not answers, so first/last_ns skip them.
  uint32_t icmp_errors[2] = {0, 0};
  int64_t first_ns[2] = {0, 0};  // earliest / latest non-error packet of each direction (0 if none)
  int64_t last_ns[2] = {0, 0};
  uint32_t active_flows = 0;  // flows with at least one packet in the bin
};

// Why a flow left the table.
enum class FlowEnd : uint8_t {
  kClosed,      // FIN or RST, then a short linger
  kIdle,        // no packet for the idle timeout
  kEvicted,     // removed to make room (the table was full)
  kCaptureGap,  // the capture skipped ahead by more than BinnerParams::max_empty_bins
  kEndOfInput,  // the input ended with the flow still open
};

// Totals of a flow, handed over when it leaves the table.
struct FlowTotals {
  DirectionBin dir[2];
  int64_t last_ns = 0;
  double handshake_rtt_s = -1;
  bool closed = false;
  FlowEnd end = FlowEnd::kIdle;
};

// Receives closed bins. Called from the thread that feeds the Binner; the spans are valid for
// the duration of the call only.
class BinSink {
 public:
  virtual ~BinSink() = default;
  // Bin [start_ns, start_ns + width_ns): every flow in the table (idle ones with zero bins),
  // and the link totals.
  virtual void OnBin(int64_t start_ns, int64_t width_ns, std::span<const FlowBin> flows,
                     const LinkBin& link) = 0;
  // A flow left the table (closed, idle timeout, eviction, or end of input).
  virtual void OnFlowEnd(const FlowInfo& info, const FlowTotals& totals) = 0;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_BINS_H_
