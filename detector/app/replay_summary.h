#ifndef THROTTLEWATCH_DETECTOR_APP_REPLAY_SUMMARY_H_
#define THROTTLEWATCH_DETECTOR_APP_REPLAY_SUMMARY_H_
// What the replay command prints to the terminal when a replay ends.

#include <cstdio>
#include <string>

#include "capture/address_formatter.h"
#include "detector/pipeline/replay.h"

namespace tw::detector {

// The end-of-run summary: flows seen, flows with events, one line per event, the event chain's
// head (when events were written: `chain_head` not empty), the limited flows, the connection
// openings counted by outcome. Addresses are written through `addresses`.
void PrintSummary(const ReplayResult& r, const std::string& chain_head, std::FILE* out,
                  const capture::AddressFormatter& addresses = {});

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_APP_REPLAY_SUMMARY_H_
