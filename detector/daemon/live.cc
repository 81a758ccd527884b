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

#include "capture/decode.h"
#include "capture/local_networks.h"
#include "capture/service_names.h"
#include "detector/core/event_sink.h"
#include "detector/daemon/control.h"
#include "detector/daemon/event_log.h"
#include "detector/daemon/metrics.h"
#include "detector/daemon/privileges.h"
#include "detector/daemon/probe.h"
#include "detector/daemon/service_table.h"
#include "detector/outputs/event_json.h"
#include "detector/outputs/evidence_chain.h"
#include "detector/outputs/rolling_report.h"
#include "util/private_files.h"
#include "util/utc_time.h"

namespace tw::detector {

namespace {

namespace asio = boost::asio;

// Capture thread: events leave it by message to the control thread (one post per event), with
// their addresses already anonymized when that is asked for; the rolling report, on this
// thread, gets them as they are and formats them itself.
class PostingSink final : public EventSink {
 public:
  PostingSink(asio::io_context* io, Control* control, const ServiceTable* services,
              const capture::AddressFormatter* addresses, RollingReport* report)
      : io_(io), control_(control), services_(services), addresses_(addresses), report_(report) {}
  void OnEvent(const Event& e) override {
    if (report_ != nullptr) report_->OnEvent(e);
    std::string service = e.has_flow ? services_->LabelOf(e.flow) : "all";
    asio::post(*io_, [c = control_, m = MapAddresses(e, *addresses_), s = std::move(service)] {
      c->WriteEvent(m, s);
    });
  }

 private:
  asio::io_context* io_;
  Control* control_;
  const ServiceTable* services_;
  const capture::AddressFormatter* addresses_;
  RollingReport* report_;
};

// Capture thread: sits between the Binner and the Engine, keeping the thread-owned totals the
// metrics show. Work per bin and per ended flow only.
class CaptureTap final : public capture::BinSink {
 public:
  CaptureTap(Engine* engine, ServiceTable* services, RollingReport* report)
      : engine_(engine), services_(services), report_(report) {}

  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link) override {
    for (int d = 0; d < 2; ++d) {
      snap_.bytes[d] += link.dir[d].wire_bytes;
      snap_.packets[d] += link.dir[d].packets;
    }
    for (const capture::FlowBin& f : flows) {
      services_->Add(f.info, f.dir[capture::kUp].wire_bytes, f.dir[capture::kDown].wire_bytes);
    }
    if (report_ != nullptr) report_->OnBin(start_ns, width_ns, flows, link);
    engine_->OnBin(start_ns, width_ns, flows, link);
    snap_.last_bin_end_s = double(start_ns + width_ns) * 1e-9;
    dirty_ = true;
  }
  void OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) override {
    if (totals.handshake_rtt_s >= 0) snap_.handshake_rtt.Observe(totals.handshake_rtt_s);
    if (report_ != nullptr) report_->OnFlowEnd(info, totals);
    engine_->OnFlowEnd(info, totals);
  }

  bool dirty() const { return dirty_; }
  // Completes and hands out the snapshot of this bin.
  CaptureSnapshot& TakeSnapshot() {
    dirty_ = false;
    snap_.services = services_->labelled();
    return snap_;
  }

 private:
  Engine* engine_;
  ServiceTable* services_;
  RollingReport* report_;
  CaptureSnapshot snap_;
  bool dirty_ = false;
};

struct CaptureResult {
  std::string error;
};

