#include "detector/app/cli.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "detector/app/help.h"
#include "test/support/capture_input.h"
#include "test/support/schema_lines.h"
#include "test/support/synthetic_capture.h"
#include "test/support/temp_dir.h"

namespace tw::detector {
namespace {

namespace fs = std::filesystem;

class CliTest : public tw::testing::TempDirTest {
 protected:
  int Run(std::initializer_list<std::string> args) { return RunArgs(args); }
  int RunArgs(const std::vector<std::string>& args) {
    std::vector<std::string> storage{"throttlewatch"};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(s.data());
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    const int rc = RunCli(int(argv.size()), argv.data());
    out_ = ::testing::internal::GetCapturedStdout();
    err_ = ::testing::internal::GetCapturedStderr();
    return rc;
  }
  std::string File(const std::string& name, const std::string& content) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p) << content;
    return p;
  }

  std::string out_, err_;
};

TEST_F(CliTest, ChangepointsPrintsJsonArray) {
  std::string series;
  for (int i = 0; i < 50; ++i) series += (i < 25 ? "100\n" : "20\n");
  EXPECT_EQ(Run({"changepoints", File("s.txt", series)}), 0) << err_;
  EXPECT_EQ(out_, "[25]\n");
}

TEST_F(CliTest, ChangepointsCsvColumnByName) {
  std::string csv = "time,rate\n";
  for (int i = 0; i < 40; ++i) csv += std::to_string(i) + "," + (i < 30 ? "5" : "50") + "\n";
  EXPECT_EQ(Run({"changepoints", "--column", "rate", File("s.csv", csv)}), 0) << err_;
  EXPECT_EQ(out_, "[30]\n");
}

// Users' files have holes: an empty field or "nan" is interpolated by default (indices stay
// the rows), skipped with --missing skip, an error with --missing error. --levels adds the
// segments.
TEST_F(CliTest, ChangepointsMissingValuesAndLevels) {
  std::string csv = "time,rate\n";
  for (int i = 0; i < 40; ++i) {
    csv += std::to_string(i) + "," + (i == 7 ? "" : i == 12 ? "nan" : i < 30 ? "5" : "50") + "\n";
  }
  const std::string file = File("holes.csv", csv);
  EXPECT_EQ(Run({"changepoints", "--column", "rate", file}), 0) << err_;
  EXPECT_EQ(out_, "[30]\n");
  EXPECT_EQ(Run({"changepoints", "--column", "1", "--missing", "skip", file}), 0) << err_;
  EXPECT_EQ(out_, "[28]\n");
  EXPECT_EQ(Run({"changepoints", "--column", "rate", "--missing", "error", file}), 3);
  EXPECT_NE(err_.find("line 9"), std::string::npos) << err_;
  EXPECT_EQ(Run({"changepoints", "--column", "rate", "--levels", file}), 0) << err_;
  EXPECT_EQ(out_,
            "{\"changes\":[30],\"segments\":[{\"start\":0,\"end\":30,\"level\":5.0,\"slope\":0.0},"
            "{\"start\":30,\"end\":40,\"level\":50.0,\"slope\":0.0}],\"season_period\":0}\n");
  EXPECT_EQ(Run({"changepoints", "--model", "cubic", file}), 2);
  EXPECT_EQ(Run({"changepoints", "--season", "1", file}), 2);
}

