#include "detector/app/replay_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "detector/app/options.h"
#include "detector/app/replay_summary.h"
#include "detector/outputs/event_stream.h"
#include "detector/outputs/evidence_chain.h"
#include "detector/outputs/flow_verdict_json.h"
#include "detector/outputs/report.h"
#include "detector/outputs/series_recorder.h"
#include "detector/pipeline/replay.h"
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

// What the replay command line asked for.
struct ReplayCommand {
  ReplayOptions options;
  std::string events_path, report_path, series_path, flows_path, key_path;
  std::vector<std::string> positional;  // capture files, then the words of the BPF filter
  bool quiet = false;
};

// Reads the options into *c. An exit code after a usage error; nothing when they are fine.
std::optional<ExitCode> ParseReplayArgs(const std::vector<std::string>& args, ReplayCommand* c) {
  ReplayOptions& o = c->options;
  const CommonOptions common{&o.local, &o.binner, &o.engine, &c->key_path};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (const Taken t = TakeCommonOption(args, &i, common); t != Taken::kNo) {
      if (t == Taken::kBad) return ExitCode::kUsageError;
      continue;
    }
    if (IsOption(a, "--events")) {
      if (!TakeValue(args, &i, "--events", &c->events_path)) return Usage("--events needs a file");
    } else if (IsOption(a, "--report")) {
      if (!TakeValue(args, &i, "--report", &c->report_path) || c->report_path.empty()) {
        return Usage("--report needs a file");
      }
    } else if (IsOption(a, "--series")) {
      if (!TakeValue(args, &i, "--series", &c->series_path) || c->series_path.empty()) {
        return Usage("--series needs a file");
      }
    } else if (IsOption(a, "--flows")) {
      if (!TakeValue(args, &i, "--flows", &c->flows_path)) return Usage("--flows needs a file");
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
      c->quiet = true;
    } else if (a.size() > 1 && a[0] == '-') {  // wherever it stands: never a filter word
      return Usage("unknown option '" + a + "'");
    } else {
      c->positional.push_back(a);
    }
  }
  return std::nullopt;
}

// The leading words that name files are captures (the first one always is, unless -r gave
// one); the rest is the BPF filter, in which a file name is a mistake. Then the demo capture
// when asked for and no file was given.
std::optional<ExitCode> ResolveInputs(bool demo, ReplayCommand* c) {
  ReplayOptions& o = c->options;
  const std::vector<std::string>& words = c->positional;
  size_t k = 0;
  for (; k < words.size() && (NamesFile(words[k]) || (k == 0 && o.files.empty())); ++k) {
    o.files.push_back(words[k]);
  }
  for (; k < words.size(); ++k) {
    if (NamesFile(words[k])) {
      return Usage("'" + words[k] + "' comes after the filter '" + o.bpf_filter +
                   "': capture files come first");
    }
    if (!o.bpf_filter.empty()) o.bpf_filter += ' ';
    o.bpf_filter += words[k];
  }
  if (std::count(o.files.begin(), o.files.end(), "-") > 1) {
    return Usage("standard input ('-') can be read only once");
  }
  if (demo && o.files.empty()) {
    const std::string path = DemoPath();
    std::error_code ec;
    if (path.empty() || !std::filesystem::exists(path, ec)) {
      std::fprintf(stderr, "throttlewatch: the demo capture is not installed (%s)\n", path.c_str());
      return ExitCode::kRuntimeError;
    }
    std::fprintf(stderr, "throttlewatch: replaying the demo capture %s\n", path.c_str());
    o.files.push_back(path);
  }
  if (o.files.empty()) return Usage("replay needs a capture file");
  return std::nullopt;
}

// The events and flows files, 0600 whatever the umask; stdout for "-" (and for events by
// default). Closed with the object.
class StreamFiles {
 public:
  StreamFiles() = default;
  StreamFiles(const StreamFiles&) = delete;
  StreamFiles& operator=(const StreamFiles&) = delete;
  ~StreamFiles() {
    if (events != nullptr && events != stdout) std::fclose(events);
    if (flows != nullptr && flows != stdout) std::fclose(flows);
  }
  // False after saying why on stderr.
  bool Open(const std::string& events_path, const std::string& flows_path) {
    std::string error;
    events = events_path.empty() || events_path == "-" ? stdout
                                                       : util::OpenPrivateFile(events_path, &error);
    if (events != nullptr && !flows_path.empty()) {
      flows = flows_path == "-" ? stdout : util::OpenPrivateFile(flows_path, &error);
    }
    if (events == nullptr || (!flows_path.empty() && flows == nullptr)) {
      std::fprintf(stderr, "throttlewatch: %s\n", error.c_str());
      return false;
    }
    return true;
  }
  std::FILE* events = nullptr;
  std::FILE* flows = nullptr;  // null: no --flows
};

