#include "detector/daemon/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tw::detector {

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

bool MakePrivateDirectory(const std::string& path, std::string* error) {
  const auto fail = [&]() {
    if (error != nullptr) *error = "cannot create directory " + path + ": " + std::strerror(errno);
    return false;
  };
  if (path.empty()) {
    errno = ENOENT;
    return fail();
  }
  // Parents first (created 0700 too).
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string parent = path.substr(0, slash);
    if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) return fail();
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return fail();
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail();
  const bool ok = Tighten(fd, 0700);
  ::close(fd);
  return ok || fail();
}

}  // namespace tw::detector
