#include "detector/daemon/live.h"

#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>  // before Asio (GCC 12)
#include <vector>

#include "capture/local_networks.h"
#include "detector/daemon/capture_thread.h"
#include "detector/daemon/control.h"
#include "detector/daemon/event_log.h"
#include "detector/daemon/metrics.h"
#include "detector/daemon/privileges.h"
#include "detector/daemon/probe.h"
#include "detector/outputs/event_json.h"
#include "detector/outputs/evidence_chain.h"
#include "util/private_files.h"
#include "util/utc_time.h"

namespace tw::detector {

namespace {

namespace asio = boost::asio;

// One run of the daemon, step by step: what each step opens is kept here for the steps after
// it, and closed in the reverse order when the run returns. A step that cannot go on says why
// on the diagnostics, keeps the status RunLive returns and returns false.
class LiveDaemon {
 public:
  explicit LiveDaemon(const LiveDaemonOptions& o)
      : o_(o), started_s_(double(util::WallClockNs()) * 1e-9), engine_(o.engine) {}

  LiveStatus Run() {
    if (!OpenCaptures() || !GiveUpPrivileges() || !OpenEventFile() || !CheckReportPath() ||
        !StartMetrics()) {
      return failure_;
    }
    sensor_ = ThisSensor(o_.sensor, src_->interface(), TW_VERSION, started_s_);
    origin_ = {sensor_.name, sensor_.interface};
    if (!ResumeEventFile()) return failure_;
    Say(StartupLine());
    return RunControlLoop();
  }

 private:
  void Say(const std::string& msg) const {
    if (o_.log != nullptr) std::fprintf(o_.log, "throttlewatch: %s\n", msg.c_str());
  }
  bool Fail(LiveStatus status, const std::string& msg) {
    Say(msg);
    failure_ = status;
    return false;
  }

  bool OpenCaptures();
  void OpenNamesCapture();
  bool GiveUpPrivileges();
  bool OpenEventFile();
  bool CheckReportPath();
  bool StartMetrics();
  bool ResumeEventFile();
  std::string StartupLine() const;
  LiveStatus RunControlLoop();

