#ifndef THROTTLEWATCH_CAPTURE_BINNER_H_
#define THROTTLEWATCH_CAPTURE_BINNER_H_

#include <cstdint>
#include <vector>

#include "capture/bins.h"
#include "capture/decode.h"
#include "capture/flow_table.h"
#include "capture/local_networks.h"
#include "capture/rtt_tracker.h"
#include "capture/tcp_tracker.h"

namespace tw::capture {

struct BinnerParams {
  int64_t bin_ns = 1'000'000'000;            // bin width; bins are aligned to multiples of it
  int64_t idle_timeout_ns = 60'000'000'000;  // a flow with no packet for this long is ended
  int64_t closed_linger_ns =
      2'000'000'000;  // a FIN/RST flow is ended this long after its last packet
  // Hard cap on the flow table. When it is full a new flow evicts the flow with the fewest
  // packets among a few sampled at random, so floods of one-packet flows (SYN scans, spoofed
  // sources) evict each other while long-lived flows, which carry the evidence, stay.
  // Memory: BytesPerFlow() each in the Binner (536 bytes), plus up to ~7 KB in the detectors
  // for each flow that carries data; the default suits a small box (~35 MB under a SYN flood,
  // ~490 MB if every flow carried data and shared its remote host).
  size_t max_flows = 65'536;
  int64_t max_empty_bins = 3600;  // longer capture gaps are skipped, not filled with bins
};

// Counters the Binner keeps; read them between calls.
struct BinnerStats {
  uint64_t packets = 0;         // packets handed to OnPacket
  uint64_t not_local = 0;       // neither endpoint is local: ignored
  uint64_t local_to_local = 0;  // both endpoints local: ignored
  uint64_t flows_created = 0;
  uint64_t flows_evicted = 0;   // removed because the table was full
  uint64_t time_backwards = 0;  // packets older than the open bin (counted into it)
  uint64_t gaps_skipped = 0;    // capture gaps longer than max_empty_bins
};

// What OnPacket() did with a packet, for per-packet analyses that run beside the binning
// (e.g. per-flow TCP dynamics). `info` is null when the packet was not binned (no local
// endpoint, or both local); otherwise it points into the flow table and stays valid until the
// next OnPacket() or Finish().
struct BinnedPacket {
  const FlowInfo* info = nullptr;
  Direction dir = kUp;
  uint32_t retrans_bytes = 0;  // payload bytes of this packet that repeat sequence space
  // A word of the flow's table entry that belongs to the caller (e.g. the position of its own
  // per-flow state, to skip a lookup): zero when the flow enters the table, kept until it
  // leaves. Valid as long as `info`; null when `info` is.
  uint32_t* user = nullptr;
};

// Turns decoded packets into per-flow and link bins. Packet time drives everything: a bin is
// closed (BinSink::OnBin) when the first packet of a later bin arrives, and at Finish(). Flows
// are bidirectional; direction comes from `local`. The flows that leave the table between two
// OnBin calls reach BinSink::OnFlowEnd in order of flow id (those a bin's close ends come
// right after its OnBin; an eviction's at the next packet), so what the sink sees does not
// depend on the table's internal order. The flow table is reserved at construction;
// the per-packet path does not allocate. Single-threaded; `sink` must outlive the Binner.
class Binner {
 public:
  Binner(const BinnerParams& params, LocalNetworks local, BinSink* sink);

  // One decoded packet (Decode() returned kOk) captured at ts_ns with wire length wire_len.
  // A flow the packet starts gets the id `new_flow_id` when it is not 0 (a caller that splits
  // one input among several Binners passes the packet's position in the input, so ids are
  // unique across them and the same however the input is split), else the number of flows
  // created so far (1, 2, 3... when no ids are given).
  BinnedPacket OnPacket(int64_t ts_ns, uint32_t wire_len, const DecodedPacket& p,
                        uint64_t new_flow_id = 0);
  // Advances the clock without a packet (live capture on a silent link): closes every bin that
  // ends at or before now_ns, as a packet at now_ns would, so silence becomes empty bins instead
  // of a long wait for the next packet. Starts the first bin when no packet has been seen yet.
  // A later packet older than the open bin is counted into it (stats().time_backwards).
  void AdvanceClock(int64_t now_ns) { AdvanceTo(now_ns); }
  // The flow a decoded packet belongs to and its direction, without counting it (a second look
  // at a packet already binned, e.g. from another capture handle). `info` is null when the
  // flow is not in the table or the packet is not binned (no local endpoint, or both local).
  BinnedPacket Lookup(const DecodedPacket& p);
  // Closes the open bin and ends every flow. Further packets start afresh.
  void Finish();