// As for captures: a file whose contents are not a series is broken input (3), a file that
// cannot be read a runtime error (1), a missing argument a usage error (2).
TEST_F(CliTest, ChangepointsRejectsEmptyAndNonNumericInput) {
  EXPECT_EQ(Run({"changepoints", File("empty.txt", "")}), 3);
  EXPECT_NE(err_.find("no numbers"), std::string::npos);
  EXPECT_EQ(Run({"changepoints", File("bad.txt", "1\n2\nbanana\n")}), 3);
  EXPECT_NE(err_.find("line 3"), std::string::npos);
  EXPECT_EQ(Run({"changepoints"}), 2);
  EXPECT_EQ(Run({"changepoints", (dir_ / "missing").string()}), 1);
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({"frobnicate"}), 2);
  EXPECT_EQ(Run({"replay"}), 2);
  EXPECT_EQ(Run({"replay", "--bin", "0.01", "x.pcap"}), 2);
  EXPECT_EQ(Run({"replay", "--no-such-option"}), 2);
  for (const char* n : {"0", "65", "1.5", "two"}) {
    EXPECT_EQ(Run({"replay", "--threads", n, "x.pcap"}), 2) << n;
    EXPECT_NE(err_.find("--threads needs a whole number from 1 to 64"), std::string::npos) << n;
  }
  EXPECT_EQ(Run({"live", "--threads", "2"}), 2);  // replay only
}

TEST_F(CliTest, HelpAfterACommandPrintsThatCommandsHelp) {
  for (const char* cmd : {"replay", "live", "demo", "changepoints", "verify"}) {
    for (const char* flag : {"--help", "-h"}) {
      EXPECT_EQ(Run({cmd, flag}), 0) << cmd << " " << flag << ": " << err_;
      EXPECT_EQ(out_, CommandHelp(cmd)) << cmd << " " << flag;
    }
  }
  EXPECT_EQ(Run({"replay", "-q", "x.pcap", "--help"}), 0);  // wherever it stands
  EXPECT_EQ(out_, CommandHelp("replay"));
  EXPECT_EQ(Run({"help"}), 0);
  EXPECT_NE(out_.find("usage: throttlewatch"), std::string::npos);
  EXPECT_EQ(Run({"frobnicate", "--help"}), 2);  // not a command
}

