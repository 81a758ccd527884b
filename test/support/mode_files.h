#ifndef THROTTLEWATCH_TEST_SUPPORT_MODE_FILES_H_
#define THROTTLEWATCH_TEST_SUPPORT_MODE_FILES_H_

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "test/support/temp_dir.h"

namespace tw::testing {

// Small files with a chosen mode, for the checks that refuse files others can read (the
// --anonymize key, the metrics password): each test gets new paths in its own directory.
class ModeFilesTest : public TempDirTest {
 protected:
  // A new file holding `bytes`, with mode `mode` (whatever the umask).
  std::string Write(const std::string& bytes, mode_t mode) {
    const std::string path = Path("mode_" + std::to_string(files_++));
    std::ofstream(path, std::ios::binary) << bytes;
    chmod(path.c_str(), mode);
    return path;
  }

 private:
  int files_ = 0;
};

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_MODE_FILES_H_
