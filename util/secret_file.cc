#include "util/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tw::util {

bool ReadSecretFile(const std::string& path, const std::string& what, size_t max_bytes,
                    std::string* contents, std::string* error) {
  contents->clear();
  const auto fail = [&](const std::string& why) {
    if (error != nullptr) *error = what + " " + path + ": " + why;
    return false;
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return fail(std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", unsigned(st.st_mode & 07777));
    return fail(std::string("readable or writable by group or others (mode ") + mode +
                "); only its owner may have access: chmod 600 " + path);
  }
  if (st.st_size < 0 || size_t(st.st_size) > max_bytes) {
    ::close(fd);
    return fail(std::to_string(st.st_size) + " bytes, more than the " + std::to_string(max_bytes) +
                " it may hold");
  }
  // One byte more than allowed, to notice a file that grew since fstat.
  contents->resize(max_bytes + 1);
  size_t n = 0;
  while (n < contents->size()) {
    const ssize_t r = ::read(fd, contents->data() + n, contents->size() - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int e = errno;
      ::close(fd);
      contents->assign(contents->size(), '\0');
      contents->clear();
      return fail(std::strerror(e));
    }
    if (r == 0) break;
    n += size_t(r);
  }
  ::close(fd);
  if (n > max_bytes) {
    contents->assign(contents->size(), '\0');
    contents->clear();
    return fail("more than the " + std::to_string(max_bytes) + " bytes it may hold");
  }
  contents->resize(n);
  return true;
}

}  // namespace tw::util
