#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_FLOW_VERDICT_JSON_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_FLOW_VERDICT_JSON_H_
// Flow verdicts as JSON lines (the --flows file).

#include <string>

#include "capture/address_formatter.h"
#include "detector/core/flow_verdict.h"

namespace tw::detector {

// The verdict as one JSON line (no trailing newline): schema/flow.v2.schema.json, described in
// docs/flow-verdicts.md.
// Every address is written through `addresses` (anonymized with --anonymize).
std::string FlowVerdictToJson(const FlowVerdict& v,
                              const capture::AddressFormatter& addresses = {});

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_FLOW_VERDICT_JSON_H_
