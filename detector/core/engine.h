#ifndef THROTTLEWATCH_DETECTOR_CORE_ENGINE_H_
#define THROTTLEWATCH_DETECTOR_CORE_ENGINE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "capture/bins.h"
#include "capture/connection_opening.h"
#include "capture/dns_outcomes.h"
#include "detector/core/block_detector.h"
#include "detector/core/event_sink.h"
#include "detector/core/outage_detector.h"
#include "detector/core/throttle_detector.h"

namespace tw::detector {

struct EngineParams {
  ThrottleParams throttle;
  OutageParams outage;
  BlockParams block;
  uint64_t first_event_id = 1;  // ids continue from here (a restarted daemon resumes its file)
};

// What the engine saw, for the end-of-run summary.
struct EngineStats {
  uint64_t bins = 0;
  uint64_t flows_ended = 0;
  uint64_t flows_with_data = 0;  // flows that carried payload in either direction
  uint64_t events = 0;
};

// The detection stage: receives closed bins, decided connection openings and DNS outcomes
// from the capture stage and runs every detector on them, sending events to `sink`. Outages
// suppress new throttle starts (a dark link is not a squeezed flow). Single-threaded; `sink` must
// outlive the engine.
class Engine final : public capture::BinSink,
                     public capture::OpeningSink,
                     public capture::DnsOutcomeSink {
 public:
  // `names` (borrowed, may be null) labels events with server names; the engine forgets a
  // flow's name two bins after the flow ends.
  Engine(const EngineParams& params, EventSink* sink, capture::ServerNames* names = nullptr);

  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link) override;
  void OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) override;
  // An opening goes to the block detector at the close of the bin after the one it came in:
  // its server name (a ClientHello, a QUIC Initial, a DNS answer) may be learned a little after
  // the packet that decided it (the daemon reads names from a second capture handle).
  void OnOpening(const capture::Opening& o) override;
  // A DNS outcome goes to the block detector at once: it names its question itself.
  void OnDnsOutcome(const capture::DnsOutcome& o) override;
  // End of the input: the openings still held go to the block detector.
  void Finish();

  const EngineStats& stats() const { return stats_; }
  const ThrottleDetector& throttle() const { return throttle_; }
  const OutageDetector& outage() const { return outage_; }
  const BlockDetector& block() const { return block_; }

 private:
  class Counter final : public EventSink {
   public:
    Counter(EventSink* next, uint64_t* n) : next_(next), n_(n) {}
    void OnEvent(const Event& e) override {
      ++*n_;
      next_->OnEvent(e);
    }

   private:
    EventSink* next_;
    uint64_t* n_;
  };

  EngineStats stats_;
  Counter counter_;
  uint64_t next_event_id_ = 1;
  // Judges the openings held since two bins ago and forgets the names of the flows that ended
  // then.
  void PassOpenings(int64_t now_ns);

  ThrottleDetector throttle_;
  OutageDetector outage_;
  BlockDetector block_;
  capture::ServerNames* names_;
  // Held for a bin: openings and ended flows' ids; [0] came in the current bin, [1] the last.
  std::vector<capture::Opening> openings_[2];
  std::vector<uint64_t> ended_[2];
  int64_t last_bin_end_ns_ = 0;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_CORE_ENGINE_H_