// The outcome of a replay run with its outputs attached.
struct ReplayRun {
  ReplayResult result;
  ExitCode rc = ExitCode::kOk;
  std::string chain_head;  // of the event stream; empty when nothing was written
  std::vector<InputDigest> inputs;
};

// Runs the replay with the outputs attached as its observers: the event stream with its
// evidence header (the inputs' SHA-256, computed on another thread while the replay runs: an
// extra pass over each file, which a spare core hides), the recorder behind the report and the
// series (when `recorder` is set), the flow lines.
ReplayRun RunWithOutputs(ReplayOptions o, const StreamFiles& files, SeriesRecorder* recorder) {
  ReplayRun run;
  InputHasher hasher(o.files);
  JsonLinesWriter writer(files.events, o.addresses);
  writer.SetHeader([&hasher](std::string_view previous_head) {
    return ReplayHeader(hasher.Get(), TW_VERSION, previous_head);
  });
  EventFanout events;
  events.Add(&writer);
  if (recorder != nullptr) {
    events.Add(recorder);
    o.observers.bins = recorder;
  }
  o.observers.events = &events;
  if (files.flows != nullptr) {
    o.observers.verdicts = [&o, &files](const std::vector<FlowVerdict>& verdicts) {
      return WriteFlowLines(verdicts, o.addresses, files.flows);
    };
  }
  run.rc = ToExitCode(RunReplay(o, &run.result));
  if (run.result.started) {
    writer.Finish();  // the header, if no event came
    if (writer.failed()) {
      run.result.error = "cannot write events (disk full?)";
      run.rc = ExitCode::kRuntimeError;
    } else {
      run.chain_head = writer.head();
    }
  }
  run.inputs = hasher.Get();
  return run;
}

// What the analyst reads on stderr when the replay ends: the summary of what was read, the
// error, and whether results were written up to it.
void ReportOutcome(const ReplayCommand& c, const ReplayRun& run) {
  const ReplayResult& r = run.result;
  // A summary of something read: not after a failure to open or read anything.
  if (!c.quiet && (run.rc == ExitCode::kOk || r.packets > 0)) {
    PrintSummary(r, run.chain_head, stderr, c.options.addresses);
  }
  if (run.rc != ExitCode::kOk) {
    std::fprintf(stderr, "throttlewatch: %s\n", r.error.c_str());
    if ((run.rc == ExitCode::kRuntimeError || run.rc == ExitCode::kBrokenInput) && r.packets > 0) {
      std::fprintf(stderr, "throttlewatch: results up to that point were written\n");
    }
  }
}

}  // namespace

ExitCode Replay(const std::vector<std::string>& args, bool demo) {
  ReplayCommand c;
  c.options.log = stderr;
  // One worker per core (the results do not depend on it), at most 8: one reader feeds them.
  c.options.threads = int(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  if (auto rc = ParseReplayArgs(args, &c)) return *rc;
  if (auto rc = ResolveInputs(demo, &c)) return *rc;
  ReplayOptions& o = c.options;
  if (!LoadKey(c.key_path, &o.addresses)) return ExitCode::kUsageError;
  if (c.quiet) o.log = nullptr;
  o.progress = !c.quiet;

  ReplayRun run;
  std::unique_ptr<SeriesRecorder> recorder;
  {
    StreamFiles files;
    if (!files.Open(c.events_path, c.flows_path)) return ExitCode::kRuntimeError;
    if (!c.report_path.empty() || !c.series_path.empty()) {
      recorder = std::make_unique<SeriesRecorder>();
    }
    run = RunWithOutputs(o, files, recorder.get());
  }
  if (run.rc == ExitCode::kUsageError) {  // a bad filter or --local: nothing was analysed
    std::string msg = run.result.error;
    if (msg.rfind("bad filter", 0) == 0 && !c.positional.empty() &&
        o.bpf_filter.find(' ') == std::string::npos) {
      msg += " (and there is no file '" + o.bpf_filter + "')";
    }
    return Usage(msg);
  }
  ReportOutcome(c, run);
  if (recorder != nullptr && !WriteOutputs(o, run.result, *recorder, run.inputs, run.chain_head,
                                           c.report_path, c.series_path, c.quiet)) {
    return ExitCode::kRuntimeError;
  }
  return run.rc;
}

}  // namespace tw::detector
