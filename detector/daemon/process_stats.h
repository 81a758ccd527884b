#ifndef THROTTLEWATCH_DETECTOR_DAEMON_PROCESS_STATS_H_
#define THROTTLEWATCH_DETECTOR_DAEMON_PROCESS_STATS_H_
// The process_* metrics every Prometheus exporter serves (CPU, memory, file descriptors, start
// time), read from /proc/self at scrape time like the Go and Python clients read them.

#include <optional>
#include <string_view>

namespace tw::detector {

struct ProcessStats {
  double cpu_seconds = 0;         // user + system CPU time
  double resident_bytes = 0;      // resident set size
  double virtual_bytes = 0;       // virtual memory size
  double start_time_seconds = 0;  // epoch seconds the process started
  double open_fds = 0;
  double max_fds = 0;  // the soft limit on open files
};

// Fields of /proc/self/stat (proc(5)): utime and stime (14, 15) in clock ticks, starttime (22)
// in ticks since boot, vsize (23) in bytes, rss (24) in pages. The command name (2) may hold
// spaces and parentheses: the fields are counted after its last ')'. `boot_time_s`: the btime
// of /proc/stat. Fills every field but the fds; false when `stat` is not such a line.
bool ParseProcSelfStat(std::string_view stat, double ticks_per_s, double page_bytes,
                       double boot_time_s, ProcessStats* out);

// The btime line of /proc/stat: the boot time, epoch seconds.
std::optional<double> ParseBootTime(std::string_view proc_stat);

// The soft limit of "Max open files" in /proc/self/limits ("unlimited": nullopt, as for a
// line that is missing).
std::optional<double> ParseMaxOpenFiles(std::string_view limits);

// All of it for this process, now. Whatever cannot be read stays 0.
ProcessStats ReadProcessStats();

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_DAEMON_PROCESS_STATS_H_
