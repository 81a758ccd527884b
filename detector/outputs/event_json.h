#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_EVENT_JSON_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_EVENT_JSON_H_
// Events as JSON lines (schema/event.v2.schema.json, docs/event-schema.md), and back: the one
// place that knows the line format of an event.

#include <string>

#include "capture/address_formatter.h"
#include "capture/bins.h"
#include "detector/core/event.h"
#include "detector/outputs/json.h"

namespace tw::detector {

// Where a live event was seen: the sensor's name and the captured interface.
struct EventOrigin {
  std::string sensor;
  std::string interface;
};

// The event as one line of JSON (no trailing newline). Deterministic field order. Every
// address is written through `addresses` (plain by default, anonymized with --anonymize).
// With `origin` (the daemon's events), the line names the sensor and interface.
std::string EventToJson(const Event& e, const capture::AddressFormatter& addresses = {},
                        const EventOrigin* origin = nullptr);

// A flow as the `flow` object of event and flow lines: proto, local, local_port, remote,
// remote_port (addresses through `addresses`), and `tunnel` when it came through any.
Json FlowToJson(const capture::FlowInfo& f, const capture::AddressFormatter& addresses);

// The event with every address it holds (flow endpoints, remote) replaced by addresses.Map().
Event MapAddresses(const Event& e, const capture::AddressFormatter& addresses);

// Parses one event line written by EventToJson (the fields needed to close or count it), of
// schema 2 or 1. False when the line is not such an event (a header, a flow line, ...).
bool ParseEventLine(const std::string& line, Event* out);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_EVENT_JSON_H_
