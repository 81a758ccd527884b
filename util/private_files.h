#ifndef THROTTLEWATCH_UTIL_PRIVATE_FILES_H_
#define THROTTLEWATCH_UTIL_PRIVATE_FILES_H_
// The one place output files are opened. Files throttlewatch writes hold evidence about the
// people on the link, so only their owner may read them, whatever the umask: files are created
// 0600, and an existing regular file that we own is tightened to that mode (devices, pipes and
// other people's files are left as they are).

#include <cstdio>
#include <functional>
#include <ostream>
#include <string>

namespace tw::util {

enum class PrivateOpen {
  // Write, truncating: the outputs of a command. A symlink is followed (`--report /dev/stdout`
  // names one); devices and pipes are accepted.
  kTruncate,
  // Read and append: a file that lives on and is written by a daemon (the event file). The
  // final path component must not be a symlink and the file must be a regular file.
  kAppendRead,
};

// Opens `path` as `how` says, mode 0600. Returns the descriptor, or -1 with *error set to
// "PATH: reason".
int OpenPrivateFd(const std::string& path, PrivateOpen how, std::string* error);

// OpenPrivateFd(kTruncate) as a stream. Returns nullptr and sets *error ("cannot write PATH:
// reason") on failure. The caller closes the stream with fclose().
std::FILE* OpenPrivateFile(const std::string& path, std::string* error);

// Creates or truncates `path` (kTruncate) and writes it through `write`, on the descriptor it
// opened (the path is never opened a second time). False with *error set ("PATH: reason") when
// the file cannot be opened, `write` returns false, or a write fails.
bool WritePrivateFile(const std::string& path, const std::function<bool(std::ostream&)>& write,
                      std::string* error);

}  // namespace tw::util

#endif  // THROTTLEWATCH_UTIL_PRIVATE_FILES_H_
