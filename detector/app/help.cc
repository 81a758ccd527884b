#include "detector/app/help.h"

namespace tw::detector {

namespace {

const char kCommands[] =
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
    "  demo [options]                          replay the bundled demo capture (the default)\n"
    "  help, --help                            this text\n"
    "  version, --version                      print the version\n"
    "  COMMAND --help                          the options of COMMAND only\n";

const char kReplayUsage[] =
    "usage: throttlewatch replay [options] FILE... [BPF filter]\n"
    "       throttlewatch demo [options]\n"
    "\n"
    "Analyses pcap/pcapng captures (demo: the bundled demo capture).\n";

const char kReplayOptions[] =
    "replay options:\n"
    "  -r FILE             a capture file (may repeat; bare FILE arguments work too)\n"
    "  --events FILE       write events (JSON lines) to FILE instead of stdout\n"
    "  --report FILE.html  write a self-contained HTML report (charts, event table)\n"
    "  --series FILE.csv   write the binned series (link, flagged flows, services) as CSV\n"
    "  --flows FILE        write one JSON line per flow: TCP with its verdict (policed, shaped,\n"
    "                      ...), UDP with its server name and QUIC version\n"
    "  --local CIDR[,...]  the local side of the link (default: inferred and printed)\n"
    "  --bin SECONDS       bin width, 0.1 to 60 (default 1)\n"
    "  --max-flows N       flow table cap (default 65536; 536 bytes per slot, up to ~7 KB\n"
    "                      more for flows carrying data)\n"
    "  --idle-timeout S    end flows idle for S seconds (default 60)\n"
    "  --threads N         analyse flows on N worker threads (default: one per core, at\n"
    "                      most 8); the results are the same for any N\n"
    "  --min-drop F        smallest relative rate drop reported, 0.1 to 0.95 (default 0.5)\n"
    "  --anonymize KEYFILE write every address prefix-preserving anonymized (Crypto-PAn);\n"
    "                      KEYFILE: 32 private bytes, e.g.\n"
    "                      (umask 077; head -c 32 /dev/urandom > KEYFILE)\n"
    "  -q, --quiet         no summary and no progress on stderr\n";

const char kLiveUsage[] =
    "usage: throttlewatch live [options] [BPF filter]\n"
    "\n"
    "Watches an interface: the daemon, until SIGINT/SIGTERM (SIGHUP reopens the event file).\n";

const char kLiveOptions[] =
    "live options (also --bin, --local, --max-flows, --idle-timeout, --min-drop, --anonymize:\n"
    "the events, the report and the log are anonymized; the key is read before the\n"
    "daemon drops privileges):\n"
    "  --config FILE       read options from FILE first (may repeat; files in order, then\n"
    "                      the command line, the last value wins; --probe adds up): one\n"
    "                      option a line, 'name = value' or 'name' (no dashes), '#' comments\n"
    "  -i IFACE            interface to watch (default: the one of the default route)\n"
    "  --sensor NAME       this sensor's name in the events (default: the host name)\n"
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
    "  --no-service-names  no second capture of ClientHellos, HTTP requests and DNS (whole,\n"
    "                      for service names and DNS blocking; never kept)\n"
    "  --services N        service labels in the metrics before 'other' (default 10)\n"
    "  --report FILE.html  keep a rolling HTML report of the recent capture in FILE\n"
    "  --report-every S    rewrite it every S seconds, 10 to 86400 (default 300), and at stop\n"
    "  --report-window S   seconds of capture it covers, 60 to 604800 (default 86400)\n"
    "  --run-for S         stop after S seconds (default: until SIGINT/SIGTERM)\n";

const char kChangepointsUsage[] =
    "usage: throttlewatch changepoints [options] FILE\n"
    "\n"
    "Change points of a numeric series (a JSON array, or a CSV column).\n";

const char kChangepointsOptions[] =
    "changepoints options:\n"
    "  --column C          CSV column (0-based index or header name)\n"
    "  --model M           auto (default: each segment flat or a linear trend), mean, linear\n"
    "  --penalty P         penalty per change in long-run noise variances (default 3 log n)\n"
    "  --min-segment N     shortest segment in samples (default 5)\n"
    "  --horizon K         lag of the noise variogram (default 16)\n"
    "  --season S          auto (default: detect and remove a cycle), none, or a period\n"
    "  --missing M         empty/nan values: interpolate (default), skip, error\n"
    "  --levels            print the segments (start, end, level, slope) too\n"
    "  --log               segment log(x + 1) instead of x (rates, counts)\n";

const char kVerifyUsage[] =
    "usage: throttlewatch verify [--head HEX] EVENTS...\n"
    "\n"
    "Checks the hash chain of event files (several: a rotated series, oldest first).\n";

const char kVerifyOptions[] =
    "verify options:\n"
    "  --head HEX          a chain head published earlier must be in the files\n";

const char kExitStatus[] =
    "exit status: 0 ok, 1 runtime error (unreadable input, failed write), 2 usage error,\n"
    "             3 broken capture file (the message names the file and byte offset;\n"
    "             events found before the damage are written) or a file that is not a\n"
    "             series (changepoints),\n"
    "             4 verify: the chain is broken (a line edited, deleted, reordered or cut,\n"
    "             or the published head missing; the message names the line)\n";

std::string Compose(const char* usage, const char* options) {
  return std::string(usage) + "\n" + options + "\n" + kExitStatus;
}

}  // namespace

std::string CommandHelp(std::string_view command) {
  if (command == "replay" || command == "demo") return Compose(kReplayUsage, kReplayOptions);
  if (command == "live") return Compose(kLiveUsage, kLiveOptions);
  if (command == "changepoints") return Compose(kChangepointsUsage, kChangepointsOptions);
  if (command == "verify") return Compose(kVerifyUsage, kVerifyOptions);
  return "";
}

std::string FullHelp() {
  return std::string(kCommands) + "\n" + kReplayOptions + "\n" + kLiveOptions + "\n" +
         kChangepointsOptions + "\n" + kVerifyOptions + "\n" + kExitStatus;
}

}  // namespace tw::detector
