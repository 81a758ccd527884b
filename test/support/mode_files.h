#ifndef THROTTLEWATCH_TEST_SUPPORT_MODE_FILES_H_
#define THROTTLEWATCH_TEST_SUPPORT_MODE_FILES_H_

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace tw::testing {

// Small files with a chosen mode, for the checks that refuse files others can read (the
// --anonymize key, the metrics password): each test gets new paths, removed after it.
class ModeFilesTest : public ::testing::Test {
 protected:
  // A new file holding `bytes`, with mode `mode` (whatever the umask).
  std::string Write(const std::string& bytes, mode_t mode) {
    const std::string path = ::testing::TempDir() + "/tw_mode_" + std::to_string(getpid()) + "_" +
                             std::to_string(paths_.size());
    std::ofstream(path, std::ios::binary) << bytes;
    chmod(path.c_str(), mode);
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const auto& p : paths_) std::remove(p.c_str());
  }

 private:
  std::vector<std::string> paths_;
};

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_MODE_FILES_H_
