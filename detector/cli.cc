#include "detector/cli.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
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
#include <vector>

#include "capture/anonymizer.h"
#include "detector/private_files.h"
#include "detector/replay.h"
#include "stats/segmentation.h"
#include "stats/series_reader.h"

#ifndef TW_VERSION
#define TW_VERSION "dev"
#endif
#ifndef TW_DEMO_PCAP
#define TW_DEMO_PCAP ""
#endif

namespace tw::detector {

namespace {

constexpr int kExitOk = 0, kExitRuntime = 1, kExitUsage = 2;

const char kUsage[] =
    "usage: throttlewatch [COMMAND] [OPTIONS]\n"
    "\n"
    "Detects targeted bandwidth throttling and outages from packets.\n"
    "\n"
    "commands:\n"
    "  replay [options] FILE... [BPF filter]   analyse pcap/pcapng captures\n"
    "  changepoints [options] FILE             change points of a numeric series (JSON array)\n"
    "  demo                                    replay the bundled demo capture (the default)\n"
    "  help, --help                            this text\n"
    "  version, --version                      print the version\n"
    "\n"
    "replay options:\n"
    "  -r FILE             a capture file (may repeat; bare FILE arguments work too)\n"
    "  --events FILE       write events (JSON lines) to FILE instead of stdout\n"
    "  --local CIDR[,...]  the local side of the link (default: inferred and printed)\n"
    "  --bin SECONDS       bin width, 0.1 to 60 (default 1)\n"
    "  --max-flows N       flow table cap (default 65536; ~0.7 KB per flow, up to ~4 KB\n"
    "                      for flows carrying data)\n"
    "  --idle-timeout S    end flows idle for S seconds (default 60)\n"
    "  --min-drop F        smallest relative rate drop reported, 0.1 to 0.95 (default 0.5)\n"
    "  --anonymize KEYFILE write every address prefix-preserving anonymized (Crypto-PAn);\n"
    "                      KEYFILE: 32 private bytes, e.g.\n"
    "                      (umask 077; head -c 32 /dev/urandom > KEYFILE)\n"
    "  -q, --quiet         no summary and no progress on stderr\n"
    "\n"
    "changepoints options:\n"
    "  --column C          CSV column (0-based index or header name)\n"
    "  --penalty P         penalty per change in noise variances (default: MBIC)\n"
    "  --min-segment N     shortest segment in samples (default 2)\n"
    "  --log               segment log(x + 1) instead of x (rates, counts)\n"
    "\n"
    "exit status: 0 ok, 1 runtime error (unreadable or broken input), 2 usage error\n";

int Usage(const std::string& msg) {
  std::fprintf(stderr, "throttlewatch: %s\n(see 'throttlewatch --help')\n", msg.c_str());
  return kExitUsage;
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
  return a == name || (a.size() > name.size() && a.compare(0, name.size(), name) == 0 &&
                       a[name.size()] == '=');
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

int Replay(const std::vector<std::string>& args, bool demo) {
  ReplayOptions o;
  o.log = stderr;
  std::string events_path, key_path;
  std::vector<std::string> positional;
  bool quiet = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string v;
    if (IsOption(a, "--events")) {
      if (!TakeValue(args, &i, "--events", &events_path)) return Usage("--events needs a file");
    } else if (a == "-r") {
      if (i + 1 >= args.size()) return Usage("-r needs a file");
      o.files.push_back(args[++i]);
    } else if (IsOption(a, "--local")) {
      if (!TakeValue(args, &i, "--local", &o.local)) return Usage("--local needs CIDR[,CIDR]");
    } else if (IsOption(a, "--bin")) {
      double s = 0;
      if (!TakeValue(args, &i, "--bin", &v) || !ParseDouble(v, &s) || s < 0.1 || s > 60) {
        return Usage("--bin takes seconds from 0.1 to 60");
      }
      o.binner.bin_ns = int64_t(std::llround(s * 1e9));
    } else if (IsOption(a, "--max-flows")) {
      size_t n = 0;
      if (!TakeValue(args, &i, "--max-flows", &v) || !ParseSize(v, &n) || n < 16 ||
          n > 100'000'000) {
        return Usage("--max-flows takes a number from 16 to 100000000");
      }
      o.binner.max_flows = n;
    } else if (IsOption(a, "--idle-timeout")) {
      double s = 0;
      if (!TakeValue(args, &i, "--idle-timeout", &v) || !ParseDouble(v, &s) || s < 1 ||
          s > 86400) {
        return Usage("--idle-timeout takes seconds from 1 to 86400");
      }
      o.binner.idle_timeout_ns = int64_t(s * 1e9);
    } else if (IsOption(a, "--min-drop")) {
      double f = 0;
      if (!TakeValue(args, &i, "--min-drop", &v) || !ParseDouble(v, &f) || f < 0.1 || f > 0.95) {
        return Usage("--min-drop takes a fraction from 0.1 to 0.95");
      }
      o.engine.throttle.drop.min_drop = f;
    } else if (IsOption(a, "--anonymize")) {
      if (!TakeValue(args, &i, "--anonymize", &key_path)) {
        return Usage("--anonymize needs a key file");
      }
    } else if (a == "-q" || a == "--quiet") {
      quiet = true;
    } else if (a.size() > 1 && a[0] == '-' && positional.empty()) {
      return Usage("unknown option '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  // Leading positional arguments that are files are captures; the rest is the BPF filter.
  size_t k = 0;
  std::error_code ec;
  for (; k < positional.size() && std::filesystem::is_regular_file(positional[k], ec); ++k) {
    o.files.push_back(positional[k]);
  }
  for (; k < positional.size(); ++k) {
    if (o.files.empty()) return Usage("no such capture file: '" + positional[k] + "'");
    if (!o.bpf_filter.empty()) o.bpf_filter += ' ';
    o.bpf_filter += positional[k];
  }
  if (demo && o.files.empty()) {
    const std::string path = DemoPath();
    if (path.empty() || !std::filesystem::exists(path, ec)) {
      std::fprintf(stderr, "throttlewatch: the demo capture is not installed (%s)\n",
                   path.c_str());
      return kExitRuntime;
    }
    std::fprintf(stderr, "throttlewatch: replaying the demo capture %s\n", path.c_str());
    o.files.push_back(path);
  }
  if (o.files.empty()) return Usage("replay needs a capture file");

  if (!key_path.empty()) {
    std::string error;
    std::shared_ptr<const capture::Anonymizer> anon =
        capture::Anonymizer::FromKeyFile(key_path, &error);
    if (anon == nullptr) return Usage(error);
    o.addresses = capture::AddressFormatter(std::move(anon));
  }

  std::FILE* out = stdout;
  if (!events_path.empty() && events_path != "-") {
    std::string error;
    out = OpenPrivateFile(events_path, &error);  // 0600 whatever the umask
    if (out == nullptr) {
      std::fprintf(stderr, "throttlewatch: %s\n", error.c_str());
      return kExitRuntime;
    }
  }
  if (quiet) o.log = nullptr;
  o.progress = !quiet;
  o.events_out = out;
  ReplayResult r;
  const int rc = RunReplay(o, &r);
  if (out != stdout) std::fclose(out);
  if (!quiet) PrintSummary(r, stderr, o.addresses);
  if (rc != kExitOk) {
    std::fprintf(stderr, "throttlewatch: %s\n", r.error.c_str());
    if (rc == kExitRuntime && r.packets > 0) {
      std::fprintf(stderr, "throttlewatch: results up to that point were written\n");
    }
  }
  return rc;
}

int Changepoints(const std::vector<std::string>& args) {
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
      return kExitUsage;
    }
    ok = stats::ReadSeries(in, ro, &x, &error);
  }
  if (!ok) {
    std::fprintf(stderr, "throttlewatch: %s: %s\n", path.c_str(), error.c_str());
    return kExitUsage;
  }
  if (x.empty()) {
    std::fprintf(stderr, "throttlewatch: %s: no numbers in the input\n", path.c_str());
    return kExitUsage;
  }
  if (log) {
    for (double& v : x) {
      if (v < 0) {
        std::fprintf(stderr, "throttlewatch: %s: --log needs non-negative values\n",
                     path.c_str());
        return kExitUsage;
      }
    }
    std::vector<double> y;
    stats::LogTransform(x, 1.0, &y);
    x.swap(y);
  }
  const std::vector<size_t> cps = stats::SegmentPelt(x, sp);
  std::string out = "[";
  for (size_t i = 0; i < cps.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(cps[i]);
  }
  out += "]\n";
  std::fputs(out.c_str(), stdout);
  return kExitOk;
}

}  // namespace

int RunCli(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  if (args.empty()) return Replay({}, /*demo=*/true);
  const std::string cmd = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "replay") return Replay(rest, false);
  if (cmd == "demo") return Replay(rest, true);
  if (cmd == "changepoints") return Changepoints(rest);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("throttlewatch %s\n", TW_VERSION);
    return kExitOk;
  }
  if (cmd == "-r") return Replay(args, false);
  return Usage("unknown command '" + cmd + "'");
}

}  // namespace tw::detector
