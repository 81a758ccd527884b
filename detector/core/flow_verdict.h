#ifndef THROTTLEWATCH_DETECTOR_CORE_FLOW_VERDICT_H_
#define THROTTLEWATCH_DETECTOR_CORE_FLOW_VERDICT_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "capture/address_formatter.h"
#include "capture/binner.h"
#include "capture/bins.h"
#include "capture/decode.h"
#include "detector/core/event.h"
#include "stats/token_bucket.h"
#include "util/list_arena.h"

namespace tw::detector {

// What limits a TCP flow, judged from its own dynamics (no "before" needed).
enum class VerdictKind : uint8_t {
  kInsufficientData,  // too little data to judge
  kUnlimited,         // no sign of a limiter: neither queueing nor loss
  kLossy,             // losses without queueing and not in step with any token bucket
  kCongested,         // queueing (RTT inflation), rate not steady: a shared bottleneck
  kShaped,            // queueing at a steady rate: a shaper (or a dedicated bottleneck)
  kPoliced,           // losses line up with a token bucket, without queueing: a policer
  kNotJudged,         // a UDP flow: listed (service, QUIC version, volume), never judged
};
// Whether the verdict says a limiter (a policer or a shaper) held the flow.
constexpr bool IsLimited(VerdictKind k) {
  return k == VerdictKind::kPoliced || k == VerdictKind::kShaped;
}
const char* VerdictName(VerdictKind k);  // "insufficient data", "unlimited", ...

struct VerdictParams {
  stats::TokenBucketParams bucket;
  // Fewer data packets than this in the flow's main direction: insufficient data. A policer
  // test needs min_losses losses plus passes between them.
  uint32_t min_data_packets = 50;
  // A queue is standing when the median RTT exceeds the floor by this much (ratio and absolute,
  // as in the inflation guard): the typical packet waited behind others.
  double queue_ratio = 1.3;
  double min_queue_s = 0.020;
  // Steady rate: this share of busy-window delivery rates within +-rate_band of their median.
  double steady_share = 0.6;
  double rate_band = 0.2;
  // Losses: at least this share of the data retransmitted (and a few losses) is "lossy".
  double lossy_share = 0.005;
  int lossy_min_losses = 3;
  // Memory: per flow direction at most this many transmissions are kept (the verdict is then
  // based on the first ones), and at most total_records over all flows.
  size_t max_records_per_flow = 1 << 17;
  size_t max_records_total = 1 << 22;  // 64 MB of records (16 bytes each)
};

// The verdict on one flow, in its main data direction (the one that carried more payload).
struct FlowVerdict {
  capture::FlowInfo info;
  capture::Direction dir = capture::kDown;
  bool receiver_vantage = false;      // losses seen as sequence holes (capture after the limiter)
  int64_t first_ns = 0, last_ns = 0;  // the earliest and the latest data packet
  uint64_t payload_bytes = 0, wire_bytes = 0;
  uint64_t retrans_bytes = 0;  // sender vantage: bytes sent again; receiver: bytes missing
  uint32_t data_packets = 0;
  double goodput_bps = 0;  // payload bits per second over the flow's duration
  // The share of the bytes sent that were lost, in [0, 1]: retrans_bytes over the bytes sent
  // (payload_bytes, resent bytes included, plus the bytes missing, which were never seen).
  double retrans_rate = 0;
  // Path RTT: floor (stats::RttFloor, the 1st percentile: the minimum less stray samples) and
  // median; -1: none. Written as `rtt_min_ms` in the JSON.
  double rtt_floor_s = -1, rtt_median_s = -1;
  bool truncated = false;  // the record cap was reached: judged on the first part

