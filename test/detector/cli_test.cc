#include "detector/cli.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

namespace tw::detector {
namespace {

namespace fs = std::filesystem;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tw_cli_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  int Run(std::initializer_list<std::string> args) {
    std::vector<std::string> storage{"throttlewatch"};
    storage.insert(storage.end(), args);
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

  fs::path dir_;
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

TEST_F(CliTest, ChangepointsRejectsEmptyAndNonNumericInput) {
  EXPECT_EQ(Run({"changepoints", File("empty.txt", "")}), 2);
  EXPECT_NE(err_.find("no numbers"), std::string::npos);
  EXPECT_EQ(Run({"changepoints", File("bad.txt", "1\n2\nbanana\n")}), 2);
  EXPECT_NE(err_.find("line 3"), std::string::npos);
  EXPECT_EQ(Run({"changepoints"}), 2);
  EXPECT_EQ(Run({"changepoints", (dir_ / "missing").string()}), 2);
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({"frobnicate"}), 2);
  EXPECT_EQ(Run({"replay"}), 2);
  EXPECT_EQ(Run({"replay", "--bin", "0.01", "x.pcap"}), 2);
  EXPECT_EQ(Run({"replay", "--no-such-option"}), 2);
  EXPECT_EQ(Run({"replay", (dir_ / "missing.pcap").string()}), 2);
  EXPECT_NE(err_.find("missing.pcap"), std::string::npos);
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

TEST_F(CliTest, HelpAndVersion) {
  EXPECT_EQ(Run({"--help"}), 0);
  EXPECT_NE(out_.find("replay"), std::string::npos);
  EXPECT_NE(out_.find("3 broken capture file"), std::string::npos);
  EXPECT_EQ(Run({"--version"}), 0);
  EXPECT_EQ(out_.rfind("throttlewatch ", 0), 0u);
}

}  // namespace
}  // namespace tw::detector
