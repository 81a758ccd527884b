#ifndef THROTTLEWATCH_DETECTOR_EVENT_SINK_H_
#define THROTTLEWATCH_DETECTOR_EVENT_SINK_H_

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "detector/event.h"

namespace tw::detector {

// Receives events in the order they are emitted. Called on the detection thread.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(const Event& e) = 0;
};

// Writes each event as one JSON line and flushes it, so a crash or a fatal input error later
// loses nothing already emitted. Does not own `out`. Owns the formatter every address of every
// event goes through (plain, or anonymized with --anonymize).
class JsonLinesWriter final : public EventSink {
 public:
  explicit JsonLinesWriter(std::FILE* out, capture::AddressFormatter addresses = {})
      : out_(out), addresses_(std::move(addresses)) {}
  void OnEvent(const Event& e) override;
  bool failed() const { return failed_; }

 private:
  std::FILE* out_;
  capture::AddressFormatter addresses_;
  bool failed_ = false;
};

// Keeps every event (for the end-of-run summary and for tests).
class EventCollector final : public EventSink {
 public:
  void OnEvent(const Event& e) override { events_.push_back(e); }
  const std::vector<Event>& events() const { return events_; }

 private:
  std::vector<Event> events_;
};

// Forwards to several sinks, in order. Does not own them.
class EventFanout final : public EventSink {
 public:
  void Add(EventSink* s) { sinks_.push_back(s); }
  void OnEvent(const Event& e) override {
    for (EventSink* s : sinks_) s->OnEvent(e);
  }

 private:
  std::vector<EventSink*> sinks_;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_EVENT_SINK_H_
