#include "detector/app/help.h"

#include <gtest/gtest.h>

#include <string>

namespace tw::detector {
namespace {

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HelpTest, EachCommandShowsItsOwnOptionsOnly) {
  const std::string replay = CommandHelp("replay");
  EXPECT_TRUE(Has(replay, "usage: throttlewatch replay"));
  EXPECT_TRUE(Has(replay, "--threads N"));
  EXPECT_FALSE(Has(replay, "--probe"));
  EXPECT_FALSE(Has(replay, "--penalty"));

  const std::string live = CommandHelp("live");
  EXPECT_TRUE(Has(live, "usage: throttlewatch live"));
  EXPECT_TRUE(Has(live, "--config FILE"));
  EXPECT_TRUE(Has(live, "--sensor NAME"));
  EXPECT_TRUE(Has(live, "--probe HOST:PORT"));
  EXPECT_FALSE(Has(live, "--threads"));
  EXPECT_FALSE(Has(live, "--penalty"));

  const std::string changepoints = CommandHelp("changepoints");
  EXPECT_TRUE(Has(changepoints, "--penalty P"));
  EXPECT_FALSE(Has(changepoints, "--probe"));

  const std::string verify = CommandHelp("verify");
  EXPECT_TRUE(Has(verify, "--head HEX"));
  EXPECT_FALSE(Has(verify, "--probe"));

  EXPECT_EQ(CommandHelp("demo"), replay);  // demo replays
  for (const char* cmd : {"replay", "live", "changepoints", "verify"}) {
    EXPECT_TRUE(Has(CommandHelp(cmd), "exit status: 0 ok")) << cmd;
  }
  EXPECT_EQ(CommandHelp("frobnicate"), "");
}

TEST(HelpTest, TheFullHelpHoldsEveryCommandsOptions) {
  const std::string full = FullHelp();
  EXPECT_TRUE(Has(full, "usage: throttlewatch [COMMAND] [OPTIONS]"));
  for (const char* part : {"replay options:", "live options",
                           "changepoints options:", "verify options:", "exit status:"}) {
    EXPECT_TRUE(Has(full, part)) << part;
  }
  EXPECT_FALSE(Has(full, "usage: throttlewatch live"));  // each command's usage line: its own
}

}  // namespace
}  // namespace tw::detector