  const BinnerStats& stats() const { return stats_; }
  // Bytes of memory each flow-table entry costs, all structures included (entry, index slots
  // at their worst load, the open bin handed to the sink); reserved up front for
  // params.max_flows entries. The entry alone (what a flow keeps beyond its open bin) is
  // EntryBytes(), at most 256.
  static size_t BytesPerFlow();
  static size_t EntryBytes();
  size_t active_flows() const { return table_.size(); }
  const LocalNetworks& local() const { return local_; }

 private:
  // What a flow keeps for its whole life, in its table entry. Its open bin (info, this bin's
  // counters, last packet, handshake RTT, closed flag) is bins_[position of the entry].
  struct FlowState {
    DirectionBin totals[2];  // the flow's closed bins, summed
    TcpSequenceTracker seq[2];
    RttTracker rtt;
    int64_t syn_ns = 0, synack_ns = 0;
    uint64_t packets_total = 0;
    uint32_t high_ack[2] = {0, 0};  // highest ACK sent by each direction's sender
    uint32_t user = 0;              // BinnedPacket::user
    // Demand (see bins.h): the flow's smoothed RTT and its variation (RFC 6298), the last
    // packet from the remote, whether the remote ever answered, and whether it can (routable).
    float srtt_s = 0, rttvar_s = 0;
    int64_t last_down_ns = 0;
    bool answered = false;
    bool remote_routable = false;
    bool fin_sent = false;
    bool ack_valid[2] = {false, false};
    uint8_t wscale[2] = {0xff, 0xff};  // window scale announced by each direction's sender
    // Busy time (see BusyBin): each direction's last data packet, in microseconds
    // modulo 2^32 (a gap is their difference: right for gaps under 71 minutes, longer than any
    // flow stays idle in the table by default), and its typical gap between data packets (an
    // average, weight 1/4, of log2 of the gap in ns, in 1/256ths; 0 = none yet). Small: the
    // entry must stay within 256 bytes.
    uint32_t last_data_us[2] = {0, 0};
    uint16_t log2_gap[2] = {0, 0};
    bool seen_in_bin = false;
  };
  using Table = FlowTable<FlowState>;

  void TrackTcp(int64_t ts_ns, const DecodedPacket& p, Direction d, FlowState* f, FlowBin* bin,
                uint32_t* retrans);
  // Updates the flow's Demand with one packet (after TrackTcp, which finds retransmissions).
  static void TrackDemand(int64_t ts_ns, const DecodedPacket& p, Direction d, bool icmp_error,
                          uint32_t retrans, FlowState* f, FlowBin* bin);
  static void OnRttSample(double rtt_s, FlowState* f, FlowBin* bin);
  // Adds a TCP or UDP data packet (`payload` bytes) and the gap before it to the bin's busy time
  // and bytes, unless the gap was a pause.
  static void TrackBusy(int64_t ts_ns, Direction d, uint32_t payload, uint32_t retrans,
                        FlowState* f, FlowBin* bin);
  void AdvanceTo(int64_t ts_ns);
  void CloseBin();
  // Removes the flow at dense position `pos`; the sink hears of it at the next FlushEnds().
  void EndFlow(size_t pos, FlowEnd why);
  // Hands the flows ended since the last flush to the sink, in order of flow id.
  void FlushEnds();
  Table::Entry* FindOrCreate(const FlowKey& key, bool src_is_a, bool src_local, int64_t ts_ns,
                             const DecodedPacket& p);
  void Evict();

  BinnerParams p_;
  LocalNetworks local_;
  BinSink* sink_;
  Table table_;
  // The open bin of every flow, in the table's dense order (handed to the sink as it is), so an
  // entry holds no per-bin counters. Reserved for max_flows at construction.
  std::vector<FlowBin> bins_;
  LinkBin link_;
  struct Ended {
    FlowInfo info;
    FlowTotals totals;
  };
  std::vector<Ended> ended_;  // flows removed, not yet handed to the sink
  int64_t bin_start_ = 0;
  bool open_ = false;
  uint64_t next_id_ = 1;
  uint64_t evict_cursor_ = 0;
  BinnerStats stats_;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_BINNER_H_