TEST_F(CliTest, ReportAndSeriesOptions) {
  EXPECT_EQ(Run({"replay", "--report"}), 2);
  EXPECT_EQ(Run({"replay", "--series="}), 2);
  // The demo replays with both outputs; an unwritable report path is a runtime error.
  const std::string report = (dir_ / "r.html").string(), series = (dir_ / "s.csv").string();
  ASSERT_EQ(Run({"demo", "-q", "--report", report, "--series=" + series}), 0) << err_;
  EXPECT_GT(fs::file_size(report), 10'000u);
  EXPECT_GT(fs::file_size(series), 10'000u);
  EXPECT_EQ(Run({"demo", "-q", "--report", (dir_ / "no/such/dir/r.html").string()}), 1);
  EXPECT_NE(err_.find("cannot write report"), std::string::npos) << err_;
}

TEST_F(CliTest, BrokenCaptureHasItsOwnExitCode) {
  EXPECT_EQ(Run({"replay", File("junk.pcap", "not a capture at all, sorry\n")}), 3);
  EXPECT_NE(err_.find("junk.pcap"), std::string::npos);
}

std::string Crafted(const std::string& name) {
  return std::string(TW_SOURCE_DIR) + "/test/data/broken/" + name;
}

TEST_F(CliTest, TruncatedLastPacketNamesFileAndOffsetAndExits3) {
  EXPECT_EQ(Run({"replay", "--local", "10.0.0.0/24", Crafted("truncated_last_packet.pcap")}), 3);
  EXPECT_NE(err_.find("truncated_last_packet.pcap: byte 188: truncated packet"), std::string::npos)
      << err_;
  EXPECT_NE(err_.find("results up to that point were written"), std::string::npos) << err_;
}

TEST_F(CliTest, SurvivedAnomaliesAreReportedButNotFatal) {
  EXPECT_EQ(Run({"replay", "--local", "10.0.0.0/24", Crafted("zero_length.pcap")}), 0) << err_;
  EXPECT_NE(err_.find("zero_length.pcap: byte 106: zero-length packet record (skipped), 1 time"),
            std::string::npos)
      << err_;
}

TEST_F(CliTest, PcapngWithMixedLinkTypesIsReplayed) {
  EXPECT_EQ(Run({"replay", "--local", "10.0.0.0/24", Crafted("multi_interface.pcapng")}), 0)
      << err_;
  EXPECT_NE(err_.find("4 packets"), std::string::npos) << err_;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr char kDemo[] = TW_SOURCE_DIR "/data/demo.pcap";

// What the words after `replay` are: files first (a missing one is unreadable input, exit 1),
// then the filter (a bad one is a usage error, exit 2, with no summary); a word starting with
// '-' is an option wherever it stands.
TEST_F(CliTest, ReplayArgumentsAfterTheFile) {
  const std::string missing = (dir_ / "missing.pcap").string();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"replay", missing}, {"replay", kDemo, missing}, {"replay", "-r", kDemo, missing}}) {
    EXPECT_EQ(RunArgs(args), 1) << args.back();
    EXPECT_NE(err_.find(missing + ": no such capture file"), std::string::npos) << err_;
    EXPECT_EQ(err_.find("bad filter"), std::string::npos) << err_;
    EXPECT_EQ(err_.find("packets over"), std::string::npos) << "no summary: " << err_;
  }
  EXPECT_EQ(Run({"replay", kDemo, "--evnets", "x"}), 2);
  EXPECT_NE(err_.find("unknown option '--evnets'"), std::string::npos) << err_;
  EXPECT_EQ(Run({"replay", kDemo, "tcp", "--evnets"}), 2);
  EXPECT_NE(err_.find("unknown option '--evnets'"), std::string::npos) << err_;
  for (const std::string filter : {"tcp port", "nosuchword"}) {
    EXPECT_EQ(Run({"replay", kDemo, filter}), 2) << filter;
    EXPECT_NE(err_.find("bad filter '" + filter + "'"), std::string::npos) << err_;
    EXPECT_EQ(err_.find("packets over"), std::string::npos) << "no summary: " << err_;
    EXPECT_TRUE(out_.empty()) << out_;
  }
  EXPECT_NE(err_.find("no file 'nosuchword'"), std::string::npos) << err_;
  EXPECT_EQ(Run({"replay", kDemo, dir_.string()}), 1);
  EXPECT_NE(err_.find(dir_.string() + ": is a directory"), std::string::npos) << err_;
  const std::string gz = File("c.pcap.gz", "\x1f\x8b\x08\x08 the rest of a gzip stream");
  EXPECT_EQ(Run({"replay", gz}), 3);
  EXPECT_NE(err_.find("c.pcap.gz: is gzip-compressed; gunzip it first"), std::string::npos) << err_;
  EXPECT_EQ(Run({"replay", kDemo, "tcp", kDemo}), 2);
  EXPECT_NE(err_.find("capture files come first"), std::string::npos) << err_;
  EXPECT_EQ(Run({"replay", "-", "-"}), 2);
  EXPECT_NE(err_.find("standard input ('-') can be read only once"), std::string::npos) << err_;
  // A valid filter after the files still works, and options after it are options.
  EXPECT_EQ(Run({"replay", kDemo, "tcp", "port", "5202", "-q"}), 0) << err_;
  EXPECT_TRUE(err_.empty()) << err_;
  EXPECT_NE(out_.find("\"kind\":\"throttle\""), std::string::npos) << out_;
}

