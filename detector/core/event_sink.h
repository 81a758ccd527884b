#ifndef THROTTLEWATCH_DETECTOR_CORE_EVENT_SINK_H_
#define THROTTLEWATCH_DETECTOR_CORE_EVENT_SINK_H_

#include <string>
#include <vector>

#include "detector/core/event.h"

namespace tw::detector {

// Receives events in the order they are emitted. Called on the detection thread.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(const Event& e) = 0;
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

#endif  // THROTTLEWATCH_DETECTOR_CORE_EVENT_SINK_H_
