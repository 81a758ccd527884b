#ifndef THROTTLEWATCH_DETECTOR_DAEMON_PRIVATE_FILES_H_
#define THROTTLEWATCH_DETECTOR_DAEMON_PRIVATE_FILES_H_

#include <cstdio>
#include <string>

namespace tw::detector {

// Files and directories throttlewatch writes hold evidence about the people on the link, so
// only their owner may read them, whatever the umask: files are created 0600 and directories
// 0700 (an existing regular file or directory that we own is tightened to that mode; devices,
// pipes and other people's files are left as they are).

// Opens `path` for writing (truncating), mode 0600. Returns nullptr and sets *error (naming
// the file) on failure. The caller closes the stream with fclose().
std::FILE* OpenPrivateFile(const std::string& path, std::string* error);

// Creates directory `path` (and missing parents) with mode 0700, or tightens an existing one
// that we own. False with *error set on failure.
bool MakePrivateDirectory(const std::string& path, std::string* error);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_DAEMON_PRIVATE_FILES_H_
