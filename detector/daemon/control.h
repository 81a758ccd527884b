#ifndef THROTTLEWATCH_DETECTOR_DAEMON_CONTROL_H_
#define THROTTLEWATCH_DETECTOR_DAEMON_CONTROL_H_

#include <cstdio>
#include <mutex>
#include <string>

#include "detector/core/event.h"
#include "detector/daemon/event_log.h"
#include "detector/daemon/metrics.h"
#include "detector/outputs/event_json.h"
#include "detector/outputs/event_stream.h"
#include "detector/outputs/evidence_chain.h"

namespace tw::detector {

// The daemon's control side, on the io_context thread: owns the event file (or the events on
// stdout) and writes each event before counting it in the metrics, so a counted event is on
// disk. Replaces the rolling report file that the capture thread renders, and reopens the event
// file on SIGHUP. Keeps a copy of the event chain's head for the rolling report.
//
// Every method runs on the control thread, except chain_head(), which any thread may call.
class Control {
 public:
  // `log`: the open event file, whose start header is written already; nullptr = events as JSON
  // lines on stdout, which then start here with a "start" header of `sensor`. `metrics` and
  // `diag` (diagnostics) may be nullptr. Nothing is owned; all outlive this.
  Control(EventLog* log, Metrics* metrics, std::FILE* diag, SensorIdentity sensor);
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Appends `e` (to the file: written and synced) and then counts it under `service` (the flow's
  // port label, or "all" for link-wide events). If it cannot be written, the failure is counted
  // and said on diag, and the event is lost.
  void WriteEvent(const Event& e, const std::string& service);

  // The chain value of the last line written.
  std::string chain_head() const;

  // Replaces `path` with `html`: written to a private file beside it (`path` + ".tmp"), synced,
  // then renamed over it, so a reader (or a crash) never sees half a report. A failure is said
  // on diag once per streak of failures, and so is the first success after it.
  void WriteReport(const std::string& path, const std::string& html);

  // SIGHUP: closes and reopens the event file's path (log rotation) and writes a "reopen" header
  // naming the chain's head, so one chain runs across both files. Says on diag what happened.
  // Nothing to do for events on stdout.
  void Reopen();

 private:
  void SetHead();

  EventLog* log_;
  Metrics* metrics_;
  std::FILE* diag_;
  SensorIdentity sensor_;
  EventOrigin origin_;  // of sensor_: every event line names it
  JsonLinesWriter stdout_writer_;
  bool report_failed_ = false;
  mutable std::mutex head_mu_;
  std::string head_;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_DAEMON_CONTROL_H_
