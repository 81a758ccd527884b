#ifndef THROTTLEWATCH_TEST_SUPPORT_SCHEMA_LINES_H_
#define THROTTLEWATCH_TEST_SUPPORT_SCHEMA_LINES_H_
// The event, header and flow lines a C++ test made, kept for the suite's schema check: the
// schema_lines_check test (test/schema/validate_lines.py) runs after the tests that keep lines
// and validates every one against schema/. KeepLines() appends `text` (lines separated by '\n')
// to $TW_SCHEMA_LINES/<suite>.<test>.jsonl when that variable is set (ctest sets it for the tests
// declared with LINES in test/CMakeLists.txt), and does nothing otherwise. An event or header
// line not sealed yet (EventToJson's, ReplayHeader's) is kept sealed, as a stream writes it.
// Keep only what the writers made: a line a test edited on purpose fails the check.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "detector/outputs/evidence_chain.h"

namespace tw::testing {

inline void KeepLines(std::string_view text) {
  const char* dir = std::getenv("TW_SCHEMA_LINES");
  if (dir == nullptr || *dir == '\0') return;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name =
      info == nullptr ? "global" : std::string(info->test_suite_name()) + "." + info->name();
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  std::filesystem::create_directories(dir);
  std::ofstream out(std::filesystem::path(dir) / (name + ".jsonl"), std::ios::app);
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    const bool unsealed = detector::ChainOf(line).empty() &&
                          line.find("\"record\":\"flow\"") == std::string_view::npos;
    out << (unsealed ? detector::SealLine(detector::kChainGenesis, line, nullptr)
                     : std::string(line))
        << '\n';
  }
  ASSERT_TRUE(out.good()) << "cannot keep lines in " << dir;
}

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_SCHEMA_LINES_H_
