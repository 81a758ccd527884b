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
#include <memory>
#include <thread>
#include <utility>  // before Asio (GCC 12)

#include "capture/local_networks.h"
#include "detector/daemon/capture_thread.h"
#include "detector/daemon/control.h"
#include "detector/daemon/event_log.h"
#include "detector/daemon/metrics.h"
#include "detector/daemon/privileges.h"
#include "detector/daemon/probe.h"
#include "detector/outputs/evidence_chain.h"
#include "util/private_files.h"
#include "util/utc_time.h"

namespace tw::detector {

namespace asio = boost::asio;

LiveStatus RunLive(const LiveDaemonOptions& o) {
  const double started_s = double(util::WallClockNs()) * 1e-9;
  std::FILE* diag = o.log;
  auto say = [diag](const std::string& msg) {
    if (diag != nullptr) std::fprintf(diag, "throttlewatch: %s\n", msg.c_str());
  };
  std::string error;
  capture::LocalNetworks local;
  if (!o.local.empty() && !capture::LocalNetworks::Parse(o.local, &local, &error)) {
    say(error);
    return LiveStatus::kBadOptions;
  }
  std::unique_ptr<capture::PcapLiveSource> src = capture::PcapLiveSource::Open(o.capture, &error);
  if (!src) {
    say(error);
    return LiveStatus::kFailed;
  }
  if (o.local.empty()) {
    const std::string nets = capture::InterfaceNetworks(src->interface());
    if (nets.empty() || !capture::LocalNetworks::Parse(nets, &local, &error)) {
      say(src->interface() + " has no addresses to tell the local side by: use --local CIDR");
      return LiveStatus::kBadOptions;
    }
  }

  std::unique_ptr<capture::PcapLiveSource> names_src;
  if (o.service_names) {
    capture::LiveOptions no = o.capture;
    no.interface = src->interface();
    no.snaplen = 2048;          // a ClientHello with its extensions, a DNS answer
    no.buffer_bytes = 4 << 20;  // a few such packets per connection
    no.poll_timeout_ms = 0;     // drained between the main handle's packets, never waited on
    no.bpf_filter = o.capture.bpf_filter.empty() ? std::string(capture::kServiceNameFilter)
                                                 : "(" + o.capture.bpf_filter + ") and (" +
                                                       capture::kServiceNameFilter + ")";
    std::string names_error;
    names_src = capture::PcapLiveSource::Open(no, &names_error);
    if (!names_src) say("service names from the traffic are off: " + names_error);
  }

  // The capture is open: nothing below needs privileges. Root switches to --user; a non-root
  // start (CAP_NET_RAW from systemd or a file capability) gives its capabilities up.
  if (!DropPrivileges(o.user.empty() ? "nobody" : o.user, &error)) {
    say(error);
    return LiveStatus::kFailed;
  }
  if (geteuid() == 0) say("warning: still running as root (--user root)");

  std::unique_ptr<EventLog> log;
  if (!o.events_path.empty() && o.events_path != "-") {
    if (!EventPathIsSafe(o.events_path, &error)) {
      say(error);
      return LiveStatus::kBadOptions;
    }
    log = EventLog::Open(o.events_path, &error);
    if (!log) {
      say(error);
      return LiveStatus::kFailed;
    }
  }

  if (!o.report_path.empty()) {
    // Fail now, not at the first report minutes later: the report is written beside itself.
    const std::string tmp = o.report_path + ".tmp";
    if (!EventPathIsSafe(o.report_path, &error)) {
      say("--report: " + error);
      return LiveStatus::kBadOptions;
    }
    std::FILE* f = util::OpenPrivateFile(tmp, &error);
    if (f == nullptr) {
      say("--report: " + error);
      return LiveStatus::kFailed;
    }
    std::fclose(f);
    std::remove(tmp.c_str());
  }

  std::vector<std::string> probe_labels;
  for (const std::string& p : o.probes) probe_labels.push_back(ProbeLabel(p, o.addresses));
  std::unique_ptr<Metrics> metrics =
      std::make_unique<Metrics>(std::move(probe_labels), src->interface());
  if (!o.metrics_bind.empty() &&
      !metrics->Serve(o.metrics_bind, o.metrics_user, o.metrics_password, &error)) {
    say(error);
    return LiveStatus::kFailed;
  }

  EngineParams engine = o.engine;
  const SensorIdentity sensor = ThisSensor(src->interface(), TW_VERSION, started_s);
  if (log) {
    const EventLogRecovery& r = log->recovery();
    engine.first_event_id = r.last_id + 1;
    if (r.cut_partial_line) say(o.events_path + ": cut a torn last line left by a crash");
    if (!r.chain_error.empty()) {
      say("warning: " + o.events_path + ": the evidence chain is broken at " + r.chain_error +
          "; the file was changed by something other than throttlewatch (new lines continue "
          "its last line; 'throttlewatch verify' shows the break)");
    }
    const double now_s = double(util::WallClockNs()) * 1e-9;
    // Who writes from here on: a start header, chained to the file's last line.
    if (!log->AppendRecord(LiveHeader(sensor, "start", log->head(), now_s), &error)) {
      say(error);
      return LiveStatus::kFailed;
    }
    for (const Event& start : r.open) {
      const Event end = RestartEnd(start, now_s);
      if (!log->Append(end, &error)) {
        say(error);
        return LiveStatus::kFailed;
      }
      metrics->OnEventWritten(end, "all");
      say("closed " + std::string(KindName(start.kind)) + " " + std::to_string(start.id) +
          " left open by the previous run (reason \"restart\")");
    }
  }

  std::string local_text;
  for (const capture::Cidr& c : local.cidrs()) {
    local_text += (local_text.empty() ? "" : ",") + o.addresses.Format(c);
  }
  say("live on " + src->interface() + " (local " + local_text + ", snaplen " +
      std::to_string(o.capture.snaplen) + (names_src ? " (service names: 2048)" : "") +
      ", buffer " + std::to_string(o.capture.buffer_bytes >> 20) + " MiB" +
      (o.capture.promiscuous ? ", promiscuous" : "") + "); events -> " +
      (log ? o.events_path : std::string("stdout")) +
      (o.report_path.empty() ? std::string("")
                             : "; report -> " + o.report_path + " every " +
                                   std::to_string(int64_t(o.report_every_s)) + " s") +
      (o.addresses.anonymized() ? "; addresses anonymized" : "") +
      (metrics->port() > 0 ? "; metrics on " + o.metrics_bind.substr(0, o.metrics_bind.rfind(':')) +
                                 ":" + std::to_string(metrics->port()) + "/metrics"
                           : std::string("")));

  asio::io_context io;
  auto work = asio::make_work_guard(io);
  Control control(log.get(), metrics.get(), diag, sensor);
  std::atomic<bool> stop{false};
  std::string capture_error;
  bool stopping = false;

  Prober prober(io, o.probes, std::chrono::milliseconds(int64_t(o.probe_interval_s * 1000)),
                std::chrono::milliseconds(int64_t(o.probe_timeout_s * 1000)),
                [m = metrics.get()](size_t t, bool ok, double rtt) { m->OnProbe(t, ok, rtt); });
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  asio::steady_timer run_for(io);

  auto begin_stop = [&](const char* why) {
    if (stopping) return;
    stopping = true;
    say(std::string("stopping (") + why + "): flushing bins and events");
    stop.store(true, std::memory_order_relaxed);
    src->Stop();
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
  if (o.run_for_s > 0) {
    run_for.expires_after(std::chrono::milliseconds(int64_t(o.run_for_s * 1000)));
    run_for.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) begin_stop("--run-for elapsed");
    });
  }
  if (!o.probes.empty()) prober.Start();

  std::thread capture_thread([&] {
    capture_error = CaptureThread(o, engine, src.get(), names_src.get(), local, &io, &control,
                                  metrics.get(), &stop)
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
    say(capture_error);
    return LiveStatus::kFailed;
  }
  say("stopped");
  return LiveStatus::kStopped;
}

}  // namespace tw::detector
