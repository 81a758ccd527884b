#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_EVENT_STREAM_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_EVENT_STREAM_H_
// The event stream a replay or the daemon writes: one sealed JSON line per event.

#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "capture/address_formatter.h"
#include "detector/core/event_sink.h"
#include "detector/outputs/evidence_chain.h"

namespace tw::detector {

// Writes each event as one JSON line and flushes it, so a crash or a fatal input error later
// loses nothing already emitted. Does not own `out`. Owns the formatter every address of every
// event goes through (plain, or anonymized with --anonymize). Every line carries its chain
// field (evidence_chain.h): WriteRecord() is where a line of the stream is sealed and written.
class JsonLinesWriter final : public EventSink {
 public:
  explicit JsonLinesWriter(std::FILE* out, capture::AddressFormatter addresses = {})
      : out_(out), addresses_(std::move(addresses)) {}
  void OnEvent(const Event& e) override;
  // Writes `record` (one JSON object, no newline) as a line, sealed with its chain field, and
  // flushes it. On failure failed() is set and the chain does not advance.
  void WriteRecord(std::string_view record);
  // The stream's first line (its header), built from the chain value it continues when the
  // first line is written, or by Finish() if none is: a header that waits for something (the
  // inputs' digests) holds up nothing until an event has to follow it.
  void SetHeader(std::function<std::string(std::string_view previous_head)> header);
  // Writes the header if it is still pending (a stream without events still has it).
  void Finish();
  // The chain value of the last line written (kChainGenesis before the first).
  const std::string& head() const { return head_; }
  bool failed() const { return failed_; }

 private:
  std::FILE* out_;
  capture::AddressFormatter addresses_;
  std::function<std::string(std::string_view)> header_;
  std::string head_{kChainGenesis};
  bool failed_ = false;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_EVENT_STREAM_H_
