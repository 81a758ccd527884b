#include "detector/daemon/process_stats.h"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace tw::detector {

namespace {

std::string ReadText(const char* path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whitespace-separated words of `s`.
std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::optional<double> Number(std::string_view word) {
  double v = 0;
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (ec != std::errc() || end != word.data() + word.size()) return std::nullopt;
  return v;
}

double CountOpenFds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n > 0 ? n - 1 : 0;  // less the one the iterator itself holds open
}

}  // namespace

bool ParseProcSelfStat(std::string_view stat, double ticks_per_s, double page_bytes,
                       double boot_time_s, ProcessStats* out) {
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_s <= 0) return false;
  // After the name: field 3 (state) is word 0, so field n is word n - 3.
  const std::vector<std::string_view> w = Words(stat.substr(close + 1));
  if (w.size() < 22) return false;
  const auto utime = Number(w[11]), stime = Number(w[12]), start = Number(w[19]),
             vsize = Number(w[20]), rss = Number(w[21]);
  if (!utime || !stime || !start || !vsize || !rss) return false;
  out->cpu_seconds = (*utime + *stime) / ticks_per_s;
  out->start_time_seconds = boot_time_s + *start / ticks_per_s;
  out->virtual_bytes = *vsize;
  out->resident_bytes = *rss * page_bytes;
  return true;
}

std::optional<double> ParseBootTime(std::string_view proc_stat) {
  const std::vector<std::string_view> w = Words(proc_stat);
  for (size_t i = 0; i + 1 < w.size(); ++i) {
    if (w[i] == "btime") return Number(w[i + 1]);
  }
  return std::nullopt;
}

std::optional<double> ParseMaxOpenFiles(std::string_view limits) {
  constexpr std::string_view kName = "Max open files";
  const size_t at = limits.find(kName);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view rest = limits.substr(at + kName.size());
  const std::vector<std::string_view> w = Words(rest.substr(0, rest.find('\n')));
  return w.empty() ? std::nullopt : Number(w[0]);  // soft, hard, unit: "unlimited" is no number
}

ProcessStats ReadProcessStats() {
  ProcessStats s;
  const double boot = ParseBootTime(ReadText("/proc/stat")).value_or(0);
  ParseProcSelfStat(ReadText("/proc/self/stat"), double(sysconf(_SC_CLK_TCK)),
                    double(sysconf(_SC_PAGESIZE)), boot, &s);
  s.max_fds = ParseMaxOpenFiles(ReadText("/proc/self/limits")).value_or(0);
  s.open_fds = CountOpenFds();
  return s;
}

}  // namespace tw::detector
