#ifndef THROTTLEWATCH_DETECTOR_PIPELINE_REPLAY_H_
#define THROTTLEWATCH_DETECTOR_PIPELINE_REPLAY_H_

#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "capture/address_formatter.h"
#include "capture/binner.h"
#include "capture/capture_file.h"
#include "capture/connection_opening.h"
#include "capture/decode.h"
#include "capture/dns_outcomes.h"
#include "detector/core/engine.h"
#include "detector/core/event.h"
#include "detector/core/event_sink.h"
#include "detector/core/flow_verdict.h"

namespace tw::detector {

// How a replay ended (the replay command maps it to an exit status).
enum class ReplayStatus {
  kOk,
  kFailed,       // a runtime error: an unreadable file, flow verdicts that could not be written
  kBadOptions,   // unusable options (a bad --local or BPF filter): nothing was read
  kBrokenInput,  // a broken capture file: result->error names the file and byte offset
};

// Who hears what a replay finds, besides its result: the outputs (event stream, report, series,
// flow lines) attach here, so the replay knows none of them. Not owned; each may be empty.
struct ReplayObservers {
  capture::BinSink* bins = nullptr;  // every bin, before the detectors see it
  EventSink* events = nullptr;       // every event, in the order it is emitted
  // The flow lines (ReplayResult::flow_lines), once, at the end of the input (after the
  // verdicts' throttle events); returns false when they could not be written.
  std::function<bool(const std::vector<FlowVerdict>&)> verdicts;
};

struct ReplayOptions {
  std::vector<std::string> files;  // "-" is standard input (read once)
  std::string bpf_filter;          // tcpdump syntax; empty = everything
  std::string local;               // "CIDR[,CIDR]"; empty = infer from the first packets
  capture::BinnerParams binner;
  EngineParams engine;
  VerdictParams verdict;
  std::FILE* log = nullptr;  // progress and summary (stderr); nullptr = silent
  // Progress for large inputs: a bar redrawn in place (percent, packets/s, ETA) when `log` is
  // a terminal, plain lines every few seconds when it is not.
  bool progress = true;
  ReplayObservers observers;  // must outlive the call
  // Every address written (events, the local networks line) goes through this; plain by
  // default, anonymized with --anonymize.
  capture::AddressFormatter addresses;
  // Per-packet analysis on this many worker threads (flows hashed to them; the file is read
  // and decoded on the calling thread, the detectors run on one more). 1: all on the calling
  // thread. The events and verdicts are the same for any value (see sharded_analysis.h).
  int threads = 1;
};

// Everything a replay computed, also when it stopped on an error.
// A gap between packets this long is noted in ReplayResult (twice the outage detector's
// silence: shorter pauses are ordinary on a quiet link).
inline constexpr int64_t kNotedSilenceNs = 10'000'000'000;

struct ReplayResult {
  std::string error;     // empty on success; names the file otherwise
  bool started = false;  // the input was opened and its analysis began
  std::string local;     // the local networks used, as written (through options.addresses)
  std::vector<capture::Cidr> local_cidrs;  // the same, as networks (not anonymized)
  bool local_inferred = false;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  int64_t first_ns = 0, last_ns = 0;
  // Silences: stretches of at least kNotedSilenceNs without any packet, either way (a sensor
  // that stopped, or a link with nothing to say: either way, nothing to judge). How many, and
  // the longest (its length, and the last packet before it).
  uint64_t silences = 0;
  int64_t longest_silence_ns = 0, longest_silence_from_ns = 0;
  std::array<uint64_t, size_t(capture::DecodeStatus::kCount)> decode{};
  capture::CaptureFileStats file;  // survived anomalies of the input files
  std::vector<std::string> notes;  // one line per kind of survived anomaly (file, byte offset)
  capture::BinnerStats binner;
  EngineStats engine;
  std::map<DropClass, uint64_t> dismissed;  // drops examined and not reported, by class
  uint64_t names_learned = 0;               // service names from DNS answers and ClientHellos
  uint64_t names_rejected = 0;              // names dropped: not host names (forged or broken)
  std::vector<Event> events;
  std::vector<FlowVerdict> verdicts;  // every TCP flow that carried data
  // The lines of --flows: the verdicts and every UDP flow that carried payload (kNotJudged),
  // named, in flow order.
  std::vector<FlowVerdict> flow_lines;
  // How the connections the local side started opened (capture::OpeningTracker), each once
  // decided, in flow order.
  std::vector<capture::Opening> openings;
  // The DNS queries the local side sent, once decided: a count per capture::DnsOutcomeKind.
  std::array<uint64_t, capture::kDnsOutcomeKinds> dns_outcomes{};
};

// Replays capture files through capture → stats → detector. Events go to the observers as
// they are emitted, so an input error part-way loses nothing already found. Flow verdicts (and
// the throttle events of flows policed from their start) are judged at the end of the input,
// and handed over then. On kFailed and kBrokenInput the result holds everything up to that
// point. The input is read once:
// the packets read to infer the local side (when options.local is empty) are held and analysed
// after, so "-" works as any file.
ReplayStatus RunReplay(const ReplayOptions& options, ReplayResult* result);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_PIPELINE_REPLAY_H_
