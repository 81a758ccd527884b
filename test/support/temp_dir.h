#ifndef THROTTLEWATCH_TEST_SUPPORT_TEMP_DIR_H_
#define THROTTLEWATCH_TEST_SUPPORT_TEMP_DIR_H_
// The one temporary-directory fixture: each test gets a fresh directory of its own under the
// build tree (TW_BINARY_DIR/test-tmp/SUITE.TEST.PID), mode 0700, empty when the test starts
// and removed when it ends, so tests running in parallel never share files and none are left.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace tw::testing {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* t = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(TW_BINARY_DIR) / "test-tmp" /
           (std::string(t->test_suite_name()) + "." + t->name() + "." + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // A path inside the test's directory.
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_TEMP_DIR_H_
