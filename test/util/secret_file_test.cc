#include "util/secret_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "test/support/mode_files.h"

namespace tw::util {
namespace {

using SecretFileTest = tw::testing::ModeFilesTest;

TEST_F(SecretFileTest, ReadsAFileOnlyItsOwnerCanReadWhole) {
  const std::string bytes("se\0cr\net\xff", 9);
  std::string contents, error;
  ASSERT_TRUE(ReadSecretFile(Write(bytes, 0600), "secret", 64, &contents, &error)) << error;
  EXPECT_EQ(contents, bytes);
  ASSERT_TRUE(ReadSecretFile(Write(bytes, 0400), "secret", 9, &contents, &error)) << error;
  EXPECT_EQ(contents, bytes);
  ASSERT_TRUE(ReadSecretFile(Write("", 0600), "secret", 9, &contents, &error)) << error;
  EXPECT_EQ(contents, "");
}

TEST_F(SecretFileTest, RefusesEveryGroupOrOtherPermissionBit) {
  for (const mode_t bit : {0040, 0020, 0010, 0004, 0002, 0001}) {
    const std::string path = Write("secret", 0600 | bit);
    std::string contents = "stale", error;
    EXPECT_FALSE(ReadSecretFile(path, "password file", 64, &contents, &error)) << std::oct << bit;
    EXPECT_TRUE(contents.empty()) << "nothing of a refused file may be read";
    char mode[16];
    std::snprintf(mode, sizeof(mode), "%04o", unsigned(0600 | bit));
    EXPECT_EQ(error, "password file " + path + ": readable or writable by group or others (mode " +
                         mode + "); only its owner may have access: chmod 600 " + path);
  }
}

TEST_F(SecretFileTest, RefusesAMissingFileADirectoryOrADevice) {
  std::string contents, error;
  EXPECT_FALSE(ReadSecretFile("/nonexistent/secret", "key file", 64, &contents, &error));
  EXPECT_EQ(error.rfind("key file /nonexistent/secret: ", 0), 0u) << error;
  EXPECT_FALSE(ReadSecretFile(::testing::TempDir(), "key file", 64, &contents, &error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
  EXPECT_FALSE(ReadSecretFile("/dev/null", "key file", 64, &contents, &error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
}

TEST_F(SecretFileTest, RefusesAFileLargerThanAllowed) {
  std::string contents, error;
  ASSERT_TRUE(ReadSecretFile(Write(std::string(32, 'k'), 0600), "key file", 32, &contents, &error))
      << error;
  EXPECT_EQ(contents.size(), 32u);
  EXPECT_FALSE(
      ReadSecretFile(Write(std::string(33, 'k'), 0600), "key file", 32, &contents, &error));
  EXPECT_NE(error.find("33 bytes, more than the 32"), std::string::npos) << error;
  EXPECT_TRUE(contents.empty());
}

}  // namespace
}  // namespace tw::util
