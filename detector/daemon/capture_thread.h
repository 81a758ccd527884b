#ifndef THROTTLEWATCH_DETECTOR_DAEMON_CAPTURE_THREAD_H_
#define THROTTLEWATCH_DETECTOR_DAEMON_CAPTURE_THREAD_H_

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "capture/binner.h"
#include "capture/decode.h"
#include "capture/fragment_table.h"
#include "capture/live_source.h"
#include "capture/local_networks.h"
#include "capture/server_names.h"
#include "detector/core/engine.h"
#include "detector/core/event_sink.h"
#include "detector/daemon/control.h"
#include "detector/daemon/live.h"
#include "detector/daemon/metrics.h"
#include "detector/daemon/port_labels.h"
#include "detector/outputs/rolling_report.h"
#include "detector/pipeline/flow_work.h"

namespace tw::detector {

// Capture thread: events leave it by message to the control thread (one post per event), with
// their addresses already anonymized when that is asked for; the rolling report, on this
// thread, gets them as they are and formats them itself.
class PostingSink final : public EventSink {
 public:
  // `report` may be nullptr (no rolling report). None is owned.
  PostingSink(boost::asio::io_context* io, Control* control, const PortLabels* port_labels,
              const capture::AddressFormatter* addresses, RollingReport* report)
      : io_(io),
        control_(control),
        port_labels_(port_labels),
        addresses_(addresses),
        report_(report) {}
  void OnEvent(const Event& e) override;

 private:
  boost::asio::io_context* io_;
  Control* control_;
  const PortLabels* port_labels_;
  const capture::AddressFormatter* addresses_;
  RollingReport* report_;
};

// Capture thread: sits between the Binner and the Engine, keeping the thread-owned totals the
// metrics show. Work per bin and per ended flow only.
class CaptureTap final : public capture::BinSink {
 public:
  // `report` may be nullptr (no rolling report); it sees each bin before the engine. None is
  // owned.
  CaptureTap(Engine* engine, PortLabels* port_labels, RollingReport* report)
      : engine_(engine), port_labels_(port_labels), report_(report) {}

  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link) override;
  void OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) override;

  // A bin closed since the last TakeSnapshot().
  bool dirty() const { return dirty_; }
  // Completes and hands out the snapshot of this bin.
  CaptureSnapshot& TakeSnapshot();

 private:
  Engine* engine_;
  PortLabels* port_labels_;
  RollingReport* report_;
  CaptureSnapshot snap_;
  bool dirty_ = false;
};

// The daemon's capture thread: live capture -> decode -> bins and flows -> engine, with the port
// labels, the metrics snapshot and the rolling report beside it. Construct it and call Run() on
// the thread that captures; everything it owns lives on that thread. Events and reports leave
// by posts to the control thread's io_context; snapshots by Metrics::Publish.
class CaptureThread {
 public:
  // `names_src`: the second handle for server names (kServerNameFilter), or nullptr. `metrics`
  // may be nullptr. None is owned; all outlive Run(). `stop` is set by the control thread.
  CaptureThread(const LiveDaemonOptions& o, const EngineParams& engine_params,
                capture::PcapLiveSource* src, capture::PcapLiveSource* names_src,
                const capture::LocalNetworks& local, boost::asio::io_context* io, Control* control,
                Metrics* metrics, const std::atomic<bool>* stop);
  CaptureThread(const CaptureThread&) = delete;
  CaptureThread& operator=(const CaptureThread&) = delete;

  // Captures until *stop is set or the capture fails, then closes every bin, publishes the last
  // snapshot and posts the last report. Returns the capture's error; empty when it was stopped.
  std::string Run();

 private:
  // The per-packet work: decode, bins and flows (the engine sees closed bins), server names.
  void OnPacket(const capture::Packet& pkt);
  // Idle, or every 256 packets: the names handle, the wall clock, the report timer.
  void OnTick();
  // Learns server names from what the second handle holds now (at most 1024 packets).
  void DrainNames();
  // Completes the snapshot of the bins closed since the last one and hands it to the metrics.
  void Publish();
  // Reads the capture's counters into `s`; says once a minute at most that packets were dropped.
  void ReadCaptureCounters(CaptureSnapshot* s);
  // Renders the rolling report as of now_ns (the recorder lives on this thread) and posts it to
  // the control thread, which writes the file.
  void PostReport(int64_t now_ns);

  const LiveDaemonOptions& o_;
  capture::PcapLiveSource* src_;
  capture::PcapLiveSource* names_src_;
  boost::asio::io_context* io_;
  Control* control_;
  Metrics* metrics_;
  const std::atomic<bool>* stop_;

  std::unique_ptr<RollingReport> report_;  // null without --report
  PortLabels port_labels_;
  PostingSink sink_;
  // The main handle's 128 bytes keep most ClientHellos' names out of reach; `names_src_` (when
  // open) sees them whole.
  capture::ServerNames names_;
  Engine engine_;
  CaptureTap tap_;
  FlowWork work_;  // the per-packet work (no verdicts: the daemon does not judge flows)

  const int64_t lateness_ns_;
  const int64_t report_every_ns_;
  int64_t next_report_ns_;
  LiveCounters counters_;
  uint64_t logged_drops_ = 0;
  int64_t last_drop_log_ns_ = 0;
  capture::DecodedPacket decoded_;    // of the packet in OnPacket
  capture::FragmentTable fragments_;  // later fragments to their first fragment's flow
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_DAEMON_CAPTURE_THREAD_H_