  VerdictKind kind = VerdictKind::kInsufficientData;
  EventScope scope = EventScope::kFlow;  // kRemoteHost: the rate is shared with other flows
  double rate_bps = 0;     // policed/shaped: the limiter's rate (wire bits per second)
  double burst_bytes = 0;  // policed: the bucket
  double confidence = 0;
  // Epoch seconds of the first limited moment: policed, the flow's first loss; shaped, its first
  // data packet (the queue's onset is not located).
  double limited_since = 0;
  int host_flows = 0;              // scope remote host: the host's flows that share the rate
  std::string remote_host;         // the remote address, formatted: groups the flows of one host
  stats::TokenBucketEstimate fit;  // the flow's own policer test
  stats::TokenBucketEstimate host_fit;  // the remote host's aggregate's, when run
  double queue_delay_s = 0;             // median RTT minus the floor
  uint64_t event_id = 0;                // the throttle event for this flow, if any
  // The server's name (TLS or QUIC SNI, else a DNS name of the address; empty: none seen) and
  // a QUIC flow's version ("V-1", "Q050"...), as known when the flow ended.
  std::string server_name, quic_version;
};

// Per-flow TCP bookkeeping beside the Binner, and the verdicts at the end. Feed every packet
// the Binner accepted (OnPacket with its BinnedPacket); call Finish() once at the end of the
// input; call OnFlowEnd when a flow leaves the Binner's table (optional: it returns memory).
// Memory: one record (16 bytes) per data packet up to the caps in VerdictParams, an RTT sample
// (16 bytes) per echoed timestamp (at most max_records_per_flow / 4 per flow and
// max_records_total in all), an ACK record (16 bytes) per ACK that acknowledges new data (at most
// as many as the records), ~1.6 KB per live TCP flow (its recent TCP timestamps) and ~0.4 KB
// per TCP flow that carried data, until Finish(). The records, samples and ACKs live in regions
// of address space reserved at construction (3 slots per record of the caps: ~700 MB of address
// space at the defaults, committed only as they fill), so OnPacket allocates only when it meets
// a new flow. Single-threaded.
class FlowVerdictTracker {
 public:
  explicit FlowVerdictTracker(const VerdictParams& params = {});

  void OnPacket(int64_t ts_ns, uint32_t wire_len, const capture::DecodedPacket& p,
                const capture::BinnedPacket& b);

  // The flow left the table and sends no more packets: what only its packets needed (its recent
  // timestamps; everything, if it carried no data) is released. Verdicts are unchanged.
  void OnFlowEnd(const capture::FlowInfo& info);

  // Verdicts for every TCP flow that carried data, in order of first appearance. Service-level
  // verdicts group flows by remote host and direction. Call once; the tracker is then empty.
  std::vector<FlowVerdict> Finish();
  // The same over the flows of several trackers (each fed a share of the flows of one input,
  // e.g. by the shards of a pipeline): what one tracker fed every packet would give, as long
  // as no tracker reached its VerdictParams caps. The trackers are then empty. Each tracker's
  // flows are measured on a thread of their own (the first's on the caller's): no tracker may
  // be used by another thread meanwhile.
  static std::vector<FlowVerdict> Finish(std::span<FlowVerdictTracker* const> trackers);

  size_t records() const { return records_total_; }
  // TCP flows held: those seen and not freed by OnFlowEnd.
  size_t flows() const { return traces_.size() - free_traces_.size(); }

 private:
  // One transmission, or (a hole) bytes missing at a receiver before one. 16 bytes, as there
  // is one per data packet: the capture time with the two flags above it, the sequence
  // number, and the payload (below 1 MiB) and header (below 4 KiB) sizes in one word; larger
  // values are clamped.
  struct Record {
    static constexpr uint64_t kLost = uint64_t{1} << 63, kHole = uint64_t{1} << 62;
    uint64_t ns_flags = 0;
    uint32_t seq = 0;
    uint32_t sizes = 0;

