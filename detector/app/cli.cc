#include "detector/app/cli.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "capture/anonymizer.h"
#include "detector/app/exit_code.h"
#include "detector/app/replay_summary.h"
#include "detector/app/verify_command.h"
#include "detector/daemon/live.h"
#include "detector/daemon/metrics.h"
#include "detector/daemon/probe.h"
#include "detector/outputs/event_stream.h"
#include "detector/outputs/evidence_chain.h"
#include "detector/outputs/flow_verdict_json.h"
#include "detector/outputs/json.h"
#include "detector/outputs/report.h"
#include "detector/outputs/series_recorder.h"
#include "detector/pipeline/replay.h"
#include "stats/segmentation.h"
#include "stats/series_reader.h"
#include "util/private_files.h"

#ifndef TW_VERSION
#define TW_VERSION "dev"
#endif
#ifndef TW_DEMO_PCAP
#define TW_DEMO_PCAP ""
#endif

namespace tw::detector {

namespace {

ExitCode ToExitCode(ReplayStatus s) {
  switch (s) {
    case ReplayStatus::kOk:
      return ExitCode::kOk;
    case ReplayStatus::kFailed:
      return ExitCode::kRuntimeError;
    case ReplayStatus::kBadOptions:
      return ExitCode::kUsageError;
    case ReplayStatus::kBrokenInput:
      return ExitCode::kBrokenInput;
  }
  return ExitCode::kRuntimeError;
}

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

const char kUsage[] =
    "usage: throttlewatch [COMMAND] [OPTIONS]\n"
    "\n"
    "Detects targeted bandwidth throttling and outages from packets.\n"
    "\n"
    "commands:\n"
    "  replay [options] FILE... [BPF filter]   analyse pcap/pcapng captures\n"
    "  live [options] [BPF filter]             watch an interface (the daemon)\n"
    "  changepoints [options] FILE             change points of a numeric series (JSON array)\n"
    "  verify [--head HEX] EVENTS...           check the hash chain of event files (several:\n"
    "                                          a rotated series, oldest first); --head: a\n"
    "                                          head published earlier must be in it\n"
    "  demo                                    replay the bundled demo capture (the default)\n"
    "  help, --help                            this text\n"
    "  version, --version                      print the version\n"
    "\n"
    "replay options:\n"
    "  -r FILE             a capture file (may repeat; bare FILE arguments work too)\n"
    "  --events FILE       write events (JSON lines) to FILE instead of stdout\n"
    "  --report FILE.html  write a self-contained HTML report (charts, event table)\n"
    "  --series FILE.csv   write the binned series (link, flagged flows, services) as CSV\n"
    "  --flows FILE        write one JSON line per TCP flow with its verdict (policed, shaped, "
    "...)\n"
    "  --local CIDR[,...]  the local side of the link (default: inferred and printed)\n"
    "  --bin SECONDS       bin width, 0.1 to 60 (default 1)\n"
    "  --max-flows N       flow table cap (default 65536; ~0.7 KB per flow, up to ~4 KB\n"
    "                      for flows carrying data)\n"
    "  --idle-timeout S    end flows idle for S seconds (default 60)\n"
    "  --threads N         analyse flows on N worker threads (default: one per core, at\n"
    "                      most 8); the results are the same for any N\n"
    "  --min-drop F        smallest relative rate drop reported, 0.1 to 0.95 (default 0.5)\n"
    "  --anonymize KEYFILE write every address prefix-preserving anonymized (Crypto-PAn);\n"
    "                      KEYFILE: 32 private bytes, e.g.\n"
    "                      (umask 077; head -c 32 /dev/urandom > KEYFILE)\n"
    "  -q, --quiet         no summary and no progress on stderr\n"
    "\n"
    "live options (also --bin, --local, --max-flows, --idle-timeout, --min-drop, --anonymize:\n"
    "the events, the report and the log are anonymized; the key is read before the\n"
    "daemon drops privileges):\n"
    "  -i IFACE            interface to watch (default: the one of the default route)\n"
    "  --events FILE       append events (JSON lines, synced) to FILE (default: stdout)\n"
    "  --metrics ADDR:PORT Prometheus endpoint (default 127.0.0.1:10470; 'none' = off)\n"
    "  --metrics-auth-file FILE  require HTTP basic auth; FILE holds one line USER:PASSWORD\n"
    "  --probe HOST:PORT   TCP connect probe every --probe-interval seconds (repeatable)\n"
    "  --probe dns:HOST[:PORT]  DNS query probe (\". NS\" over UDP, port 53 by default)\n"
    "  --probe-interval S  seconds between probes, 0.5 to 300 (default 2)\n"
    "  --user USER         user to run as after opening the capture (default nobody)\n"
    "  --snaplen N         bytes kept per packet, 64 to 65535 (default 128)\n"
    "  --buffer-size MIB   kernel capture ring, 1 to 2048 MiB (default 32)\n"
    "  --promisc           promiscuous mode (default off)\n"
    "  --no-service-names  no second capture of TLS ClientHellos and DNS answers (whole, for\n"
    "                      the names of services; their payload is never kept)\n"
    "  --services N        service labels in the metrics before 'other' (default 10)\n"
    "  --report FILE.html  keep a rolling HTML report of the recent capture in FILE\n"
    "  --report-every S    rewrite it every S seconds, 10 to 86400 (default 300), and at stop\n"
    "  --report-window S   seconds of capture it covers, 60 to 604800 (default 86400)\n"
    "  --run-for S         stop after S seconds (default: until SIGINT/SIGTERM)\n"
    "\n"
    "changepoints options:\n"
    "  --column C          CSV column (0-based index or header name)\n"
    "  --penalty P         penalty per change in noise variances (default: MBIC)\n"
    "  --min-segment N     shortest segment in samples (default 2)\n"
    "  --log               segment log(x + 1) instead of x (rates, counts)\n"
    "\n"
    "exit status: 0 ok, 1 runtime error (unreadable input, failed write), 2 usage error,\n"
    "             3 broken capture file (the message names the file and byte offset;\n"
    "             events found before the damage are written) or a file that is not a\n"
    "             series (changepoints),\n"
    "             4 verify: the chain is broken (a line edited, deleted, reordered or cut,\n"
    "             or the published head missing; the message names the line)\n";

ExitCode Usage(const std::string& msg) {
  std::fprintf(stderr, "throttlewatch: %s\n(see 'throttlewatch --help')\n", msg.c_str());
  return ExitCode::kUsageError;
}

bool ParseDouble(std::string_view s, double* out) {
  const std::string str(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(str.c_str(), &end);
  if (str.empty() || end != str.c_str() + str.size() || errno != 0 || !std::isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

bool ParseSize(std::string_view s, size_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Pulls the value of an option: "--opt VALUE" or "--opt=VALUE".
bool TakeValue(const std::vector<std::string>& args, size_t* i, std::string_view name,
               std::string* value) {
  const std::string& a = args[*i];
  if (a == name) {
    if (*i + 1 >= args.size()) return false;
    *value = args[++*i];
    return true;
  }
  if (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=') {
    *value = a.substr(name.size() + 1);
    return true;
  }
  return false;
}

bool IsOption(const std::string& a, std::string_view name) {
  return a == name ||
         (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=');
}

// Pulls a number option within [lo, hi]. False when it is missing or out of range.
bool TakeNumber(const std::vector<std::string>& args, size_t* i, std::string_view name, double lo,
                double hi, double* out) {
  std::string v;
  double x = 0;
  if (!TakeValue(args, i, name, &v) || !ParseDouble(v, &x) || x < lo || x > hi) return false;
  *out = x;
  return true;
}

// What replay and live both take: the local side, binning, the drop size, anonymization.
struct CommonOptions {
  std::string* local;
  capture::BinnerParams* binner;
  EngineParams* engine;
  std::string* key_path;
};
enum class Taken { kNo, kYes, kBad };

// Consumes args[*i] when it is one of the common options (kYes); kBad after printing its usage
// error; kNo when it is something else.
Taken TakeCommonOption(const std::vector<std::string>& args, size_t* i, const CommonOptions& c) {
  const std::string& a = args[*i];
  std::string v;
  double x = 0;
  const auto bad = [](const std::string& msg) {
    Usage(msg);
    return Taken::kBad;
  };
  if (IsOption(a, "--local")) {
    if (!TakeValue(args, i, "--local", c.local)) return bad("--local needs CIDR[,CIDR]");
  } else if (IsOption(a, "--bin")) {
    if (!TakeNumber(args, i, "--bin", 0.1, 60, &x)) {
      return bad("--bin takes seconds from 0.1 to 60");
    }
    c.binner->bin_ns = int64_t(std::llround(x * 1e9));
  } else if (IsOption(a, "--max-flows")) {
    size_t n = 0;
    if (!TakeValue(args, i, "--max-flows", &v) || !ParseSize(v, &n) || n < 16 || n > 100'000'000) {
      return bad("--max-flows takes a number from 16 to 100000000");
    }
    c.binner->max_flows = n;
  } else if (IsOption(a, "--idle-timeout")) {
    if (!TakeNumber(args, i, "--idle-timeout", 1, 86400, &x)) {
      return bad("--idle-timeout takes seconds from 1 to 86400");
    }
    c.binner->idle_timeout_ns = int64_t(x * 1e9);
  } else if (IsOption(a, "--min-drop")) {
    if (!TakeNumber(args, i, "--min-drop", 0.1, 0.95, &x)) {
      return bad("--min-drop takes a fraction from 0.1 to 0.95");
    }
    c.engine->throttle.drop.min_drop = x;
  } else if (IsOption(a, "--anonymize")) {
    if (!TakeValue(args, i, "--anonymize", c.key_path)) {
      return bad("--anonymize needs a key file");
    }
  } else {
    return Taken::kNo;
  }
  return Taken::kYes;
}

// Reads the --anonymize key into `addresses` (nothing without a key). False after a usage error.
bool LoadKey(const std::string& key_path, capture::AddressFormatter* addresses) {
  if (key_path.empty()) return true;
  std::string error;
  std::shared_ptr<const capture::Anonymizer> anon =
      capture::Anonymizer::FromKeyFile(key_path, &error);
  if (anon == nullptr) {
    Usage(error);
    return false;
  }
  *addresses = capture::AddressFormatter(std::move(anon));
  return true;
}

// A replay argument that is a capture file rather than a word of the filter: "-" (standard
// input), a path that exists (a directory too, to say so), or a name a capture file has.
bool NamesFile(const std::string& a) {
  std::error_code ec;
  if (a == "-" ||
      std::filesystem::symlink_status(a, ec).type() != std::filesystem::file_type::not_found) {
    return true;
  }
  const std::string_view name(a);
  for (std::string_view ext : {".gz", ".xz", ".zst", ".bz2"}) {
    if (name.ends_with(ext)) return true;
  }
  for (std::string_view ext : {".pcap", ".pcapng", ".cap", ".dmp", ".erf"}) {
    if (name.ends_with(ext)) return true;
  }
  return false;
}

std::string DemoPath() {
  if (const char* env = std::getenv("THROTTLEWATCH_DEMO"); env != nullptr && *env != '\0') {
    return env;
  }
  // Installed layout: <prefix>/bin/throttlewatch and <prefix>/share/throttlewatch/demo.pcap.
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path().parent_path() / "share/throttlewatch/demo.pcap";
    if (std::filesystem::exists(installed, ec)) return installed.string();
  }
  return TW_DEMO_PCAP;
}

// Writes `path` through `write`, reporting size and time on stderr unless quiet.
template <typename F>
bool WriteFile(const std::string& path, const char* what, bool quiet, F write) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string error;
  if (!util::WritePrivateFile(path, write, &error)) {  // 0600 whatever the umask
    std::fprintf(stderr, "throttlewatch: cannot write %s %s\n", what, error.c_str());
    return false;
  }
  if (!quiet) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "throttlewatch: %s written to %s (%s, %.2f s)\n", what, path.c_str(),
                 HumanBytes(double(ec ? 0 : size)).c_str(), secs);
  }
  return true;
}

// One JSON line per flow verdict (the --flows file); false when they could not all be written.
bool WriteFlowLines(const std::vector<FlowVerdict>& verdicts,
                    const capture::AddressFormatter& addresses, std::FILE* out) {
  bool ok = true;
  for (const FlowVerdict& v : verdicts) {
    const std::string line = FlowVerdictToJson(v, addresses) + "\n";
    ok &= std::fwrite(line.data(), 1, line.size(), out) == line.size();
  }
  return std::fflush(out) == 0 && ok;
}

bool WriteOutputs(const ReplayOptions& o, const ReplayResult& r, const SeriesRecorder& rec,
                  const std::vector<InputDigest>& inputs, const std::string& chain_head,
                  const std::string& report_path, const std::string& series_path, bool quiet) {
  bool ok = true;
  if (!report_path.empty()) {
    ReportData data;
    data.version = TW_VERSION;
    for (const std::string& f : o.files) {
      data.overview.sources.push_back(std::filesystem::path(f).filename().string());
    }
    for (const InputDigest& d : inputs) data.overview.source_sha256.push_back(d.sha256);
    data.overview.chain_head = chain_head;
    data.overview.first_ns = r.first_ns;
    data.overview.last_ns = r.last_ns;
    data.overview.packets = r.packets;
    data.overview.bytes = r.bytes;
    data.overview.flows = r.binner.flows_created;
    data.overview.local = r.local_cidrs;
    data.overview.local_inferred = r.local_inferred;
    data.overview.decode = r.decode;
    data.overview.not_local = r.binner.not_local;
    data.series = &rec;
    data.events = r.events;
    data.format_address = [&o](const capture::Address& a) { return o.addresses.Format(a); };
    data.anonymized = o.addresses.anonymized();
    ok &= WriteFile(report_path, "report", quiet,
                    [&data](std::ostream& f) { return WriteReport(data, f); });
  }
  if (!series_path.empty()) {
    ok &= WriteFile(series_path, "series", quiet, [&rec, &o](std::ostream& f) {
      return WriteSeriesCsv(
          rec, [&o](const capture::Address& a) { return o.addresses.Format(a); }, f);
    });
  }
  return ok;
}

ExitCode Replay(const std::vector<std::string>& args, bool demo) {
  ReplayOptions o;
  o.log = stderr;
  // One worker per core (the results do not depend on it), at most 8: one reader feeds them.
  o.threads = int(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  std::string events_path, report_path, series_path, flows_path, key_path;
  std::vector<std::string> positional;
  bool quiet = false;
  const CommonOptions common{&o.local, &o.binner, &o.engine, &key_path};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (const Taken t = TakeCommonOption(args, &i, common); t != Taken::kNo) {
      if (t == Taken::kBad) return ExitCode::kUsageError;
      continue;
    }
    if (IsOption(a, "--events")) {
      if (!TakeValue(args, &i, "--events", &events_path)) return Usage("--events needs a file");
    } else if (IsOption(a, "--report")) {
      if (!TakeValue(args, &i, "--report", &report_path) || report_path.empty()) {
        return Usage("--report needs a file");
      }
    } else if (IsOption(a, "--series")) {
      if (!TakeValue(args, &i, "--series", &series_path) || series_path.empty()) {
        return Usage("--series needs a file");
      }
    } else if (IsOption(a, "--flows")) {
      if (!TakeValue(args, &i, "--flows", &flows_path)) return Usage("--flows needs a file");
    } else if (IsOption(a, "--threads")) {
      double n = 0;
      if (!TakeNumber(args, &i, "--threads", 1, 64, &n) || n != std::floor(n)) {
        return Usage("--threads needs a whole number from 1 to 64");
      }
      o.threads = int(n);
    } else if (a == "-r") {
      if (i + 1 >= args.size()) return Usage("-r needs a file");
      o.files.push_back(args[++i]);
    } else if (a == "-q" || a == "--quiet") {
      quiet = true;
    } else if (a.size() > 1 && a[0] == '-') {  // wherever it stands: never a filter word
      return Usage("unknown option '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  // The leading words that name files are captures (the first one always is, unless -r gave
  // one); the rest is the BPF filter, in which a file name is a mistake.
  size_t k = 0;
  std::error_code ec;
  for (; k < positional.size() && (NamesFile(positional[k]) || (k == 0 && o.files.empty())); ++k) {
    o.files.push_back(positional[k]);
  }
  for (; k < positional.size(); ++k) {
    if (NamesFile(positional[k])) {
      return Usage("'" + positional[k] + "' comes after the filter '" + o.bpf_filter +
                   "': capture files come first");
    }
    if (!o.bpf_filter.empty()) o.bpf_filter += ' ';
    o.bpf_filter += positional[k];
  }
  if (std::count(o.files.begin(), o.files.end(), "-") > 1) {
    return Usage("standard input ('-') can be read only once");
  }
  if (demo && o.files.empty()) {
    const std::string path = DemoPath();
    if (path.empty() || !std::filesystem::exists(path, ec)) {
      std::fprintf(stderr, "throttlewatch: the demo capture is not installed (%s)\n", path.c_str());
      return ExitCode::kRuntimeError;
    }
    std::fprintf(stderr, "throttlewatch: replaying the demo capture %s\n", path.c_str());
    o.files.push_back(path);
  }
  if (o.files.empty()) return Usage("replay needs a capture file");

  if (!LoadKey(key_path, &o.addresses)) return ExitCode::kUsageError;

  std::FILE* out = stdout;
  if (!events_path.empty() && events_path != "-") {
    std::string error;
    out = util::OpenPrivateFile(events_path, &error);  // 0600 whatever the umask
    if (out == nullptr) {
      std::fprintf(stderr, "throttlewatch: %s\n", error.c_str());
      return ExitCode::kRuntimeError;
    }
  }
  std::FILE* flows = nullptr;
  if (!flows_path.empty()) {
    std::string error;
    flows = flows_path == "-" ? stdout : util::OpenPrivateFile(flows_path, &error);
    if (flows == nullptr) {
      std::fprintf(stderr, "throttlewatch: %s\n", error.c_str());
      if (out != stdout) std::fclose(out);
      return ExitCode::kRuntimeError;
    }
  }
  if (quiet) o.log = nullptr;
  o.progress = !quiet;
  // The outputs, attached to the replay as its observers. The inputs' SHA-256 for the evidence
  // header are computed on another thread while the replay runs: an extra pass over each file,
  // which a spare core hides.
  InputHasher hasher(o.files);
  JsonLinesWriter writer(out, o.addresses);
  writer.SetHeader([&hasher](std::string_view previous_head) {
    return ReplayHeader(hasher.Get(), TW_VERSION, previous_head);
  });
  EventFanout events;
  events.Add(&writer);
  std::unique_ptr<SeriesRecorder> recorder;
  if (!report_path.empty() || !series_path.empty()) {
    recorder = std::make_unique<SeriesRecorder>();
    events.Add(recorder.get());
    o.observers.bins = recorder.get();
  }
  o.observers.events = &events;
  if (flows != nullptr) {
    o.observers.verdicts = [&o, flows](const std::vector<FlowVerdict>& verdicts) {
      return WriteFlowLines(verdicts, o.addresses, flows);
    };
  }
  ReplayResult r;
  ExitCode rc = ToExitCode(RunReplay(o, &r));
  std::string chain_head;
  if (r.started) {
    writer.Finish();  // the header, if no event came
    if (writer.failed()) {
      r.error = "cannot write events (disk full?)";
      rc = ExitCode::kRuntimeError;
    } else {
      chain_head = writer.head();
    }
  }
  if (out != stdout) std::fclose(out);
  if (flows != nullptr && flows != stdout) std::fclose(flows);
  if (rc == ExitCode::kUsageError) {  // a bad filter or --local: nothing was analysed, no summary
    std::string msg = r.error;
    if (r.error.rfind("bad filter", 0) == 0 && !positional.empty() &&
        o.bpf_filter.find(' ') == std::string::npos) {
      msg += " (and there is no file '" + o.bpf_filter + "')";
    }
    return Usage(msg);
  }
  // A summary of something read: not after a failure to open or read anything.
  if (!quiet && (rc == ExitCode::kOk || r.packets > 0))
    PrintSummary(r, chain_head, stderr, o.addresses);
  if (rc != ExitCode::kOk) {
    std::fprintf(stderr, "throttlewatch: %s\n", r.error.c_str());
    if ((rc == ExitCode::kRuntimeError || rc == ExitCode::kBrokenInput) && r.packets > 0) {
      std::fprintf(stderr, "throttlewatch: results up to that point were written\n");
    }
  }
  if (recorder != nullptr && rc != ExitCode::kUsageError) {
    if (!WriteOutputs(o, r, *recorder, hasher.Get(), chain_head, report_path, series_path, quiet)) {
      rc = ExitCode::kRuntimeError;
    }
  }
  return rc;
}

ExitCode Live(const std::vector<std::string>& args) {
  LiveDaemonOptions o;
  std::vector<std::string> filter;
  std::string key_path;
  bool report_timing = false;
  const CommonOptions common{&o.local, &o.binner, &o.engine, &key_path};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string v;
    double x = 0;
    size_t n = 0;
    if (const Taken t = TakeCommonOption(args, &i, common); t != Taken::kNo) {
      if (t == Taken::kBad) return ExitCode::kUsageError;
      continue;
    }
    if (a == "-i" || IsOption(a, "--interface")) {
      if (a == "-i") {
        if (i + 1 >= args.size()) return Usage("-i needs an interface");
        o.capture.interface = args[++i];
      } else if (!TakeValue(args, &i, "--interface", &o.capture.interface)) {
        return Usage("--interface needs an interface");
      }
    } else if (IsOption(a, "--events")) {
      if (!TakeValue(args, &i, "--events", &o.events_path)) return Usage("--events needs a file");
    } else if (IsOption(a, "--metrics")) {
      if (!TakeValue(args, &i, "--metrics", &v)) return Usage("--metrics needs ADDR:PORT");
      if (v == "none") {
        o.metrics_bind.clear();
      } else {
        std::string host, port;
        if (!ParseProbeTarget(v, &host, &port, &o.metrics_bind)) {
          return Usage("--metrics takes ADDR:PORT (e.g. 127.0.0.1:10470) or 'none'");
        }
        o.metrics_bind = v;
      }
    } else if (IsOption(a, "--metrics-auth-file")) {
      if (!TakeValue(args, &i, "--metrics-auth-file", &v)) {
        return Usage("--metrics-auth-file needs a file");
      }
      // A private file only, checked like the --anonymize key.
      std::string error;
      if (!ReadMetricsAuthFile(v, &o.metrics_user, &o.metrics_password, &error)) {
        return Usage(error);
      }
    } else if (IsOption(a, "--probe")) {
      ProbeSpec spec;
      std::string error;
      if (!TakeValue(args, &i, "--probe", &v) || !ParseProbe(v, &spec, &error)) {
        return Usage("--probe takes HOST:PORT, [ADDR]:PORT or dns:HOST[:PORT]");
      }
      o.probes.push_back(v);
    } else if (IsOption(a, "--probe-interval")) {
      if (!TakeNumber(args, &i, "--probe-interval", 0.5, 300, &x)) {
        return Usage("--probe-interval takes seconds from 0.5 to 300");
      }
      o.probe_interval_s = x;
      o.probe_timeout_s = std::min(2.0, x);
    } else if (IsOption(a, "--user")) {
      if (!TakeValue(args, &i, "--user", &o.user)) return Usage("--user needs a user name");
    } else if (IsOption(a, "--snaplen")) {
      if (!TakeValue(args, &i, "--snaplen", &v) || !ParseSize(v, &n) || n < 64 || n > 65535) {
        return Usage("--snaplen takes a number from 64 to 65535");
      }
      o.capture.snaplen = int(n);
    } else if (IsOption(a, "--buffer-size")) {
      if (!TakeValue(args, &i, "--buffer-size", &v) || !ParseSize(v, &n) || n < 1 || n > 2048) {
        return Usage("--buffer-size takes MiB from 1 to 2048");
      }
      o.capture.buffer_bytes = int(n << 20);
    } else if (a == "--promisc") {
      o.capture.promiscuous = true;
    } else if (a == "--no-service-names") {
      o.service_names = false;
    } else if (IsOption(a, "--services")) {
      if (!TakeValue(args, &i, "--services", &v) || !ParseSize(v, &n) || n > 100) {
        return Usage("--services takes a number from 0 to 100");
      }
      o.max_services = n;
    } else if (IsOption(a, "--report")) {
      if (!TakeValue(args, &i, "--report", &o.report_path)) return Usage("--report needs a file");
    } else if (IsOption(a, "--report-every")) {
      if (!TakeNumber(args, &i, "--report-every", 10, 86400, &x)) {
        return Usage("--report-every takes seconds from 10 to 86400");
      }
      o.report_every_s = x;
      report_timing = true;
    } else if (IsOption(a, "--report-window")) {
      if (!TakeNumber(args, &i, "--report-window", 60, 604800, &x)) {
        return Usage("--report-window takes seconds from 60 to 604800");
      }
      o.report_window_s = x;
      report_timing = true;
    } else if (IsOption(a, "--run-for")) {
      if (!TakeValue(args, &i, "--run-for", &v) || !ParseDouble(v, &x) || x <= 0) {
        return Usage("--run-for takes seconds");
      }
      o.run_for_s = x;
    } else if (a.size() > 1 && a[0] == '-' && filter.empty()) {
      return Usage("unknown option '" + a + "'");
    } else {
      filter.push_back(a);
    }
  }
  for (const std::string& f : filter) {
    if (!o.capture.bpf_filter.empty()) o.capture.bpf_filter += ' ';
    o.capture.bpf_filter += f;
  }
  if (report_timing && o.report_path.empty()) {
    return Usage("--report-every and --report-window need --report FILE.html");
  }
  // Read now, with the privileges the daemon was started with (the key is usually root's).
  if (!LoadKey(key_path, &o.addresses)) return ExitCode::kUsageError;
  return ToExitCode(RunLive(o));
}

ExitCode Changepoints(const std::vector<std::string>& args) {
  stats::SeriesReadOptions ro;
  stats::SegmentationParams sp;
  std::string path;
  bool log = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string v;
    if (IsOption(a, "--column")) {
      if (!TakeValue(args, &i, "--column", &ro.column)) return Usage("--column needs a value");
    } else if (IsOption(a, "--penalty")) {
      if (!TakeValue(args, &i, "--penalty", &v) || !ParseDouble(v, &sp.penalty) ||
          sp.penalty <= 0) {
        return Usage("--penalty takes a positive number");
      }
    } else if (IsOption(a, "--min-segment")) {
      if (!TakeValue(args, &i, "--min-segment", &v) || !ParseSize(v, &sp.min_segment) ||
          sp.min_segment < 1) {
        return Usage("--min-segment takes a whole number >= 1");
      }
    } else if (a == "--log") {
      log = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return Usage("unknown option '" + a + "'");
    } else if (path.empty()) {
      path = a;
    } else {
      return Usage("changepoints takes one file");
    }
  }
  if (path.empty()) return Usage("changepoints needs a file ('-' for standard input)");
  std::vector<double> x;
  std::string error;
  bool ok = false;
  if (path == "-") {
    ok = stats::ReadSeries(std::cin, ro, &x, &error);
  } else {
    std::ifstream in(path);
    if (!in) {
      std::fprintf(stderr, "throttlewatch: cannot read %s: %s\n", path.c_str(),
                   std::strerror(errno));
      return ExitCode::kRuntimeError;
    }
    ok = stats::ReadSeries(in, ro, &x, &error);
  }
  if (!ok) {
    std::fprintf(stderr, "throttlewatch: %s: %s\n", path.c_str(), error.c_str());
    return ExitCode::kBrokenInput;
  }
  if (x.empty()) {
    std::fprintf(stderr, "throttlewatch: %s: no numbers in the input\n", path.c_str());
    return ExitCode::kBrokenInput;
  }
  if (log) {
    for (double& v : x) {
      if (v < 0) {
        std::fprintf(stderr, "throttlewatch: %s: --log needs non-negative values\n", path.c_str());
        return ExitCode::kUsageError;
      }
    }
    std::vector<double> y;
    stats::LogTransform(x, 1.0, &y);
    x.swap(y);
  }
  const std::vector<size_t> cps = stats::SegmentPelt(x, sp);
  std::fputs((DumpLine(Json(cps)) + "\n").c_str(), stdout);
  return ExitCode::kOk;
}

ExitCode Dispatch(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  if (args.empty()) return Replay({}, /*demo=*/true);
  const std::string cmd = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  // 'throttlewatch replay --help' and the like: the usage, which lists every command's options.
  const bool asks_help = std::any_of(
      rest.begin(), rest.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
  const bool known =
      cmd == "replay" || cmd == "demo" || cmd == "changepoints" || cmd == "live" || cmd == "verify";
  if (cmd == "help" || cmd == "--help" || cmd == "-h" || (known && asks_help)) {
    std::fputs(kUsage, stdout);
    return ExitCode::kOk;
  }
  if (cmd == "replay") return Replay(rest, false);
  if (cmd == "demo") return Replay(rest, true);
  if (cmd == "changepoints") return Changepoints(rest);
  if (cmd == "live") return Live(rest);
  if (cmd == "verify") return RunVerify(rest, stdout, stderr);
  if (cmd == "version" || cmd == "--version") {
    std::printf("throttlewatch %s\n", TW_VERSION);
    return ExitCode::kOk;
  }
  if (cmd == "-r") return Replay(args, false);
  return Usage("unknown command '" + cmd + "'");
}

}  // namespace

int RunCli(int argc, char** argv) { return ToInt(Dispatch(argc, argv)); }

}  // namespace tw::detector