// The event lines of a stream, without its header (which names the inputs) and without their
// chain values (which follow from the header).
std::string EventRecords(const std::string& stream) {
  std::string out;
  size_t start = 0;
  for (size_t nl; (nl = stream.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = stream.substr(start, nl - start);
    if (line.find("\"record\":\"header\"") != std::string::npos) continue;
    const size_t chain = line.rfind(",\"chain\":\"");
    if (chain != std::string::npos) line = line.substr(0, chain) + "}";
    out += line + "\n";
  }
  return out;
}

// "-" is standard input, as FILE or as -r's value, pcap or pcapng, piped or redirected, with
// the local side inferred from it: the same events as from the file.
TEST_F(CliTest, SummarySaysPlainlyWhenNothingWasAnalysed) {
  // A local side that holds both ends of every flow: nothing crosses it.
  ASSERT_EQ(Run({"replay", "--local", "10.77.0.0/16", kDemo}), 0) << err_;
  EXPECT_NE(err_.find("0 flows seen"), std::string::npos) << err_;
  EXPECT_NE(err_.find("packets had both ends local"), std::string::npos) << err_;
  EXPECT_NE(err_.find("nothing was analysed: no packet had exactly one end in the local side "
                      "10.77.0.0/16"),
            std::string::npos)
      << err_;
}

TEST_F(CliTest, SummaryNamesTheLongestSilence) {
  // 30 s without a packet either way: a capture that stopped, or a quiet link; the summary
  // says which stretch, so that no one reads "no outage" into it.
  const std::string path = (dir_ / "silent.pcap").string();
  {
    testing::SyntheticCapture c(path);
    for (double t : {0.0, 1.0, 31.0}) c.Tcp(1'700'000'000 + t, true, 40000, 443, 1, 0, 0x10);
  }
  ASSERT_EQ(Run({"replay", "--local", "10.0.0.0/24", path}), 0) << err_;
  EXPECT_NE(err_.find("no packet at all for 30.0 s after 2023-11-14T22:13:21"), std::string::npos)
      << err_;
  EXPECT_NE(err_.find("(1 silence of 10 s or more)"), std::string::npos) << err_;
  ASSERT_EQ(Run({"replay", kDemo}), 0) << err_;
  EXPECT_EQ(err_.find("no packet at all"), std::string::npos) << err_;
}

TEST_F(CliTest, ReplayReadsStandardInput) {
  ASSERT_EQ(Run({"replay", "--threads", "1", kDemo}), 0) << err_;
  const std::string events = EventRecords(out_);
  ASSERT_NE(events.find("\"kind\":\"throttle\""), std::string::npos) << events;
  const std::string local_line = err_.substr(0, err_.find('\n'));
  ASSERT_NE(local_line.find("(inferred"), std::string::npos) << err_;
  const std::vector<uint8_t> pcap = testing::ReadBytes(kDemo);
  const std::vector<uint8_t> pcapng = testing::PcapToPcapng(pcap);
  ASSERT_FALSE(pcapng.empty());
  const std::string ng = (dir_ / "demo.pcapng").string();
  testing::WriteBytes(ng, pcapng);
  const struct {
    const std::vector<uint8_t>* piped;  // else redirected from `file`
    std::string file;
    std::vector<std::string> args;
  } cases[] = {
      {&pcap, "", {"replay", "-"}},
      {&pcapng, "", {"replay", "-r", "-", "--threads", "2"}},
      {nullptr, ng, {"replay", "--threads", "1", "-"}},
      {nullptr, kDemo, {"-r", "-"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args[1] + (c.piped != nullptr ? " piped" : " redirected from " + c.file));
    testing::StdinPipe in =
        c.piped != nullptr ? testing::StdinPipe(*c.piped) : testing::StdinPipe(c.file);
    ASSERT_TRUE(in.ok());
    ASSERT_EQ(RunArgs(c.args), 0) << err_;
    EXPECT_EQ(EventRecords(out_), events);
    EXPECT_NE(out_.find("\"sha256\":null"), std::string::npos) << "stdin is not hashed";
    EXPECT_EQ(err_.substr(0, err_.find('\n')), local_line);
  }
}

TEST_F(CliTest, UnsupportedLinkTypeIsFatalInPcapAndPcapngAlike) {
  for (const char* name : {"unknown_link_type.pcap", "unknown_link_type.pcapng"}) {
    EXPECT_EQ(Run({"replay", Crafted(name)}), 3) << name;
    EXPECT_NE(err_.find(std::string(name) + ": byte "), std::string::npos) << err_;
    EXPECT_NE(err_.find("unsupported link type 147"), std::string::npos) << err_;
  }
  // Mixed with decodable interfaces, the unsupported one's packets are skipped (and counted).
  EXPECT_EQ(Run({"replay", Crafted("multi_interface.pcapng")}), 0) << err_;
}

TEST_F(CliTest, AnonymizeRewritesEveryAddressInEventsAndSummary) {
  const std::string key = File("key", std::string(32, '\x5a'));
  chmod(key.c_str(), 0600);
  const std::string events = (dir_ / "events.jsonl").string();
  ASSERT_EQ(Run({"replay", "--events", events, "--anonymize", key, kDemo}), 0) << err_;
  const std::string json = Slurp(events);
  testing::KeepLines(json);
  ASSERT_NE(json.find("\"kind\":\"throttle\""), std::string::npos) << json;
  // The demo's office (10.77.1.0/24) and server (10.77.2.2) appear nowhere.
  for (const std::string& text : {json, err_}) {
    EXPECT_EQ(text.find("10.77."), std::string::npos) << text;
  }
  EXPECT_NE(json.find("\"local\":\""), std::string::npos);
  // Stable across runs with the same key.
  const std::string again = (dir_ / "again.jsonl").string();
  ASSERT_EQ(Run({"replay", "-q", "--events", again, "--anonymize=" + key, kDemo}), 0) << err_;
  EXPECT_EQ(Slurp(again), json);
  // And the same events as without anonymization, but for the addresses.
  const std::string plain = (dir_ / "plain.jsonl").string();
  ASSERT_EQ(Run({"replay", "-q", "--events", plain, kDemo}), 0) << err_;
  EXPECT_NE(Slurp(plain), json);
  EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), [&] {
    const std::string p = Slurp(plain);
    return std::count(p.begin(), p.end(), '\n');
  }());
}

TEST_F(CliTest, AnonymizeRefusesAnUnsafeOrMalformedKey) {
  const std::string open_key = File("open.key", std::string(32, 'k'));
  chmod(open_key.c_str(), 0644);
  EXPECT_EQ(Run({"replay", "--anonymize", open_key, kDemo}), 2);
  EXPECT_NE(err_.find("open.key"), std::string::npos) << err_;
  EXPECT_NE(err_.find("chmod 600"), std::string::npos) << err_;
  const std::string short_key = File("short.key", std::string(16, 'k'));
  chmod(short_key.c_str(), 0600);
  EXPECT_EQ(Run({"replay", "--anonymize", short_key, kDemo}), 2);
  EXPECT_NE(err_.find("need exactly 32"), std::string::npos) << err_;
  EXPECT_TRUE(out_.empty()) << "nothing may be written unanonymized: " << out_;
}

TEST_F(CliTest, LiveReportAndAnonymizeOptionsAreCheckedBeforeCapturing) {
  // Each of these must fail on its options, before any interface is opened.
  EXPECT_EQ(Run({"live", "-i", "lo", "--report-every", "60"}), 2);
  EXPECT_NE(err_.find("need --report"), std::string::npos) << err_;
  EXPECT_EQ(Run({"live", "-i", "lo", "--report", "r.html", "--report-every", "1"}), 2);
  EXPECT_NE(err_.find("10 to 86400"), std::string::npos) << err_;
  EXPECT_EQ(Run({"live", "-i", "lo", "--report", "r.html", "--report-window", "5"}), 2);
  const std::string open_key = File("open.key", std::string(32, 'k'));
  chmod(open_key.c_str(), 0644);
  EXPECT_EQ(Run({"live", "-i", "lo", "--anonymize", open_key}), 2);
  EXPECT_NE(err_.find("chmod 600"), std::string::npos) << err_;
}

TEST_F(CliTest, LiveRefusesAMetricsAuthFileOthersCanRead) {
  // An interface that does not exist: were the file accepted, live would fail later with 1.
  const std::string auth = File("metrics.auth", "prom:s3cret\n");
  chmod(auth.c_str(), 0640);
  EXPECT_EQ(Run({"live", "-i", "tw-none0", "--metrics-auth-file", auth}), 2);
  EXPECT_NE(err_.find("metrics auth file " + auth), std::string::npos) << err_;
  EXPECT_NE(err_.find("0640"), std::string::npos) << err_;
  EXPECT_NE(err_.find("chmod 600"), std::string::npos) << err_;
  const std::string malformed = File("malformed.auth", "no-colon-here\n");
  chmod(malformed.c_str(), 0600);
  EXPECT_EQ(Run({"live", "-i", "tw-none0", "--metrics-auth-file=" + malformed}), 2);
  EXPECT_NE(err_.find("USER:PASSWORD"), std::string::npos) << err_;
  // A private file passes the check: live goes on to the interface, which does not exist.
  chmod(auth.c_str(), 0600);
  EXPECT_EQ(Run({"live", "-i", "tw-none0", "--metrics-auth-file", auth}), 1);
  EXPECT_EQ(err_.find("metrics auth file"), std::string::npos) << err_;
}

TEST_F(CliTest, OutputFilesArePrivateWhateverTheUmask) {
  const std::string events = (dir_ / "events.jsonl").string();
  const std::string report = (dir_ / "r.html").string(), series = (dir_ / "s.csv").string(),
                    flows = (dir_ / "f.jsonl").string();
  const mode_t old = umask(0);
  const int rc = Run({"replay", "-q", "--events", events, "--report", report, "--series", series,
                      "--flows", flows, kDemo});
  umask(old);
  ASSERT_EQ(rc, 0) << err_;
  testing::KeepLines(Slurp(events) + Slurp(flows));
  struct stat st {};
  for (const std::string& f : {events, report, series, flows}) {
    ASSERT_EQ(stat(f.c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  // An existing, more open file of ours is tightened.
  chmod(events.c_str(), 0666);
  ASSERT_EQ(Run({"replay", "-q", "--events", events, kDemo}), 0) << err_;
  ASSERT_EQ(stat(events.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CliTest, VerifyChecksTheChainOfAReplaysEvents) {
  const std::string events = (dir_ / "events.jsonl").string(), report = (dir_ / "r.html").string();
  ASSERT_EQ(Run({"replay", "--events", events, "--report", report, kDemo}), 0) << err_;
  const std::string text = Slurp(events);
  testing::KeepLines(text);
  const std::string head = text.substr(text.size() - 67, 64);
  // The summary and the report show the head; the report the input's SHA-256 too.
  EXPECT_NE(err_.find("event chain head " + head), std::string::npos) << err_;
  const std::string html = Slurp(report);
  EXPECT_NE(html.find("<code>" + head + "</code>"), std::string::npos);
  const size_t sha = text.find("\"sha256\":\"");
  ASSERT_NE(sha, std::string::npos) << text;
  EXPECT_NE(html.find("<code>" + text.substr(sha + 10, 64) + "</code>"), std::string::npos);

  EXPECT_EQ(Run({"verify", events}), 0) << out_ << err_;
  const long lines = std::count(text.begin(), text.end(), '\n');
  EXPECT_EQ(out_, "ok: " + std::to_string(lines) + " lines, head " + head + "\n");
  EXPECT_EQ(Run({"verify", "--head", head, events}), 0) << out_;
  // One byte changed: exit 4, and the line is named.
  std::string edited = text;
  edited[edited.find("\"kind\":\"throttle\"") + 8] = 'T';
  const std::string bad = File("edited.jsonl", edited);
  EXPECT_EQ(Run({"verify", bad}), 4);
  EXPECT_NE(out_.find("edited.jsonl: line 2: chain broken (edited, deleted or reordered line)"),
            std::string::npos)
      << out_;
  EXPECT_EQ(Run({"verify"}), 2);
  EXPECT_EQ(Run({"verify", "--help"}), 0);
  EXPECT_NE(out_.find("verify [--head HEX] EVENTS..."), std::string::npos);
}

TEST_F(CliTest, LiveSensorNeedsAName) {
  EXPECT_EQ(Run({"live", "--sensor="}), 2);
  EXPECT_NE(err_.find("--sensor needs a name"), std::string::npos) << err_;
  EXPECT_EQ(Run({"live", "--sensor"}), 2);
}

TEST_F(CliTest, LiveConfigFileErrorsNameTheLine) {
  const std::string bad_value = File("bad_value.conf", "# the uplink\nsensor = a\n\nbin = 100\n");
  EXPECT_EQ(Run({"live", "--config", bad_value}), 2);
  EXPECT_NE(err_.find(bad_value + ":4: --bin takes seconds from 0.1 to 60"), std::string::npos)
      << err_;
  const std::string unknown = File("unknown.conf", "threads = 2\n");  // replay's, not live's
  EXPECT_EQ(Run({"live", "--config=" + unknown}), 2);
  EXPECT_NE(err_.find(unknown + ":1: unknown option 'threads'"), std::string::npos) << err_;
  const std::string switch_value = File("switch.conf", "promisc = yes\n");
  EXPECT_EQ(Run({"live", "--config", switch_value}), 2);
  EXPECT_NE(err_.find(switch_value + ":1: 'promisc' takes no value"), std::string::npos) << err_;
  const std::string nested = File("nested.conf", "config = " + bad_value + "\n");
  EXPECT_EQ(Run({"live", "--config", nested}), 2);
  EXPECT_NE(err_.find(nested + ":1: a configuration file cannot name another"), std::string::npos);
  EXPECT_EQ(Run({"live", "--config", (dir_ / "missing.conf").string()}), 2);
  EXPECT_NE(err_.find("missing.conf: No such file or directory"), std::string::npos) << err_;
  EXPECT_EQ(Run({"live", "--config"}), 2);
  // The file's errors come first; the command line's own are not named by a line.
  const std::string fine = File("fine.conf", "sensor = a\n");
  EXPECT_EQ(Run({"live", "--config", fine, "--bin", "100"}), 2);
  EXPECT_NE(err_.find("throttlewatch: --bin takes"), std::string::npos) << err_;
}

TEST_F(CliTest, LiveCommandLineOverridesTheConfigFile) {
  // No interface of these names exists: the daemon stops at opening the capture, naming the
  // interface it was given.
  const std::string conf = File("live.conf", "i = twnosuch0\nmetrics = none\n");
  EXPECT_EQ(Run({"live", "--config", conf}), 1);
  EXPECT_NE(err_.find("twnosuch0: no such interface"), std::string::npos) << err_;
  EXPECT_EQ(Run({"live", "--config", conf, "--interface", "twnosuch1"}), 1);
  EXPECT_NE(err_.find("twnosuch1: no such interface"), std::string::npos) << err_;
  EXPECT_EQ(err_.find("twnosuch0"), std::string::npos) << err_;
  // A later file overrides an earlier one too.
  const std::string later = File("later.conf", "interface = twnosuch2\n");
  EXPECT_EQ(Run({"live", "--config", conf, "--config", later}), 1);
  EXPECT_NE(err_.find("twnosuch2: no such interface"), std::string::npos) << err_;
}

TEST_F(CliTest, HelpAndVersion) {
  EXPECT_EQ(Run({"--help"}), 0);
  EXPECT_NE(out_.find("replay"), std::string::npos);
  EXPECT_NE(out_.find("3 broken capture file"), std::string::npos);
  EXPECT_NE(out_.find("4 verify: the chain is broken"), std::string::npos);
  EXPECT_EQ(Run({"--version"}), 0);
  EXPECT_EQ(out_.rfind("throttlewatch ", 0), 0u);
}

}  // namespace
}  // namespace tw::detector