void CaptureLoop(const LiveDaemonOptions& o, const EngineParams& engine_params,
                 capture::PcapLiveSource* src, capture::PcapLiveSource* names_src,
                 const capture::LocalNetworks& local, asio::io_context* io, Control* control,
                 Metrics* metrics, const std::atomic<bool>* stop, CaptureResult* result) {
  std::unique_ptr<RollingReport> report;
  if (!o.report_path.empty()) {
    ReportData page;
    page.title = "throttlewatch report: " + src->interface() + ", live";
    page.version = TW_VERSION;
    page.overview.sources.push_back("live capture on " + src->interface());
    page.overview.local = local.cidrs();
    page.format_address = [a = o.addresses](const capture::Address& x) { return a.Format(x); };
    page.anonymized = o.addresses.anonymized();
    SeriesRecorderParams rp;
    rp.max_services = 20'000;  // months of distinct servers must not grow the map for ever
    report = std::make_unique<RollingReport>(o.report_window_s, std::move(page), rp);
  }
  ServiceTable services(o.max_services);
  PostingSink sink(io, control, &services, &o.addresses, report.get());
  // The main handle's 128 bytes keep most ClientHellos' names out of reach; `names_src` (when
  // open) sees them whole.
  capture::ServiceNames names;
  Engine engine(engine_params, &sink, &names);
  CaptureTap tap(&engine, &services, report.get());
  capture::Binner binner(o.binner, local, &tap);
  const int64_t lateness_ns = int64_t(o.lateness_s * 1e9);
  LiveCounters counters;
  uint64_t logged_drops = 0;
  int64_t last_drop_log_ns = 0;
  const int64_t report_every_ns = int64_t(o.report_every_s * 1e9);
  int64_t next_report_ns = util::WallClockNs() + report_every_ns;

  // Renders here (the recorder lives on this thread); the control thread writes the file.
  auto post_report = [&](int64_t now_ns) {
    report->SetChainHead(control->chain_head());
    const std::string html = report->Render(now_ns, binner.active_flows());
    if (html.empty()) return;
    asio::post(
        *io, [c = control, path = o.report_path, h = std::move(html)] { c->WriteReport(path, h); });
  };

  auto publish = [&] {
    CaptureSnapshot& s = tap.TakeSnapshot();
    capture::CaptureCounters c;
    s.have_capture_counters = src->Counters(&c);
    if (s.have_capture_counters) {
      s.capture_received = c.received;
      s.capture_dropped = c.dropped;
      s.capture_if_dropped = c.if_dropped;
      const int64_t now = util::WallClockNs();
      if (c.dropped > logged_drops && now - last_drop_log_ns > 60'000'000'000 && o.log) {
        std::fprintf(o.log,
                     "throttlewatch: capture dropped %llu packets so far (buffer full;"
                     " raise --buffer-size)\n",
                     static_cast<unsigned long long>(c.dropped));
        logged_drops = c.dropped;
        last_drop_log_ns = now;
      }
    }
    counters.capture_dropped = s.have_capture_counters ? s.capture_dropped : 0;
    counters.not_local = binner.stats().not_local;
    s.undecoded = 0;
    for (size_t i = 1; i < counters.decode.size(); ++i) s.undecoded += counters.decode[i];
    s.not_local = counters.not_local;
    s.service_names = names.learned();
    s.service_names_rejected = names.rejected();
    if (report) report->SetCounters(counters);
    s.active_flows = binner.active_flows();
    if (metrics != nullptr) metrics->Publish(s);
  };

  capture::Packet pkt;
  capture::DecodedPacket d;
  uint32_t since_clock = 0;
  while (!stop->load(std::memory_order_relaxed)) {
    const capture::SourceStatus st = src->Next(&pkt);
    if (st == capture::SourceStatus::kPacket) {
      const capture::DecodeStatus ds = capture::Decode(pkt.link_type, pkt.data, pkt.caplen, &d);
      ++counters.decode[size_t(ds)];
      if (ds == capture::DecodeStatus::kOk) {
        names.Observe(pkt.data, pkt.caplen, d, binner.OnPacket(pkt.ts_ns, pkt.wire_len, d));
      }
      if (++since_clock < 256) {
        if (tap.dirty()) publish();
        continue;
      }
    } else if (st == capture::SourceStatus::kError || st == capture::SourceStatus::kMalformed) {
      result->error = src->error();
      break;
    }
    // Idle, or every 256 packets: learn service names from the second handle (their flows
    // were created by the main one: the SYN comes first) and let the wall clock close bins
    // on a silent link.
    since_clock = 0;
    if (names_src != nullptr) {
      capture::Packet np;
      for (int n = 0; n < 1024 && names_src->Next(&np) == capture::SourceStatus::kPacket; ++n) {
        if (capture::Decode(np.link_type, np.data, np.caplen, &d) == capture::DecodeStatus::kOk) {
          names.Observe(np.data, np.caplen, d, binner.Lookup(d));
        }
      }
    }
    const int64_t now = util::WallClockNs();
    binner.AdvanceClock(now - lateness_ns);
    if (tap.dirty()) publish();
    if (report && now >= next_report_ns) {
      post_report(now);
      next_report_ns = now + report_every_ns;
    }
  }
  binner.Finish();
  publish();
  if (report) post_report(util::WallClockNs());
}

}  // namespace

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
  CaptureResult capture_result;
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
    CaptureLoop(o, engine, src.get(), names_src.get(), local, &io, &control, metrics.get(), &stop,
                &capture_result);
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
  if (!capture_result.error.empty()) {
    say(capture_result.error);
    return LiveStatus::kFailed;
  }
  say("stopped");
  return LiveStatus::kStopped;
}

}  // namespace tw::detector
