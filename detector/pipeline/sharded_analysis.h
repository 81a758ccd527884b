#ifndef THROTTLEWATCH_DETECTOR_PIPELINE_SHARDED_ANALYSIS_H_
#define THROTTLEWATCH_DETECTOR_PIPELINE_SHARDED_ANALYSIS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "capture/binner.h"
#include "capture/bins.h"
#include "capture/connection_opening.h"
#include "capture/decode.h"
#include "capture/local_networks.h"
#include "capture/server_names.h"
#include "detector/core/flow_verdict.h"
#include "detector/pipeline/flow_work.h"

namespace tw::detector {

struct ShardedAnalysisParams {
  int shards = 2;  // worker threads, each with its share of the flows
  // For the whole input: each shard's flow table holds max_flows / shards flows, and its
  // verdict tracker max_records_total / shards records, so memory does not grow with shards.
  capture::BinnerParams binner;
  VerdictParams verdict;
};

// The per-packet analysis of one input, split over threads. The caller's thread (the reader)
// hands every decoded packet to OnPacket; flows are hashed to `shards` worker threads, each
// running the per-packet work (FlowWork: its share of the flow table, its verdict tracker)
// on its flows; a merger thread joins
// the shards' closed bins, per bin, and hands them to `sink`, with the names the packets taught
// applied to `names` first (ServerNames::Learn) and the connection openings and DNS outcomes
// decided in the bin handed to `outcomes` (those not null) before the bin's flow ends, each in
// order of the time they were decided (then of flow id).
//
// What `sink` sees is what one Binner fed every packet gives (apart from the order of flows
// within a bin, which the detectors do not depend on): the reader broadcasts the clock, so
// every shard closes the same bins at the same packets; flow ids are the position of the flow's
// first packet in the input, whatever shard it lands on; the flow ends between two bins come in
// order of id. So the events are the same for any number of shards, unless a shard's flow table
// fills (which flows are evicted depends on the shares) or a verdict record cap is reached.
//
// Threads: `sink`, `names` and `outcomes` are used by the merger thread only, between construction
// and the return of Finish(); the caller must not touch them meanwhile. Not copyable.
class ShardedAnalysis {
 public:
  ShardedAnalysis(const ShardedAnalysisParams& params, capture::LocalNetworks local,
                  capture::BinSink* sink, capture::ServerNames* names, OutcomeSinks outcomes = {});
  // Stops the threads; the analysis of what was fed is finished and dropped if Finish() was not
  // called.
  ~ShardedAnalysis();
  ShardedAnalysis(const ShardedAnalysis&) = delete;
  ShardedAnalysis& operator=(const ShardedAnalysis&) = delete;

  // One packet that Decode() returned kOk for: captured at ts_ns, wire length wire_len, its
  // captured bytes `data` (borrowed for the call; only the payload of a DNS datagram, a
  // ClientHello or a QUIC Initial is copied), `index` its position in the input (1, 2, ...; it
  // becomes the id of a flow it starts).
  void OnPacket(int64_t ts_ns, uint32_t wire_len, const capture::DecodedPacket& d,
                const uint8_t* data, uint32_t caplen, uint64_t index);
  // End of the input: the shards close their last bin and end their flows; returns when the
  // sink has seen everything. Then the verdicts (FlowVerdictTracker::Finish over all shards)
  // and the Binner counters summed over shards. Call Finish once, TakeVerdicts at most once.
  void Finish();
  std::vector<FlowVerdict> TakeVerdicts();
  const capture::BinnerStats& stats() const { return stats_; }
  // Messages the shards handed to the merger, after Finish(): a few per batch of packets (a
  // message carries many bins), not one per bin and shard, so that the cost follows the
  // packets, not the time they span.
  uint64_t handovers() const;

 private:
  struct Shard;
  struct Batch;
  struct Message;
  class Merger;

  void Send(Shard* s);
  void Stop();

  capture::LocalNetworks local_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<Merger> merger_;
  int64_t bin_ns_;
  int64_t last_bin_ = 0;  // bin index of the last clock broadcast
  bool clock_started_ = false;
  bool finished_ = false;
  capture::BinnerStats stats_;  // the reader's share until Finish(), then the sum
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_PIPELINE_SHARDED_ANALYSIS_H_