  const LiveDaemonOptions& o_;
  const double started_s_;
  LiveStatus failure_ = LiveStatus::kFailed;
  capture::LocalNetworks local_;
  std::unique_ptr<capture::PcapLiveSource> src_;
  std::unique_ptr<capture::PcapLiveSource> names_src_;  // null: no service names from traffic
  std::unique_ptr<EventLog> log_;                       // null: events on stdout
  std::unique_ptr<Metrics> metrics_;
  EngineParams engine_;  // o.engine, with ids continuing those of the event file
  SensorIdentity sensor_;
  EventOrigin origin_;  // of sensor_: the restart ends name it
};

// The local networks (--local, else the interface's own), the main capture handle and the one
// for server names.
bool LiveDaemon::OpenCaptures() {
  std::string error;
  if (!o_.local.empty() && !capture::LocalNetworks::Parse(o_.local, &local_, &error)) {
    return Fail(LiveStatus::kBadOptions, error);
  }
  src_ = capture::PcapLiveSource::Open(o_.capture, &error);
  if (!src_) return Fail(LiveStatus::kFailed, error);
  if (o_.local.empty()) {
    const std::string nets = capture::InterfaceNetworks(src_->interface());
    if (nets.empty() || !capture::LocalNetworks::Parse(nets, &local_, &error)) {
      return Fail(
          LiveStatus::kBadOptions,
          src_->interface() + " has no addresses to tell the local side by: use --local CIDR");
    }
  }
  if (o_.server_names) OpenNamesCapture();
  return true;
}

// The second handle (LiveDaemonOptions::server_names); without it the daemon runs on.
void LiveDaemon::OpenNamesCapture() {
  capture::LiveOptions no = o_.capture;
  no.interface = src_->interface();
  no.snaplen = 2048;          // a ClientHello with its extensions, a DNS answer
  no.buffer_bytes = 4 << 20;  // a few such packets per connection
  no.poll_timeout_ms = 0;     // drained between the main handle's packets, never waited on
  no.bpf_filter = o_.capture.bpf_filter.empty()
                      ? std::string(capture::kServerNameFilter)
                      : "(" + o_.capture.bpf_filter + ") and (" + capture::kServerNameFilter + ")";
  std::string names_error;
  names_src_ = capture::PcapLiveSource::Open(no, &names_error);
  if (!names_src_) Say("service names from the traffic are off: " + names_error);
}

// The capture is open: nothing after it needs privileges. Root switches to --user; a non-root
// start (CAP_NET_RAW from systemd or a file capability) gives its capabilities up.
bool LiveDaemon::GiveUpPrivileges() {
  std::string error;
  if (!DropPrivileges(o_.user.empty() ? "nobody" : o_.user, &error)) {
    return Fail(LiveStatus::kFailed, error);
  }
  if (geteuid() == 0) Say("warning: still running as root (--user root)");
  return true;
}

// --events FILE, as the user the daemon now runs as; "-" or none: stdout.
bool LiveDaemon::OpenEventFile() {
  if (o_.events_path.empty() || o_.events_path == "-") return true;
  std::string error;
  if (!EventPathIsSafe(o_.events_path, &error)) return Fail(LiveStatus::kBadOptions, error);
  log_ = EventLog::Open(o_.events_path, &error);
  if (!log_) return Fail(LiveStatus::kFailed, error);
  return true;
}

// Fails now, not at the first report minutes later: the report is written beside itself.
bool LiveDaemon::CheckReportPath() {
  if (o_.report_path.empty()) return true;
  std::string error;
  const std::string tmp = o_.report_path + ".tmp";
  if (!EventPathIsSafe(o_.report_path, &error)) {
    return Fail(LiveStatus::kBadOptions, "--report: " + error);
  }
  std::FILE* f = util::OpenPrivateFile(tmp, &error);
  if (f == nullptr) return Fail(LiveStatus::kFailed, "--report: " + error);
  std::fclose(f);
  std::remove(tmp.c_str());
  return true;
}

// The metrics, served on --metrics unless that is off.
bool LiveDaemon::StartMetrics() {
  std::vector<std::string> probe_labels;
  for (const std::string& p : o_.probes) probe_labels.push_back(ProbeLabel(p, o_.addresses));
  metrics_ = std::make_unique<Metrics>(std::move(probe_labels), src_->interface());
  std::string error;
  if (!o_.metrics_bind.empty() &&
      !metrics_->Serve(o_.metrics_bind, o_.metrics_user, o_.metrics_password, &error)) {
    return Fail(LiveStatus::kFailed, error);
  }
  return true;
}

// Goes on where the event file ends: ids after its highest, a start header chained to its last
// line, and an end (reason "restart") for each event the previous run left open.
bool LiveDaemon::ResumeEventFile() {
  if (!log_) return true;
  std::string error;
  const EventLogRecovery& r = log_->recovery();
  engine_.first_event_id = r.last_id + 1;
  if (r.cut_partial_line) Say(o_.events_path + ": cut a torn last line left by a crash");
  if (!r.chain_error.empty()) {
    Say("warning: " + o_.events_path + ": the evidence chain is broken at " + r.chain_error +
        "; the file was changed by something other than throttlewatch (new lines continue "
        "its last line; 'throttlewatch verify' shows the break)");
  }
  const double now_s = double(util::WallClockNs()) * 1e-9;
  // Who writes from here on: a start header, chained to the file's last line.
  if (!log_->AppendRecord(LiveHeader(sensor_, "start", log_->head(), now_s), &error)) {
    return Fail(LiveStatus::kFailed, error);
  }
  for (const Event& start : r.open) {
    const Event end = RestartEnd(start, now_s);
    if (!log_->Append(end, &error, &origin_)) return Fail(LiveStatus::kFailed, error);
    metrics_->OnEventWritten(end, "all");
    Say("closed " + std::string(KindName(start.kind)) + " " + std::to_string(start.id) +
        " left open by the previous run (reason \"restart\")");
  }
  return true;
}

// "live on IFACE (local ..., snaplen ...); events -> ...": what runs, said once at the start.
std::string LiveDaemon::StartupLine() const {
  std::string local_text;
  for (const capture::Cidr& c : local_.cidrs()) {
    local_text += (local_text.empty() ? "" : ",") + o_.addresses.Format(c);
  }
  return "live on " + src_->interface() + " (local " + local_text + ", snaplen " +
         std::to_string(o_.capture.snaplen) + (names_src_ ? " (service names: 2048)" : "") +
         ", buffer " + std::to_string(o_.capture.buffer_bytes >> 20) + " MiB" +
         (o_.capture.promiscuous ? ", promiscuous" : "") + "); events -> " +
         (log_ ? o_.events_path : std::string("stdout")) +
         (o_.report_path.empty() ? std::string("")
                                 : "; report -> " + o_.report_path + " every " +
                                       std::to_string(int64_t(o_.report_every_s)) + " s") +
         (o_.addresses.anonymized() ? "; addresses anonymized" : "") +
         (metrics_->port() > 0
              ? "; metrics on " + o_.metrics_bind.substr(0, o_.metrics_bind.rfind(':')) + ":" +
                    std::to_string(metrics_->port()) + "/metrics"
              : std::string(""));
}

// The control thread (this one) runs the io_context: signals, --run-for, probes, and what the
// capture thread posts. Returns when the capture thread has ended and all it posted has run.
LiveStatus LiveDaemon::RunControlLoop() {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  Control control(log_.get(), metrics_.get(), o_.log, sensor_);
  std::atomic<bool> stop{false};
  std::string capture_error;
  bool stopping = false;

  Prober prober(io, o_.probes, std::chrono::milliseconds(int64_t(o_.probe_interval_s * 1000)),
                std::chrono::milliseconds(int64_t(o_.probe_timeout_s * 1000)),
                [m = metrics_.get()](size_t t, bool ok, double rtt) { m->OnProbe(t, ok, rtt); });
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  asio::steady_timer run_for(io);

  auto begin_stop = [&](const char* why) {
    if (stopping) return;
    stopping = true;
    Say(std::string("stopping (") + why + "): flushing bins and events");
    stop.store(true, std::memory_order_relaxed);
    src_->Stop();
    prober.Stop();
    run_for.cancel();
  };
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
          control.Reopen();
        } else {
          begin_stop(signo == SIGINT ? "SIGINT" : "SIGTERM");
        }
        if (!stopping || signo == SIGHUP) signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  if (o_.run_for_s > 0) {
    run_for.expires_after(std::chrono::milliseconds(int64_t(o_.run_for_s * 1000)));
    run_for.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) begin_stop("--run-for elapsed");
    });
  }
  if (!o_.probes.empty()) prober.Start();

  std::thread capture_thread([&] {
    capture_error = CaptureThread(o_, engine_, src_.get(), names_src_.get(), local_, &io, &control,
                                  metrics_.get(), &stop)
                        .Run();
    // Runs after every event the capture thread posted.
    asio::post(io, [&] {
      if (!stopping) begin_stop("capture ended");
      boost::system::error_code ignored;
      signals.cancel(ignored);
      work.reset();
    });
  });
  io.run();
  capture_thread.join();
  if (!capture_error.empty()) {
    Say(capture_error);
    return LiveStatus::kFailed;
  }
  Say("stopped");
  return LiveStatus::kStopped;
}

}  // namespace

LiveStatus RunLive(const LiveDaemonOptions& o) { return LiveDaemon(o).Run(); }

}  // namespace tw::detector
