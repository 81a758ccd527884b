#ifndef THROTTLEWATCH_DETECTOR_DAEMON_LIVE_H_
#define THROTTLEWATCH_DETECTOR_DAEMON_LIVE_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "capture/address_formatter.h"
#include "capture/binner.h"
#include "capture/live_source.h"
#include "detector/core/engine.h"

namespace tw::detector {

inline constexpr int kDefaultMetricsPort = 10470;

struct LiveDaemonOptions {
  capture::LiveOptions capture;
  std::string local;  // "CIDR[,CIDR]"; empty = the networks of the interface
  capture::BinnerParams binner;
  EngineParams engine;
  std::string events_path;  // JSON lines, appended and synced; empty = stdout (no sync)
  std::string metrics_bind = "127.0.0.1:" + std::to_string(kDefaultMetricsPort);  // "" = off
  std::string metrics_user, metrics_password;  // basic auth when user is set
  std::vector<std::string> probes;             // "host:port"
  double probe_interval_s = 2;
  double probe_timeout_s = 2;
  std::string sensor;           // this sensor's name in events and headers; "" = the host name
  std::string user;             // drop to this user after opening the capture (when root)
  size_t max_port_labels = 10;  // port labels (--services) before "other"
  double lateness_s = 0.25;     // a bin is closed this long after its end on a silent link
  double run_for_s = 0;         // stop by itself after this long (tests); 0 = until a signal
  std::FILE* log = stderr;      // diagnostics
  // Every address written (events, report, diagnostics) goes through this (--anonymize).
  capture::AddressFormatter addresses;
  // A second capture handle, filtered to TLS ClientHellos and DNS answers (kServerNameFilter)
  // with a snaplen that holds them whole, so events and metrics name services although the
  // main handle keeps 128 bytes. Their payload is parsed for the name in memory and dropped.
  bool server_names = true;
  std::string report_path;         // rolling HTML report; empty = none
  double report_every_s = 300;     // rewritten this often (wall clock) and at stop
  double report_window_s = 86400;  // covering this much of the recent capture
};

// The daemon: live capture → decode → flows/bins → detectors, on a capture thread
// (capture_thread.h); a Boost.Asio io_context on the calling thread runs the control side
// (control.h; SIGINT/SIGTERM: flush and stop; SIGHUP: reopen the event file; metrics; probes;
// writing events). Events are written and synced before they are counted in the metrics. On start,
// events left open in the event file by a previous run (stopped or crashed) are ended with reason
// "restart", and ids continue after the highest one in the file. With report_path, the capture
// thread renders the rolling report (RollingReport) every report_every_s and the control thread
// replaces the file atomically (written beside it, then renamed). With an anonymizing formatter,
// events are anonymized before they leave the capture thread, so the event file, the report and the
// restart ends read back from the file all hold the same anonymized addresses.
enum class LiveStatus {
  kStopped,     // by a signal, or after run_for_s
  kFailed,      // a runtime error: the capture lost, events that cannot be written
  kBadOptions,  // unusable options (a bad filter, --local, an unwritable path's directory)
};
LiveStatus RunLive(const LiveDaemonOptions& options);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_DAEMON_LIVE_H_
