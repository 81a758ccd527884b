#include "detector/app/live_command.h"

#include <algorithm>
#include <string>
#include <vector>

#include "detector/app/config_file.h"
#include "detector/app/options.h"
#include "detector/daemon/live.h"
#include "detector/daemon/metrics.h"
#include "detector/daemon/probe.h"

namespace tw::detector {

namespace {

ExitCode ToExitCode(LiveStatus s) {
  switch (s) {
    case LiveStatus::kStopped:
      return ExitCode::kOk;
    case LiveStatus::kFailed:
      return ExitCode::kRuntimeError;
    case LiveStatus::kBadOptions:
      return ExitCode::kUsageError;
  }
  return ExitCode::kRuntimeError;
}

// The options of the capture: interface, snap length, ring buffer, promiscuous mode, the
// second handle for server names.
Taken TakeCaptureOption(const std::vector<std::string>& args, size_t* i, LiveDaemonOptions* o) {
  const std::string& a = args[*i];
  std::string v;
  size_t n = 0;
  if (a == "-i") {
    if (*i + 1 >= args.size()) return BadOption("-i needs an interface");
    o->capture.interface = args[++*i];
  } else if (IsOption(a, "--interface")) {
    if (!TakeValue(args, i, "--interface", &o->capture.interface)) {
      return BadOption("--interface needs an interface");
    }
  } else if (IsOption(a, "--snaplen")) {
    if (!TakeValue(args, i, "--snaplen", &v) || !ParseSize(v, &n) || n < 64 || n > 65535) {
      return BadOption("--snaplen takes a number from 64 to 65535");
    }
    o->capture.snaplen = int(n);
  } else if (IsOption(a, "--buffer-size")) {
    if (!TakeValue(args, i, "--buffer-size", &v) || !ParseSize(v, &n) || n < 1 || n > 2048) {
      return BadOption("--buffer-size takes MiB from 1 to 2048");
    }
    o->capture.buffer_bytes = int(n << 20);
  } else if (a == "--promisc") {
    o->capture.promiscuous = true;
  } else if (a == "--no-service-names") {
    o->server_names = false;
  } else {
    return Taken::kNo;
  }
  return Taken::kYes;
}

// The options of what the daemon exports: metrics, their labels and auth, probes.
Taken TakeExportOption(const std::vector<std::string>& args, size_t* i, LiveDaemonOptions* o) {
  const std::string& a = args[*i];
  std::string v;
  double x = 0;
  size_t n = 0;
  if (IsOption(a, "--metrics")) {
    if (!TakeValue(args, i, "--metrics", &v)) return BadOption("--metrics needs ADDR:PORT");
    if (v == "none") {
      o->metrics_bind.clear();
    } else {
      std::string host, port;
      if (!ParseProbeTarget(v, &host, &port, &o->metrics_bind)) {
        return BadOption("--metrics takes ADDR:PORT (e.g. 127.0.0.1:10470) or 'none'");
      }
      o->metrics_bind = v;
    }
  } else if (IsOption(a, "--metrics-auth-file")) {
    if (!TakeValue(args, i, "--metrics-auth-file", &v)) {
      return BadOption("--metrics-auth-file needs a file");
    }
    // A private file only, checked like the --anonymize key.
    std::string error;
    if (!ReadMetricsAuthFile(v, &o->metrics_user, &o->metrics_password, &error))
      return BadOption(error);
  } else if (IsOption(a, "--services")) {
    if (!TakeValue(args, i, "--services", &v) || !ParseSize(v, &n) || n > 100) {
      return BadOption("--services takes a number from 0 to 100");
    }
    o->max_port_labels = n;
  } else if (IsOption(a, "--probe")) {
    ProbeSpec spec;
    std::string error;
    if (!TakeValue(args, i, "--probe", &v) || !ParseProbe(v, &spec, &error)) {
      return BadOption("--probe takes HOST:PORT, [ADDR]:PORT or dns:HOST[:PORT]");
    }
    o->probes.push_back(v);
  } else if (IsOption(a, "--probe-interval")) {
    if (!TakeNumber(args, i, "--probe-interval", 0.5, 300, &x)) {
      return BadOption("--probe-interval takes seconds from 0.5 to 300");
    }
    o->probe_interval_s = x;
    o->probe_timeout_s = std::min(2.0, x);
  } else {
    return Taken::kNo;
  }
  return Taken::kYes;
}

// The options of the files the daemon writes and of how it runs: events, the rolling report,
// the user it runs as, how long. *report_timing is set when a report option needs --report.
Taken TakeRunOption(const std::vector<std::string>& args, size_t* i, LiveDaemonOptions* o,
                    bool* report_timing) {
  const std::string& a = args[*i];
  std::string v;
  double x = 0;
  if (IsOption(a, "--events")) {
    if (!TakeValue(args, i, "--events", &o->events_path)) return BadOption("--events needs a file");
  } else if (IsOption(a, "--report")) {
    if (!TakeValue(args, i, "--report", &o->report_path)) return BadOption("--report needs a file");
  } else if (IsOption(a, "--report-every")) {
    if (!TakeNumber(args, i, "--report-every", 10, 86400, &x)) {
      return BadOption("--report-every takes seconds from 10 to 86400");
    }
    o->report_every_s = x;
    *report_timing = true;
  } else if (IsOption(a, "--report-window")) {
    if (!TakeNumber(args, i, "--report-window", 60, 604800, &x)) {
      return BadOption("--report-window takes seconds from 60 to 604800");
    }
    o->report_window_s = x;
    *report_timing = true;
  } else if (IsOption(a, "--sensor")) {
    if (!TakeValue(args, i, "--sensor", &o->sensor) || o->sensor.empty()) {
      return BadOption("--sensor needs a name");
    }
  } else if (IsOption(a, "--user")) {
    if (!TakeValue(args, i, "--user", &o->user)) return BadOption("--user needs a user name");
  } else if (IsOption(a, "--run-for")) {
    if (!TakeValue(args, i, "--run-for", &v) || !ParseDouble(v, &x) || x <= 0) {
      return BadOption("--run-for takes seconds");
    }
    o->run_for_s = x;
  } else {
    return Taken::kNo;
  }
  return Taken::kYes;
}

// What live's options make: the daemon's options, the key file to read, and whether a report
// option needs --report.
struct LiveParse {
  LiveDaemonOptions o;
  std::string key_path;
  bool report_timing = false;
};

// Consumes args[*i] when it is one of live's options.
Taken TakeLiveOption(const std::vector<std::string>& args, size_t* i, LiveParse* p) {
  const CommonOptions common{&p->o.local, &p->o.binner, &p->o.engine, &p->key_path};
  Taken t = TakeCommonOption(args, i, common);
  if (t == Taken::kNo) t = TakeCaptureOption(args, i, &p->o);
  if (t == Taken::kNo) t = TakeExportOption(args, i, &p->o);
  if (t == Taken::kNo) t = TakeRunOption(args, i, &p->o, &p->report_timing);
  return t;
}

// Applies the options of one configuration file line: exactly one option, all of its args.
bool ApplyConfigOption(const ConfigOption& c, LiveParse* p) {
  const UsageLocation location(c.where);
  size_t i = 0;
  const Taken t = TakeLiveOption(c.args, &i, p);
  if (t == Taken::kBad) return false;
  const std::string name = c.args[0].substr(c.args[0].find_first_not_of('-'));
  if (t == Taken::kNo) {
    Usage(name == "config" ? "a configuration file cannot name another"
                           : "unknown option '" + name + "'");
    return false;
  }
  if (i + 1 != c.args.size()) {
    Usage("'" + name + "' takes no value");
    return false;
  }
  return true;
}

// Applies the files named by --config in args, in order, and leaves the other args in *rest.
// False after a usage error.
bool ApplyConfigFiles(const std::vector<std::string>& args, LiveParse* p,
                      std::vector<std::string>* rest) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string path;
    if (!IsOption(args[i], "--config")) {
      rest->push_back(args[i]);
      continue;
    }
    std::vector<ConfigOption> options;
    std::string error;
    if (!TakeValue(args, &i, "--config", &path)) error = "--config needs a file";
    if (!error.empty() || !ReadConfigFile(path, &options, &error)) {
      Usage(error);
      return false;
    }
    for (const ConfigOption& c : options) {
      if (!ApplyConfigOption(c, p)) return false;
    }
  }
  return true;
}

}  // namespace

ExitCode Live(const std::vector<std::string>& all_args) {
  LiveParse p;
  std::vector<std::string> args, filter;
  if (!ApplyConfigFiles(all_args, &p, &args)) return ExitCode::kUsageError;
  LiveDaemonOptions& o = p.o;
  for (size_t i = 0; i < args.size(); ++i) {
    const Taken t = TakeLiveOption(args, &i, &p);
    if (t == Taken::kBad) return ExitCode::kUsageError;
    if (t == Taken::kYes) continue;
    const std::string& a = args[i];
    if (a.size() > 1 && a[0] == '-' && filter.empty()) return Usage("unknown option '" + a + "'");
    filter.push_back(a);
  }
  for (const std::string& f : filter) {
    if (!o.capture.bpf_filter.empty()) o.capture.bpf_filter += ' ';
    o.capture.bpf_filter += f;
  }
  if (p.report_timing && o.report_path.empty()) {
    return Usage("--report-every and --report-window need --report FILE.html");
  }
  // Read now, with the privileges the daemon was started with (the key is usually root's).
  if (!LoadKey(p.key_path, &o.addresses)) return ExitCode::kUsageError;
  return ToExitCode(RunLive(o));
}

}  // namespace tw::detector
