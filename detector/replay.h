#ifndef THROTTLEWATCH_DETECTOR_REPLAY_H_
#define THROTTLEWATCH_DETECTOR_REPLAY_H_

#include <array>
#include <map>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "capture/address_formatter.h"
#include "capture/binner.h"
#include "capture/decode.h"
#include "detector/engine.h"
#include "detector/event.h"

namespace tw::detector {

struct ReplayOptions {
  std::vector<std::string> files;
  std::string bpf_filter;         // tcpdump syntax; empty = everything
  std::string local;              // "CIDR[,CIDR]"; empty = infer from the first packets
  capture::BinnerParams binner;
  EngineParams engine;
  std::FILE* events_out = nullptr;  // JSON lines; nullptr = don't write
  std::FILE* log = nullptr;         // progress and summary (stderr); nullptr = silent
  bool progress = true;             // periodic progress lines for large inputs
  // Every address written (events, the local networks line) goes through this; plain by
  // default, anonymized with --anonymize.
  capture::AddressFormatter addresses;
};

// Everything a replay computed, also when it stopped on an error.
struct ReplayResult {
  std::string error;        // empty on success; names the file otherwise
  std::string local;        // the local networks used, as written (through options.addresses)
  bool local_inferred = false;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  int64_t first_ns = 0, last_ns = 0;
  std::array<uint64_t, size_t(capture::DecodeStatus::kCount)> decode{};
  capture::BinnerStats binner;
  EngineStats engine;
  std::map<DropClass, uint64_t> dismissed;  // drops examined and not reported, by class
  std::vector<Event> events;
};

// Replays capture files through capture → stats → detector. Events are written to
// options.events_out as they are emitted (flushed per line), so an input error part-way loses
// nothing already found. Returns 0 on success, 1 on a read error (result->error says which
// file and why; the result holds everything up to that point), 2 on unusable options.
int RunReplay(const ReplayOptions& options, ReplayResult* result);

// The end-of-run summary: flows seen, flows with events, one line per event. Addresses are
// written through `addresses`.
void PrintSummary(const ReplayResult& r, std::FILE* out,
                  const capture::AddressFormatter& addresses = {});

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_REPLAY_H_
