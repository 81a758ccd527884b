#include "util/private_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "test/support/temp_dir.h"

namespace tw::util {
namespace {

namespace fs = std::filesystem;

class PrivateFilesTest : public tw::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    old_umask_ = umask(0);  // the most permissive umask: modes must not depend on it
  }
  void TearDown() override {
    umask(old_umask_);
    TempDirTest::TearDown();
  }
  static mode_t Mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
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

// Written through the one descriptor it opened: the contents, mode 0600, and a failed writer
// is an error naming the path.
TEST_F(PrivateFilesTest, WritePrivateFileWritesThroughOneDescriptor) {
  std::string error;
  fs::create_directories(dir_);
  const fs::path file = dir_ / "report.html";
  ASSERT_TRUE(WritePrivateFile(
      file.string(), [](std::ostream& o) { return bool(o << std::string(100000, 'x') << "end"); },
      &error))
      << error;
  EXPECT_EQ(fs::file_size(file), 100003u);
  EXPECT_EQ(Mode(file), 0600u);
  EXPECT_FALSE(WritePrivateFile(
      file.string(), [](std::ostream&) { return false; }, &error));
  EXPECT_NE(error.find("report.html"), std::string::npos) << error;
  EXPECT_FALSE(
      WritePrivateFile((dir_ / "no" / "dir").string(), [](std::ostream&) { return true; }, &error));
}

// The daemon's event file is appended to, never through a symlink, and only if it is a regular
// file; a command's output may be a symlink (`/dev/stdout` is one) or a device.
TEST_F(PrivateFilesTest, AppendOpensRegularFilesOnlyAndNeverThroughASymlink) {
  std::string error;
  fs::create_directories(dir_);
  const fs::path real = dir_ / "events.jsonl", link = dir_ / "link.jsonl";
  int fd = OpenPrivateFd(real.string(), PrivateOpen::kAppendRead, &error);
  ASSERT_GE(fd, 0) << error;
  ::close(fd);
  EXPECT_EQ(Mode(real), 0600u);
  fs::create_symlink(real, link);
  EXPECT_EQ(OpenPrivateFd(link.string(), PrivateOpen::kAppendRead, &error), -1);
  EXPECT_NE(error.find("link.jsonl"), std::string::npos) << error;
  EXPECT_EQ(OpenPrivateFd("/dev/null", PrivateOpen::kAppendRead, &error), -1);
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
  fd = OpenPrivateFd(link.string(), PrivateOpen::kTruncate, &error);
  EXPECT_GE(fd, 0) << error;
  if (fd >= 0) ::close(fd);
  fd = OpenPrivateFd("/dev/null", PrivateOpen::kTruncate, &error);
  EXPECT_GE(fd, 0) << error;
  if (fd >= 0) ::close(fd);
}

}  // namespace
}  // namespace tw::util
