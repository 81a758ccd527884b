#include "detector/app/config_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "test/support/temp_dir.h"

namespace tw::detector {
namespace {

using Args = std::vector<std::string>;

std::vector<ConfigOption> Parse(const std::string& text) {
  std::vector<ConfigOption> out;
  std::string error;
  EXPECT_TRUE(ParseConfig(text, "tw.conf", &out, &error)) << error;
  return out;
}

std::string Error(const std::string& text) {
  std::vector<ConfigOption> out;
  std::string error;
  EXPECT_FALSE(ParseConfig(text, "tw.conf", &out, &error)) << text;
  return error;
}

TEST(ConfigFileTest, LinesBecomeTheCommandLinesArguments) {
  const auto options = Parse(
      "# the uplink\n"
      "\n"
      "interface = eth0\n"
      "  promisc  \n"
      "probe=dns:example.org\n"
      "i = eth1\r\n"
      "local = 192.0.2.0/24, 2001:db8::/32 \n");
  ASSERT_EQ(options.size(), 5u);
  EXPECT_EQ(options[0].args, (Args{"--interface", "eth0"}));
  EXPECT_EQ(options[0].where, "tw.conf:3");
  EXPECT_EQ(options[1].args, (Args{"--promisc"}));
  EXPECT_EQ(options[1].where, "tw.conf:4");
  EXPECT_EQ(options[2].args, (Args{"--probe", "dns:example.org"}));
  EXPECT_EQ(options[3].args, (Args{"-i", "eth1"}));  // one letter: the short option
  EXPECT_EQ(options[4].args, (Args{"--local", "192.0.2.0/24, 2001:db8::/32"}));
  EXPECT_EQ(options[4].where, "tw.conf:7");
}

TEST(ConfigFileTest, AValueKeepsItsHashAndEqualsSigns) {
  const auto options = Parse("sensor = rack#2=a\n");
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(options[0].args, (Args{"--sensor", "rack#2=a"}));
}

TEST(ConfigFileTest, AnEmptyFileHasNoOptions) {
  EXPECT_TRUE(Parse("").empty());
  EXPECT_TRUE(Parse("# nothing\n\n   \n").empty());
}

TEST(ConfigFileTest, MalformedLinesAreNamedWithTheirLine) {
  EXPECT_EQ(Error("sensor = a\n--bin = 1\n"),
            "tw.conf:2: options are written without dashes: '--bin = 1'");
  EXPECT_EQ(Error("bin 1\n"), "tw.conf:1: not 'name = value' or 'name': 'bin 1'");
  EXPECT_EQ(Error("\n\nBin = 1\n"), "tw.conf:3: not 'name = value' or 'name': 'Bin = 1'");
  EXPECT_EQ(Error("= 1\n"), "tw.conf:1: not 'name = value' or 'name': '= 1'");
  EXPECT_EQ(Error("bin =\n"), "tw.conf:1: 'bin =' needs a value");
}

class ConfigFileReadTest : public tw::testing::TempDirTest {};

TEST_F(ConfigFileReadTest, ReadsAFileOrSaysWhyNot) {
  const std::string path = (dir_ / "tw.conf").string();
  std::ofstream(path) << "sensor = a\n";
  std::vector<ConfigOption> out;
  std::string error;
  ASSERT_TRUE(ReadConfigFile(path, &out, &error)) << error;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].where, path + ":1");

  std::ofstream(path, std::ios::trunc).flush();  // empty
  out.clear();
  EXPECT_TRUE(ReadConfigFile(path, &out, &error)) << error;
  EXPECT_TRUE(out.empty());

  EXPECT_FALSE(ReadConfigFile((dir_ / "missing.conf").string(), &out, &error));
  EXPECT_NE(error.find("missing.conf: No such file or directory"), std::string::npos) << error;
}

}  // namespace
}  // namespace tw::detector
