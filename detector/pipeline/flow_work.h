#ifndef THROTTLEWATCH_DETECTOR_PIPELINE_FLOW_WORK_H_
#define THROTTLEWATCH_DETECTOR_PIPELINE_FLOW_WORK_H_
// The per-packet work, written once: what happens to a decoded packet in replay on one thread,
// in each shard of the sharded analysis, and in the daemon's capture thread.

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "capture/binner.h"
#include "capture/bins.h"
#include "capture/connection_opening.h"
#include "capture/decode.h"
#include "capture/dns_outcomes.h"
#include "capture/local_networks.h"
#include "capture/server_names.h"
#include "detector/core/flow_verdict.h"

namespace tw::detector {

// Where the server names a packet teaches (TLS SNI, DNS answers) go: learned at once into
// `observe` (its owner runs on this thread), or, when the names are owned by another thread,
// appended to `found` with the packet's index, to be learned there in packet order
// (ServerNames::Learn). Neither: names are not looked for.
struct NameTarget {
  capture::ServerNames* observe = nullptr;
  std::vector<std::pair<uint64_t, capture::LearnedName>>* found = nullptr;
};

// Where the outcomes behind blocking go as they are decided: the openings of the connections
// the local side starts (capture::OpeningTracker) and its DNS queries' (capture::DnsTracker).
// A null sink: not followed.
struct OutcomeSinks {
  capture::OpeningSink* openings = nullptr;
  capture::DnsOutcomeSink* dns = nullptr;
};

// A packet, in order: binned into its flow (capture::Binner: the flow table and the bins), its
// server name looked for, its TCP record kept for the flow's verdict (when verdicts are
// wanted), the opening of its connection and its DNS query or answer followed (when outcomes
// are wanted). Closed bins and ended flows go to `sink`; an ended flow also frees its verdict
// records and decides its opening and its pending queries. Single-threaded; `sink` and the name
// target must outlive it.
class FlowWork final : private capture::BinSink {
 public:
  // `verdicts`: the verdict tracker's parameters, or nullptr for no verdicts (the daemon).
  // `outcomes`: where openings and DNS outcomes go as they are decided (both trackers expire
  // at each bin's close). An ended flow's go there before the end goes to `sink`.
  FlowWork(const capture::BinnerParams& binner, capture::LocalNetworks local,
           capture::BinSink* sink, NameTarget names, const VerdictParams* verdicts,
           OutcomeSinks outcomes = {});
  FlowWork(const FlowWork&) = delete;
  FlowWork& operator=(const FlowWork&) = delete;

  // One packet Decode() returned kOk for: captured at ts_ns, wire length wire_len. `data` and
  // `caplen`: the bytes the decoded offsets point into (at least the payload of a packet that
  // may name its server: ServerNames::MayName, for names and openings).
  // `index`: the packet's position in the input (1, 2, ...; the id of a flow it starts), or 0
  // to let the Binner count flows.
  capture::BinnedPacket OnPacket(int64_t ts_ns, uint32_t wire_len, const capture::DecodedPacket& d,
                                 const uint8_t* data, uint32_t caplen, uint64_t index);

  // DNS is followed from a second capture of whole DNS datagrams (the daemon's service-name
  // handle: its main one keeps headers only), handed to OnDnsPacket(), and no longer from the
  // packets of OnPacket().
  void FollowDnsFromSecondCapture() { dns_in_main_ = false; }
  // A packet of that second capture (decoded as `d` from `data`/`caplen`, captured at ts_ns):
  // a UDP datagram to or from port 53 of a flow OnPacket() already made goes to the DNS
  // tracker; anything else is ignored.
  void OnDnsPacket(int64_t ts_ns, const capture::DecodedPacket& d, const uint8_t* data,
                   uint32_t caplen);

  // Closes the bins that end at or before now_ns (a silent link, or a clock broadcast).
  void AdvanceClock(int64_t now_ns) { binner_.AdvanceClock(now_ns); }
  // End of the input: closes the last bin and ends every flow.
  void Finish() { binner_.Finish(); }
  // The verdicts of every flow, after Finish() (empty without verdicts). At most once.
  std::vector<FlowVerdict> TakeVerdicts();

  const capture::Binner& binner() const { return binner_; }
  capture::Binner& binner() { return binner_; }
  // Null without verdicts.
  FlowVerdictTracker* verdicts() { return verdicts_ ? &*verdicts_ : nullptr; }

 private:
  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link) override;
  void OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) override;
  // Hands the openings and DNS outcomes decided so far to their sinks.
  void PassOutcomes();
  void FollowDns(int64_t ts_ns, const capture::DecodedPacket& d, const uint8_t* data,
                 uint32_t caplen, const capture::BinnedPacket& bp);

  capture::BinSink* sink_;
  NameTarget names_;
  std::optional<FlowVerdictTracker> verdicts_;
  std::optional<capture::OpeningTracker> openings_;
  std::optional<capture::DnsTracker> dns_;
  OutcomeSinks outcomes_;
  bool dns_in_main_ = true;                    // dns_ follows OnPacket()'s packets
  std::vector<capture::Opening> decided_;      // by openings_, not yet passed on
  std::vector<capture::DnsOutcome> answered_;  // by dns_, not yet passed on
  capture::Binner binner_;                     // last: its sink is this object
  std::vector<capture::LearnedName> found_;    // reused for each packet's names
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_PIPELINE_FLOW_WORK_H_
