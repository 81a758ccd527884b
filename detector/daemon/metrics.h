#ifndef THROTTLEWATCH_DETECTOR_DAEMON_METRICS_H_
#define THROTTLEWATCH_DETECTOR_DAEMON_METRICS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "detector/core/event.h"
#include "detector/daemon/port_labels.h"

namespace tw::detector {

// A fixed-bucket histogram of durations in seconds (Prometheus' cumulative buckets are made at
// scrape time). Plain counters: owned by one thread, copied across under a lock.
struct RttHistogram {
  static constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    2.5,   5};
  std::array<uint64_t, kBounds.size() + 1> counts{};  // last: above every bound
  double sum = 0;
  uint64_t count = 0;
  void Observe(double seconds);
};

// What the capture thread publishes at each bin close: its own counters, copied. Totals since
// the daemon started.
struct CaptureSnapshot {
  uint64_t bytes[2] = {0, 0};  // wire bytes by capture::Direction (up = transmit)
  uint64_t packets[2] = {0, 0};
  bool have_capture_counters = false;
  uint64_t capture_received = 0, capture_dropped = 0, capture_if_dropped = 0;
  uint64_t undecoded = 0;              // packets the decoder could not analyse
  uint64_t not_local = 0;              // packets without a local endpoint
  uint64_t server_names_learned = 0;   // names learned from ClientHellos and DNS answers
  uint64_t server_names_rejected = 0;  // names dropped: not host names
  uint64_t active_flows = 0;
  double last_bin_end_s = 0;  // epoch seconds: end of the last closed bin
  std::vector<PortLabels::Entry> port_labels;
  RttHistogram handshake_rtt;  // TCP handshakes of flows that ended
};

// Reads the --metrics-auth-file: one line USER:PASSWORD (what follows the first line is ignored).
// The file holds a secret, so it is checked like the --anonymize key (util::ReadSecretFile):
// a regular file that only its owner may read or write (mode 0600 or 0400), at most 4 KiB.
// False with *error naming the file and what is wrong (too open, missing, no "USER:" part).
[[nodiscard]] bool ReadMetricsAuthFile(const std::string& path, std::string* user,
                                       std::string* password, std::string* error);

// The daemon's Prometheus metrics (prometheus-cpp stays inside metrics.cc), and the process_*
// metrics every exporter has (process_stats.h). Nothing here is touched per packet: the capture
// thread publishes a snapshot per bin, the control thread reports events and probes, and the
// HTTP thread (metrics_server.h) renders everything at scrape time. All
// methods are thread-safe (one mutex, taken a few times per second).
class Metrics {
 public:
  // `probe_targets` fixes the label values of the probe metrics; `interface` goes into
  // throttlewatch_build_info.
  Metrics(std::vector<std::string> probe_targets, std::string interface);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves /metrics on `bind` ("ADDR:PORT"; port 0 picks a free one), with HTTP basic auth when
  // `user` is not empty, and nothing but these metrics. False (*error says why) when it cannot
  // listen.
  [[nodiscard]] bool Serve(const std::string& bind, const std::string& user,
                           const std::string& password, std::string* error);
  // The port listened on (after Serve), else 0.
  int port() const;

  void Publish(const CaptureSnapshot& s);
  // An event that is now on disk: counts it and updates the state of its kind (open throttles,
  // the outage, blocked services by method). `service` is the flow's service label
  // (PortLabels::LabelOf), or "all" for link-wide events; blocks are counted by method only.
  void OnEventWritten(const Event& e, const std::string& service);
  void OnEventWriteFailed();
  void OnProbe(size_t target, bool ok, double rtt_s);

  // The text exposition format (what a scrape returns).
  std::string Render() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_DAEMON_METRICS_H_