    static Record Make(int64_t ns, uint32_t seq, uint32_t payload, uint32_t wire, bool lost,
                       bool hole = false) {
      Record r;
      r.ns_flags = uint64_t(std::clamp<int64_t>(ns, 0, int64_t(kHole - 1))) | (lost ? kLost : 0) |
                   (hole ? kHole : 0);
      r.seq = seq;
      const uint32_t p = std::min<uint32_t>(payload, (1u << 20) - 1);
      r.sizes = p | std::min<uint32_t>(wire > payload ? wire - payload : 0, (1u << 12) - 1) << 20;
      return r;
    }
    int64_t ns() const { return int64_t(ns_flags & (kHole - 1)); }
    bool lost() const { return (ns_flags & kLost) != 0; }
    bool hole() const { return (ns_flags & kHole) != 0; }  // never seen at this receiver
    void set_lost() { ns_flags |= kLost; }
    uint32_t payload() const { return sizes & ((1u << 20) - 1); }
    uint32_t wire() const { return payload() + (sizes >> 20); }
  };
  static_assert(sizeof(Record) == 16);
  using Records = util::ListArena<Record>;
  using Rtts = util::ListArena<stats::RttSample>;
  // An ACK that acknowledged new data (cumulative ACK beyond any before it): when it passed the
  // capture point, and up to where it acknowledged.
  struct AckAdvance {
    int64_t ns = 0;
    uint32_t ack = 0;
    uint32_t unused = 0;
  };
  using Acks = util::ListArena<AckAdvance>;
  static constexpr int kTsRing = 64;
  // One side's last clock values (TSval) and when each was first seen, while the flow lives; a
  // set bit of ts_waiting marks a value not yet echoed.
  struct Clock {
    uint32_t ts_val[kTsRing] = {};
    int64_t ts_ns[kTsRing] = {};
    uint64_t ts_waiting = 0;
    int ts_next = 0;
    uint32_t last_tsval = 0;
    bool have_tsval = false;
  };
  struct Side {  // one direction of a flow
    Records::List rec;
    Rtts::List rtt;      // RTTs of this side's TSvals, echoed by the other side
    Acks::List acks;     // this side's ACKs of the other side's data, each acknowledging more
    uint32_t acked = 0;  // the highest of them
    bool ack_valid = false;
    uint32_t high = 0;  // one past the highest sequence number seen
    bool seq_valid = false;
    uint64_t payload = 0, wire = 0, resent = 0, holes = 0;
    uint32_t data_packets = 0;
    int64_t first_ns = 0, last_ns = 0;
    bool truncated = false;
  };
  struct Trace {
    capture::FlowInfo info;
    Side side[2];
    uint32_t clocks = 0;  // position in clocks_ + 1 of the sides' Clocks; 0: none
  };

  Trace* Find(const capture::FlowInfo& info);  // the flow's trace, created on first sight
  void OnData(Side* s, int64_t ts_ns, uint32_t wire_len, const capture::DecodedPacket& p);
  void AddRecord(Side* s, const Record& r);
  // The side's records as the policer test reads them. At a sender (fewer hole bytes than resent
  // ones) the capture sees every segment sent, so a hole is segments the capture missed, not the
  // network: hole records are left out there, and each transmission carries when the other
  // side's ACKs (`acks_from`) first covered it.
  void AppendTransmissions(const Side& s, const Side& acks_from,
                           std::vector<stats::Transmission>* out) const;
  std::vector<stats::RttSample> RttSamples(const Side& s) const;
  // Fills the totals, RTT statistics and the flow's own policer test.
  FlowVerdict Measure(const Trace& t, capture::Direction d) const;
  // Decides the verdict once the service-level test (if any) is in.
  void Classify(const Side& s, FlowVerdict* v) const;
  void Clear();  // forgets every flow

  VerdictParams p_;
  // Every transmission record and RTT sample, reserved at construction (see util/list_arena.h):
  // OnPacket does not allocate once a flow's trace exists.
  Records records_;
  Rtts rtts_;
  Acks acks_;
  std::deque<Trace> traces_;           // a deque: growing moves none
  std::vector<uint32_t> free_traces_;  // positions released by OnFlowEnd, to reuse
  std::vector<std::array<Clock, 2>> clocks_;
  std::vector<uint32_t> free_clocks_;
  // Open addressing from flow id to position in traces_ + 1 (0: empty slot), load <= 1/2.
  std::vector<std::pair<uint64_t, uint32_t>> index_;
  uint64_t cached_id_ = 0;
  uint32_t cached_ = 0;  // position in traces_ + 1 of cached_id_, 0: none
  size_t records_total_ = 0;
  size_t rtts_total_ = 0;
  size_t acks_total_ = 0;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_CORE_FLOW_VERDICT_H_
