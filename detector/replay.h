#ifndef THROTTLEWATCH_DETECTOR_REPLAY_H_
#define THROTTLEWATCH_DETECTOR_REPLAY_H_

#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "capture/address_formatter.h"
#include "capture/binner.h"
#include "capture/capture_file.h"
#include "capture/decode.h"
#include "detector/engine.h"
#include "detector/event.h"
#include "detector/evidence_chain.h"
#include "detector/flow_verdict.h"
#include "detector/series_recorder.h"

namespace tw::detector {

inline constexpr int kReplayOk = 0, kReplayRuntimeError = 1, kReplayUsageError = 2,
                     kReplayBrokenInput = 3;

struct ReplayOptions {
  std::vector<std::string> files;  // "-" is standard input (read once)
  std::string bpf_filter;          // tcpdump syntax; empty = everything
  std::string local;               // "CIDR[,CIDR]"; empty = infer from the first packets
  capture::BinnerParams binner;
  EngineParams engine;
  std::FILE* events_out = nullptr;  // JSON lines; nullptr = don't write
  std::FILE* flows_out = nullptr;   // one JSON line per TCP flow with its verdict; nullptr = don't
  VerdictParams verdict;
  std::FILE* log = nullptr;  // progress and summary (stderr); nullptr = silent
  // Progress for large inputs: a bar redrawn in place (percent, packets/s, ETA) when `log` is
  // a terminal, plain lines every few seconds when it is not.
  bool progress = true;
  // When set, fed every bin, event and binned packet (for the report and --series); must
  // outlive the call.
  SeriesRecorder* recorder = nullptr;
  // Every address written (events, the local networks line) goes through this; plain by
  // default, anonymized with --anonymize.
  capture::AddressFormatter addresses;
  // Per-packet analysis on this many worker threads (flows hashed to them; the file is read
  // and decoded on the calling thread, the detectors run on one more). 1: all on the calling
  // thread. The events and verdicts are the same for any value (see sharded_analysis.h).
  int threads = 1;
};

// Everything a replay computed, also when it stopped on an error.
struct ReplayResult {
  std::string error;  // empty on success; names the file otherwise
  std::string local;  // the local networks used, as written (through options.addresses)
  std::vector<capture::Cidr> local_cidrs;  // the same, as networks (not anonymized)
  bool local_inferred = false;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  int64_t first_ns = 0, last_ns = 0;
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
  // Evidence (evidence_chain.h): the inputs' SHA-256, in the order of options.files (hashed
  // when events, a recorder or both are asked for), and the chain value of the last line
  // written to options.events_out (empty when nothing was written).
  std::vector<InputDigest> inputs;
  std::string chain_head;
};

// Replays capture files through capture → stats → detector. Events are written to
// options.events_out as they are emitted (flushed per line), so an input error part-way loses
// nothing already found. Flow verdicts (and the throttle events of flows policed from their
// start) are judged at the end of the input, and written then. Returns 0 on success, 1 on a
// runtime error (an unreadable file, a failed write), 2 on unusable options (a bad --local or
// BPF filter; nothing was read), 3 on a broken capture file (result->error names the file and
// byte offset). On 1 and 3 the result holds everything up to that point. The input is read
// once: the packets read to infer the local side (when options.local is empty) are held and
// analysed after, so "-" works as any file.
// Evidence (evidence_chain.h): the stream's first line is a header with the inputs' SHA-256,
// computed on a thread of their own meanwhile (the first event waits for them), and every line
// carries its chain field.
int RunReplay(const ReplayOptions& options, ReplayResult* result);

// The end-of-run summary: flows seen, flows with events, one line per event, the limited flows.
// Addresses are written through `addresses`.
void PrintSummary(const ReplayResult& r, std::FILE* out,
                  const capture::AddressFormatter& addresses = {});

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_REPLAY_H_
