#include "util/private_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace tw::util {
namespace {

namespace fs = std::filesystem;

class PrivateFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tw_private_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    old_umask_ = umask(0);  // the most permissive umask: modes must not depend on it
  }
  void TearDown() override {
    umask(old_umask_);
    fs::remove_all(dir_);
  }
  static mode_t Mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  fs::path dir_;
  mode_t old_umask_ = 0;
};

TEST_F(PrivateFilesTest, FilesAre0600WhateverTheUmask) {
  std::string error;
  const fs::path state = dir_ / "state";
  fs::create_directories(state);
  std::FILE* f = OpenPrivateFile((state / "events.jsonl").string(), &error);
  ASSERT_NE(f, nullptr) << error;
  std::fputs("{}\n", f);
  std::fclose(f);
  EXPECT_EQ(Mode(state / "events.jsonl"), 0600u);
}

TEST_F(PrivateFilesTest, TightensWhatAlreadyExists) {
  std::string error;
  fs::create_directories(dir_);
  const fs::path file = dir_ / "old.jsonl";
  std::fclose(std::fopen(file.c_str(), "w"));
  chmod(file.c_str(), 0644);
  std::FILE* f = OpenPrivateFile(file.string(), &error);
  ASSERT_NE(f, nullptr) << error;
  std::fclose(f);
  EXPECT_EQ(Mode(file), 0600u);
}

TEST_F(PrivateFilesTest, FailuresNameThePath) {
  std::string error;
  EXPECT_EQ(OpenPrivateFile("/nonexistent-dir/x/events.jsonl", &error), nullptr);
  EXPECT_NE(error.find("/nonexistent-dir/x/events.jsonl"), std::string::npos) << error;
  fs::create_directories(dir_);
  std::fclose(std::fopen((dir_ / "plain").c_str(), "w"));
  EXPECT_EQ(OpenPrivateFile((dir_ / "plain" / "sub").string(), &error), nullptr);
  EXPECT_NE(error.find("plain/sub"), std::string::npos) << error;
}

}  // namespace
}  // namespace tw::util
