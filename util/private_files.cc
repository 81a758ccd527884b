#include "util/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <streambuf>

namespace tw::util {

namespace {

// Tightens an open file we own to 0600 when it is a regular file. False when fstat or fchmod
// fails.
bool Tighten(int fd, bool* regular) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  *regular = S_ISREG(st.st_mode);
  if (!*regular || st.st_uid != ::geteuid() || (st.st_mode & 07777) == 0600) return true;
  return ::fchmod(fd, 0600) == 0;
}

// An ostream's buffer that writes to a stdio stream (which does the buffering).
class FileBuf final : public std::streambuf {
 public:
  explicit FileBuf(std::FILE* f) : f_(f) {}

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    return std::fputc(c, f_) == EOF ? traits_type::eof() : c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    return std::streamsize(std::fwrite(s, 1, size_t(n), f_));
  }

 private:
  std::FILE* f_;
};

}  // namespace

int OpenPrivateFd(const std::string& path, PrivateOpen how, std::string* error) {
  const int flags = how == PrivateOpen::kTruncate
                        ? O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
                        : O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
  const int fd = ::open(path.c_str(), flags, 0600);
  bool regular = false;
  if (fd < 0 || !Tighten(fd, &regular)) {
    if (error != nullptr) *error = path + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  if (how == PrivateOpen::kAppendRead && !regular) {
    if (error != nullptr) *error = path + ": not a regular file";
    ::close(fd);
    return -1;
  }
  return fd;
}

std::FILE* OpenPrivateFile(const std::string& path, std::string* error) {
  const int fd = OpenPrivateFd(path, PrivateOpen::kTruncate, error);
  if (fd < 0) {
    if (error != nullptr) *error = "cannot write " + *error;
    return nullptr;
  }
  std::FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    if (error != nullptr) *error = "cannot write " + path + ": " + std::strerror(errno);
    ::close(fd);
  }
  return f;
}

bool WritePrivateFile(const std::string& path, const std::function<bool(std::ostream&)>& write,
                      std::string* error) {
  const int fd = OpenPrivateFd(path, PrivateOpen::kTruncate, error);
  std::FILE* f = fd < 0 ? nullptr : ::fdopen(fd, "w");
  if (f == nullptr) {
    if (fd >= 0) {
      if (error != nullptr) *error = path + ": " + std::strerror(errno);
      ::close(fd);
    }
    return false;
  }
  FileBuf buf(f);
  std::ostream out(&buf);
  const bool wrote = write(out) && out.good();
  const int saved = errno;
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) {
    if (error != nullptr) {
      *error = path + ": " + std::strerror(!wrote ? saved : errno);
    }
    return false;
  }
  return true;
}

}  // namespace tw::util
