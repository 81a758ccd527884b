#include "util/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tw::util {

namespace {
// Tightens an open file or directory we own to `mode` when it is a regular file or directory.
bool Tighten(int fd, mode_t mode) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  if (!(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) || st.st_uid != ::geteuid()) return true;
  if ((st.st_mode & 07777) == mode) return true;
  return ::fchmod(fd, mode) == 0;
}
}  // namespace

std::FILE* OpenPrivateFile(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || !Tighten(fd, 0600)) {
    if (error != nullptr) *error = "cannot write " + path + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return nullptr;
  }
  std::FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    if (error != nullptr) *error = "cannot write " + path + ": " + std::strerror(errno);
    ::close(fd);
  }
  return f;
}

}  // namespace tw::util
