#ifndef THROTTLEWATCH_UTIL_PRIVATE_FILES_H_
#define THROTTLEWATCH_UTIL_PRIVATE_FILES_H_

#include <cstdio>
#include <string>

namespace tw::util {

// Files and directories throttlewatch writes hold evidence about the people on the link, so
// only their owner may read them, whatever the umask: files are created 0600 (an existing
// regular file that we own is tightened to that mode; devices, pipes and other people's files
// are left as they are).

// Opens `path` for writing (truncating), mode 0600. Returns nullptr and sets *error (naming
// the file) on failure. The caller closes the stream with fclose().
std::FILE* OpenPrivateFile(const std::string& path, std::string* error);

}  // namespace tw::util

#endif  // THROTTLEWATCH_UTIL_PRIVATE_FILES_H_
