#ifndef THROTTLEWATCH_DETECTOR_DAEMON_PORT_LABELS_H_
#define THROTTLEWATCH_DETECTOR_DAEMON_PORT_LABELS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "capture/bins.h"

namespace tw::detector {

// A flow's port label, for the metrics' `service` label: its server port (the remote port of
// flows the local side opened, else the local port) named after the protocol when well known
// ("https", "quic", "dns", ...), else "tcp/5202". Not TCP or UDP: "other".
std::string PortLabel(const capture::FlowInfo& info);

// Byte counters per port label with a bounded label set: the first `max_labels` labels whose
// traffic reaches `min_bytes` each get a label for the rest of the run; everything else is
// counted under "other". Labels are sticky so every counter stays monotonic (a label is never
// taken away and its bytes never move). Fixed memory (a counter per TCP and UDP port); no
// allocation after construction except when a label is assigned. Single-threaded: owned by
// the capture thread, which feeds it once per bin, never per packet.
class PortLabels {
 public:
  explicit PortLabels(size_t max_labels = 10, uint64_t min_bytes = 1 << 20);

  // Adds a flow's bytes of one bin (wire bytes, up and down).
  void Add(const capture::FlowInfo& info, uint64_t up_bytes, uint64_t down_bytes);

  struct Entry {
    std::string label;
    uint64_t bytes[2] = {0, 0};  // indexed by capture::Direction
  };
  // The labels given, in the order they got them, then "other" last.
  const std::vector<Entry>& entries() const { return entries_; }
  // A flow's label: its PortLabel() if that got a label, else "other".
  const std::string& LabelOf(const capture::FlowInfo& info) const;

 private:
  static size_t Index(const capture::FlowInfo& info);  // 0 = other, then tcp ports, udp ports
  size_t max_;
  uint64_t min_bytes_;
  std::vector<uint64_t> unlabelled_bytes_;  // per index, until it gets a label
  std::vector<uint16_t> slot_;              // per index: 0 = none, else entries_ position + 1
  std::vector<Entry> entries_;              // last entry is "other"
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_DAEMON_PORT_LABELS_H_
